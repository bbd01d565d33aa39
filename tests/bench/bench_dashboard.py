"""Dashboard at scale: 10,000 instances + 10,000 records in the real app, headless.

    /work/venv/bin/python -m tests.bench.bench_dashboard [--n 10000] [--orphan-pct 5]
        [--repeats 5] [--variants keyed,naive] [--out tests/bench/results/dashboard.json]

Setup: one server process (`--serve`, started by this script) runs the Evolution v1.8
simulator (`ThreadedSimulator`, latency 0) and the in-memory MongoDB-wire server (nx-27017),
seeded through their real interfaces (`/_sim/instances`, `insert_many`) by
`tui.demo.runtime.DemoEnvironment` with a generated `DemoData`: N instances and N records,
`orphan_pct`% orphans on each side (one in ten orphan records is a name the server still
reserves), 20 resellers. The app is `EvodashApp` built by `build_services` exactly like
`evodash`, run by `App.run_test(size=(160, 45))` in its own process per variant (so each
variant's peak RSS is its own; the servers' memory is not counted), timers off.

Per variant, measured through the app's own stamps (`DashboardScreen.refresh_timings`,
`DashboardScreen.preview_timing`):
  * first paint   wall time from `run_test` entering to the first screen refresh after both
                  tables hold every row (includes the app start and the first fetch; the
                  first refresh draws its rows before the orphan records' names are probed,
                  their probe column says `probing…`);
  * probed paint  the same, to the screen refresh after the probes of the first refresh
                  landed (every cell final);
  * fetch         `service.observe()` in the refresh worker (HTTP + Mongo + reconcile + probes
                  of the orphan records): not UI time;
  * UI time       from the `Refreshed` message being handled to both tables updated (`ui`),
                  and to the next screen refresh (`paint`); median of --repeats refreshes,
                  unchanged data and 1% of the rows changed (N/200 instance states re-seeded
                  through `/_sim/instances`, N/200 record statuses updated in Mongo);
  * peak RSS      `resource.getrusage(RUSAGE_SELF).ru_maxrss` of the variant's process.
Variants: `keyed` = the dashboard as shipped (keyed diff, row cache); `naive` = the same app
with `KeyedTable.sync` replaced by `clear()` + `add_row` for every row on each refresh.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "dashboard.json"
SIZE = (160, 45)
TARGETS = {"first_paint_s": 2.0, "probed_paint_s": 2.0, "unchanged_ui_s": 0.050, "changed_ui_s": 0.150,
           "peak_rss_mb": 250.0}
STATES = ("open", "close", "connecting")


# ---------------------------------------------------------------------------------- data
def build_data(n: int, orphan_pct: float):
    """N instances and N records, `orphan_pct`% orphans on each side, deterministic."""
    from bson import ObjectId

    from tui.demo.seed import DemoData
    from tui.reconcile.naming import instance_name

    data = DemoData()
    resellers = [(f"r-{i:02d}", f"Reseller {i:02d} Telecom") for i in range(20)]
    data.resellers = [{"id": rid, "name": name, "email": f"{rid}@example.com"}
                      for rid, name in resellers]
    orphans = round(n * orphan_pct / 100)
    linked = n - orphans
    created = datetime(2025, 10, 1, tzinfo=UTC)

    def record(i: int, rid: str, name: str, status: str) -> dict:
        return {"_id": ObjectId(f"{i:024x}"), "id": f"rec-{i}", "reseller_id": rid,
                "instance_name": name, "phone_number": f"55119{i:08d}", "status": status,
                "daily_limit": 200, "created_at": created + timedelta(minutes=i)}

    def instance(i: int, name: str) -> dict:
        state = STATES[i % 3]
        entry = {"name": name, "state": state, "token": f"BENCH-TOKEN-{i:08d}",
                 "instanceId": f"00000000-0000-4000-8000-{i:012d}"}
        if state == "open":
            entry["owner"] = f"55119{i:08d}@s.whatsapp.net"
            entry["profileName"] = f"Loja {i % 97}"
        return entry

    for i in range(linked):
        rid, rname = resellers[i % len(resellers)]
        name = instance_name(rname, i // len(resellers) + 1, 1_761_000_000 + i)
        data.instances.append(instance(i, name))
        data.records.append(record(i, rid, name, "connected" if i % 3 == 0
                                   else "disconnected"))
    for j in range(orphans):  # orphan instances: half attributable by prefix
        i = n + j
        rname = resellers[j % len(resellers)][1] if j % 2 else "Stray Bots"
        data.instances.append(instance(i, instance_name(rname, 50_000 + j, 1_762_000_000 + j)))
    for j in range(orphans):  # orphan records: one in ten reserved on the server
        i = 2 * n + j
        rid, rname = resellers[j % len(resellers)]
        name = instance_name(rname, 90_000 + j, 1_763_000_000 + j)
        data.records.append(record(i, rid, name, "disconnected"))
        if j % 10 == 0:
            data.instances.append({"name": name, "ghost": True})
            data.reserved.append(name)
    return data


def serve(n: int, orphan_pct: float) -> None:
    """Child process: start the seeded servers, print their settings, wait for stdin EOF."""
    import dataclasses

    import httpx

    from tui.demo.runtime import DemoEnvironment

    data = build_data(n, orphan_pct)
    # aiohttp caps a request body at 1 MiB: the instances go through /_sim/instances in chunks
    with DemoEnvironment(data=dataclasses.replace(data, instances=[]), cleanup_lag_ms=0,
                         server_url="http://evolution.bench:8080") as env:
        with httpx.Client(base_url=env.simulator.url, timeout=60) as http:
            for start in range(0, len(data.instances), 1000):
                http.post("/_sim/instances",
                          json=data.instances[start:start + 1000]).raise_for_status()
        settings = env.settings.model_dump(mode="json")
        settings["evolution"]["api_key"] = env.settings.evolution.api_key.get_secret_value()
        settings["mongo"]["uri"] = env.settings.mongo.uri.get_secret_value()
        print(json.dumps(settings), flush=True)  # loopback test servers, demo key
        sys.stdin.read()


# ---------------------------------------------------------------------------------- variant
def install_naive() -> None:
    """The naive refresh: every sync clears the table and re-adds every row."""
    from rich.text import Text

    from tui.app.view import MARK
    from tui.app.widgets.panes import KeyedTable

    def naive_sync(self: KeyedTable, rows: list, all_keys: set[str] | None = None) -> None:
        if all_keys is not None:
            self.marks &= all_keys
        cursor = self.cursor_key()
        self.rows_by_key = {r.key: r for r in rows}
        self.values = {r.key: (Text(MARK if r.key in self.marks else " "), *r.cells)
                       for r in rows}
        self.rebuilds += 1
        with self.app.batch_update():  # what a plain DataTable user writes: clear + add_row
            self.clear()
            for key, cells in self.values.items():
                self.add_row(*cells, key=key)
        if cursor is not None and cursor in self.values:
            self.move_cursor(row=self.get_row_index(cursor), animate=False)

    KeyedTable.sync = naive_sync
    # never "already synced": every refresh goes through the (naive) full sync
    KeyedTable.synced_rows = property(lambda self: None, lambda self, value: None)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def run_variant(settings_json: dict, n: int, repeats: int, variant: str) -> dict:
    import httpx
    from pymongo import MongoClient

    from tui.app.app import EvodashApp
    from tui.cli.dashboard import dashboard_info
    from tui.cli.wiring import build_services
    from tui.settings import Settings

    if variant == "naive":
        install_naive()
    settings = Settings.model_validate(settings_json)
    services = build_services(settings)
    info = dashboard_info(settings, None, False)
    app = EvodashApp(services.service, info, auto_refresh=False)
    rss_before = rss_mb()
    out: dict[str, Any] = {"variant": variant}
    started = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        dash = app.dashboard

        async def next_refresh(count: int, timeout: float = 120.0):
            deadline = time.perf_counter() + timeout
            while not (len(dash.refresh_timings) >= count
                       and dash.refresh_timings[-1].painted):
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"refresh {count} not painted")
                await asyncio.sleep(0.002)
            return dash.refresh_timings[-1]

        first = await next_refresh(1)
        preview = dash.preview_timing
        if preview is not None:  # every row on screen, the orphan names still being probed
            while not preview.painted:
                await asyncio.sleep(0.002)
            assert preview.rows >= 2 * n - 1, preview.rows
            out["first_paint_s"] = preview.painted - started
            out["first_fetch_s"] = preview.fetch_s
            out["first_ui_s"] = preview.ui_s
            out["first_paint_ui_s"] = preview.paint_s
        else:
            out["first_paint_s"] = first.painted - started
            out["first_fetch_s"] = first.fetch_s
            out["first_ui_s"] = first.ui_s
            out["first_paint_ui_s"] = first.paint_s
        out["probed_paint_s"] = first.painted - started
        out["probed_fetch_s"] = first.fetch_s
        out["probed_ui_s"] = first.ui_s
        out["rows"] = first.rows
        instances, records = dash.tables()
        assert instances.row_count + records.row_count >= 2 * n - 1, first.rows
        await pilot.pause()

        def summarize(timings: list) -> dict:
            return {"ui_s": statistics.median(t.ui_s for t in timings),
                    "paint_s": statistics.median(t.paint_s for t in timings),
                    "fetch_s": statistics.median(t.fetch_s for t in timings),
                    "ui_max_s": max(t.ui_s for t in timings)}

        unchanged = []
        for _ in range(repeats):
            count = len(dash.refresh_timings) + 1
            dash.request_refresh()
            unchanged.append(await next_refresh(count))
            await pilot.pause()
        out["unchanged"] = summarize(unchanged)

        url = settings.evolution.url
        mongo = MongoClient(settings.mongo.uri.get_secret_value())
        coll = mongo[settings.mongo.database]["whatsapp_connections"]
        names = sorted(i.name for i in dash.obs.instances)
        step = max(1, len(names) // max(1, n // 200))
        changed = []
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            for rep in range(repeats):
                picked = names[rep:: step][: n // 200]
                specs = [{"name": name, "state": STATES[(rep + k) % 3]}
                         for k, name in enumerate(picked)]
                await http.post("/_sim/instances", json=specs)
                recs = list(coll.find({}, {"_id": 1}).skip(rep).limit(n // 200 * 3))[:: 3]
                coll.update_many({"_id": {"$in": [r["_id"] for r in recs]}},
                                 {"$set": {"status": f"changed-{rep}"}})
                count = len(dash.refresh_timings) + 1
                dash.request_refresh()
                changed.append(await next_refresh(count))
                await pilot.pause()
        mongo.close()
        out["changed"] = summarize(changed)
        out["changed_rows_per_refresh"] = 2 * (n // 200)
        out["rebuilds"] = [instances.rebuilds, records.rebuilds]
    out["peak_rss_mb"] = rss_mb()
    out["rss_before_app_mb"] = rss_before
    return out


# ---------------------------------------------------------------------------------- driver
def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "MISS"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--orphan-pct", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--variants", default="keyed,naive")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--label", default="", help="free text stored in the JSON")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--settings", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve:
        serve(args.n, args.orphan_pct)
        return 0
    if args.variant:
        result = asyncio.run(run_variant(json.loads(args.settings), args.n, args.repeats,
                                         args.variant))
        print("RESULT " + json.dumps(result), flush=True)
        return 0

    load_before = os.getloadavg()
    server = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_dashboard", "--serve",
                               "--n", str(args.n), "--orphan-pct", str(args.orphan_pct)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    results = []
    try:
        settings_line = server.stdout.readline()
        if not settings_line:
            raise SystemExit("the server process did not start")
        for variant in args.variants.split(","):
            proc = subprocess.run(
                [sys.executable, "-m", "tests.bench.bench_dashboard", "--variant", variant,
                 "--settings", settings_line.strip(), "--n", str(args.n),
                 "--repeats", str(args.repeats)],
                capture_output=True, text=True, timeout=900)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")),
                        None)
            if line is None:
                sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
                raise SystemExit(f"variant {variant} failed (rc {proc.returncode})")
            results.append(json.loads(line[len("RESULT "):]))
            print(f"{variant}: {line[len('RESULT '):]}", file=sys.stderr, flush=True)
    finally:
        server.stdin.close()
        server.wait(timeout=30)

    by = {r["variant"]: r for r in results}
    rows = []
    for r in results:
        rows.append((r["variant"], r["first_paint_s"], r["probed_paint_s"], r["first_fetch_s"],
                     r["first_ui_s"],
                     r["unchanged"]["ui_s"], r["unchanged"]["paint_s"], r["changed"]["ui_s"],
                     r["changed"]["paint_s"], r["unchanged"]["fetch_s"], r["peak_rss_mb"]))
    print(f"dashboard bench: {args.n} instances + {args.n} records, {args.orphan_pct:g}% "
          f"orphans each side, {SIZE[0]}x{SIZE[1]}, load {load_before[0]:.2f}")
    print(f"{'variant':8} {'1st paint':>10} {'probed':>8} {'1st fetch':>11} {'1st ui':>11} "
          f"{'unch ui':>11} {'unch paint':>11} {'1% ui':>11} {'1% paint':>11} "
          f"{'fetch':>11} {'peak RSS':>9}")
    for v, fp, pp, ff, fu, uu, up, cu, cp, fe, rss in rows:
        print(f"{v:8} {fp:9.2f}s {pp:7.2f}s {fmt_ms(ff)} {fmt_ms(fu)} {fmt_ms(uu)} {fmt_ms(up)} "
              f"{fmt_ms(cu)} {fmt_ms(cp)} {fmt_ms(fe)} {rss:6.0f} MB")
    verdicts = {}
    if "keyed" in by:
        k = by["keyed"]
        verdicts = {
            "first_paint_s": (k["first_paint_s"], verdict(k["first_paint_s"],
                                                          TARGETS["first_paint_s"])),
            "probed_paint_s": (k["probed_paint_s"], verdict(k["probed_paint_s"],
                                                            TARGETS["probed_paint_s"])),
            "unchanged_ui_s": (k["unchanged"]["ui_s"], verdict(k["unchanged"]["ui_s"],
                                                               TARGETS["unchanged_ui_s"])),
            "changed_ui_s": (k["changed"]["ui_s"], verdict(k["changed"]["ui_s"],
                                                           TARGETS["changed_ui_s"])),
            "peak_rss_mb": (k["peak_rss_mb"], verdict(k["peak_rss_mb"],
                                                      TARGETS["peak_rss_mb"])),
        }
        print("targets (keyed): " + " · ".join(
            f"{name} {value:.3f} <= {TARGETS[name]:g}: {v}"
            for name, (value, v) in verdicts.items()))
    ratios = {}
    if "keyed" in by and "naive" in by:
        k, nv = by["keyed"], by["naive"]
        for case in ("unchanged", "changed"):
            ratios[case] = nv[case]["ui_s"] / max(k[case]["ui_s"], 1e-9)
        print("naive / keyed UI time: " + " · ".join(f"{c} {r:.1f}x" for c, r in
                                                      ratios.items()))
    payload = {
        "bench": "dashboard", "n": args.n, "orphan_pct": args.orphan_pct,
        "repeats": args.repeats, "size": list(SIZE), "label": args.label,
        "targets": TARGETS, "verdicts": {k: v[1] for k, v in verdicts.items()},
        "ratios_naive_over_keyed": ratios, "results": results,
        "load_before": load_before, "load_after": os.getloadavg(),
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
