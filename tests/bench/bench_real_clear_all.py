"""Clear-all on a REAL Evolution server, v1.8 or v2 (dialect from `GET /`), side by side in
one run: evodash in process, evodash's CLI end to end as an operator runs it, the original
algorithm (its form for the dialect) and the server's floor; wall time, records lost, names
left reserved, and where evodash's time goes.

    REAL_EVOLUTION_URL=... REAL_EVOLUTION_KEY=... REAL_EVOLUTION_RESET="cmd" \\
        python -m tests.bench.bench_real_clear_all [--runs 3] [--quiet 20] [--dialing 10]
        [--variants evodash,cli,floor,original] [--startup-spawns 3] [--out PATH]

Run it inside the server's network namespace (`ip netns exec evo ...` for v1.8,
`ip netns exec evo2 ...` for v2; see the README's "Against a real Evolution server").
`REAL_EVOLUTION_RESET` must restart the server empty: v1.8 (files mode) stop, empty
`instances/`, remove `store/`, start; v2 `run.sh reset` then `run.sh start a` (drops and
re-creates the database). Names the original leaves reserved (v1.8) and the orphaned sockets
of deleted dialing instances (both dialects) only go away with a restart, so every variant
of every run starts from the same clean server.

Each run, for each variant (the order reversed on every other run):
  reset the server; create `--quiet` instances and `--dialing` ones (qrcode: true, offline
  they flap), all with a record of one reseller in a fresh nx-27017 database; wait 1 s; run
  * evodash:  `plan(ClearAllRequest(reseller))` + `run` of a `LifecycleService` built by
              `build_services` (settings defaults, concurrency 16), in process; the clock
              covers plan and run (services are built before it);
  * cli:      `python -m tui --settings S clear-all --reseller R --yes --json` as a
              subprocess (same settings), wall time from spawn to exit; each JSON line is
              time-stamped on arrival. Its start-up is measured on the same server, emptied,
              before the world is built: `python -m tui --settings S resellers --json`
              (`--startup-spawns` times, median used), i.e. interpreter + imports + settings +
              MongoDB and Evolution connections + dialect detection (`GET /`) + one empty
              observation + exit - everything any command pays besides its own work; once
              more right after the clear-all (`startup_busy_s`: the server and the machine
              as busy as during it, not used in the ratio). The bytecode is cached as an
              operator's would be (`cli_env`);
  * original: `cleanup_all_instances(reseller)` of tests/bench/baseline_original.py, the v1.8
              or the v2 form by dialect;
  * floor:    what the server itself needs: a raw `DELETE /instance/delete/{name}` of every
              name at once (no logout, whatever the dialect), then each name probed (20 ms
              apart) until its first 404, plus the dialect's hold (v1.8 1.0 s, v2 0.5 s:
              the time evodash must see a name stay absent); wall = last first-404 + hold.
              It touches no record; its "records lost" is what it would lose had it removed
              the records of the names it saw free.
  then count **records lost** (a record removed whose name is still present or reserved:
  each removed name probed for 3 s and given a create, as in tests/real) and **names left
  reserved** (probe: 200 without a state).
The report: per variant the walls and losses, floor + start-up, CLI / (floor + start-up)
(target <= 1.3) and, for evodash and the CLI, the phases (plan, per-target steps) from the
operation's step events. Writes `tests/bench/results/real_clear_all_<dialect>.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import MongoClient

from tests import ops
from tests.bench.baseline_original import original_service
from tests.real.support import (
    RealServer,
    build_world,
    check_removed_names,
    left_reserved,
    real_env,
    seed_records,
)
from tui.cli.wiring import build_services
from tui.lifecycle.events import StepEvent
from tui.lifecycle.scope import Scope
from tui.settings import Settings
from tui.store.wire_server import MongoWireServer

RESULTS_DIR = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parents[2]
CONNECTIONS = "whatsapp_connections"
RESELLER = "rbench"
VARIANTS = ("evodash", "cli", "floor", "original")
HOLD_S = {"v1.8": 1.0, "v2": 0.5}  # the dialect's hold (RemovalProfile.free_hold_s)
FLOOR_POLL_S = 0.02
FLOOR_LIMIT_S = 30.0
RESET_TIMEOUT_S = 300


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def reset_server(command: str) -> float:
    started = time.perf_counter()
    run_command_long(command)
    return time.perf_counter() - started


def run_command_long(command: str) -> None:
    """`run_command` of tests/real with room for a slow restart (v2's reset re-applies 56
    migrations; v1.8 starts in ~10 s on a loaded machine)."""
    done = subprocess.run(shlex.split(command), capture_output=True, text=True,
                          timeout=RESET_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} failed: {done.stderr[-400:]}")


# ---------------------------------------------------------------------- phases
def phases(lines: list[tuple[float, dict]], t_run0: float | None = None) -> dict:
    """Where the time went, from time-stamped step events (`(t, event_json)`, t in seconds
    from the variant's start): per target the arrival of its first step, its delete, the
    first 404 (`verify absent`, "free after"), the end of the hold ("free for"), its record
    and its `done`; medians of the gaps and the operation's landmarks."""
    per: dict[str, dict[str, float]] = {}
    run_start = t_run0
    for t, ev in lines:
        if ev.get("type") != "step":
            continue
        name, step, outcome = ev.get("instance"), ev.get("step"), ev.get("outcome")
        if not name:
            if step == "plan" and run_start is None:
                run_start = t
            continue
        mine = per.setdefault(name, {})
        mine.setdefault("first", t)
        if step == "logout":
            mine["logout"] = t
            mine["logout_tries"] = mine.get("logout_tries", 0) + 1
        elif step == "delete":
            mine.setdefault("delete", t)
            mine["deletes"] = mine.get("deletes", 0) + 1
        elif step == "verify" and outcome == "absent":
            detail = ev.get("detail", "")
            if detail.startswith("free after"):
                mine.setdefault("free", t)
            elif detail.startswith("free for"):
                mine["held"] = t
        elif step == "verify":
            mine["verify_" + str(outcome)] = t
        elif step == "record":
            mine["record"] = t
        elif step == "done":
            mine["done"] = t

    def gaps(a: str, b: str) -> list[float]:
        return [m[b] - m[a] for m in per.values() if a in m and b in m]

    def med(values: list[float]) -> float | None:
        return round(statistics.median(values), 3) if values else None

    def last(key: str) -> float | None:
        values = [m[key] for m in per.values() if key in m]
        return round(max(values), 3) if values else None

    def first(key: str) -> float | None:
        values = [m[key] for m in per.values() if key in m]
        return round(min(values), 3) if values else None

    return {
        "events": [[round(t, 3), ev.get("instance"), ev.get("step"), ev.get("outcome"),
                    ev.get("attempt"), str(ev.get("detail", ""))[:80]]
                   for t, ev in lines if ev.get("type") == "step"],
        "run_start_s": round(run_start, 3) if run_start is not None else None,
        "targets": len(per),
        "first_step_s": first("first"), "first_delete_s": first("delete"),
        "last_delete_s": last("delete"), "last_free_s": last("free"),
        "last_held_s": last("held"), "last_done_s": last("done"),
        "median_first_to_delete_s": med(gaps("first", "delete")),
        "median_delete_to_free_s": med(gaps("delete", "free")),
        "max_delete_to_free_s": round(max(gaps("delete", "free")), 3) if gaps("delete", "free") else None,
        "median_free_to_held_s": med(gaps("free", "held")),
        "median_held_to_done_s": med(gaps("held", "done")),
        "median_target_span_s": med(gaps("first", "done")),
        "logout_events": sum(int(m.get("logout_tries", 0)) for m in per.values()),
        "deletes": sum(int(m.get("deletes", 0)) for m in per.values()),
        "not_freed_first_time": sum(1 for m in per.values() if "verify_reserved" in m
                                    or "verify_present" in m),
        # v2: a verification that saw the instance still `present` (its first part of the
        # delete window: still in memory) ends, and the target is deleted again
        "verify_present_then_redelete": sum(1 for m in per.values() if "verify_present" in m),
    }


# ---------------------------------------------------------------------- variants
def settings_doc(env: dict, mongo_uri: str, database: str, tmp: Path, tag: str) -> dict:
    return {"evolution": {"url": env["URL"], "api_key": env["KEY"], "timeout_s": 30},
            "mongo": {"uri": mongo_uri, "database": database},
            "cleanup": {"concurrency": 16},
            "audit_log": str(tmp / f"audit-{tag}.jsonl")}


async def run_evodash(env: dict, mongo_uri: str, database: str, tmp: Path, tag: str) -> dict:
    settings = Settings.model_validate(settings_doc(env, mongo_uri, database, tmp, tag))
    services = build_services(settings)
    lines: list[tuple[float, dict]] = []
    started = time.perf_counter()

    def sink(event: StepEvent) -> None:
        lines.append((time.perf_counter() - started, event.to_json()))

    try:
        plan = await ops.plan_clear_all(services.service, Scope.reseller(RESELLER))
        plan_s = time.perf_counter() - started
        summary = await ops.run(services.service, plan, sink=sink)
        wall = time.perf_counter() - started
    finally:
        await services.aclose()
    return {"wall_s": round(wall, 2), "plan_s": round(plan_s, 3),
            "reported": {k: v for k, v in summary.stats().items() if k != "errors"},
            "phases": phases(lines, t_run0=plan_s)}


def cli_env() -> dict[str, str]:
    """The CLI's environment as an operator's: no `EVODASH_*` override, and bytecode cached
    (an installed evodash has its `.pyc` files; a checkout writes `__pycache__` on its first
    run). A session that sets PYTHONDONTWRITEBYTECODE makes every spawn compile all of
    evodash's sources (~1.7 s of a 2.2 s start-up on this machine under load): it is
    dropped, and `warm_bytecode` fills `tui/__pycache__` (git-ignored) before any timing."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("EVODASH_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def warm_bytecode() -> None:
    """Compile evodash's sources once (third-party packages have theirs from install)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tui")],
                   env=cli_env(), check=True, capture_output=True, timeout=300)


async def spawn_cli(settings_path: Path, *args: str
                    ) -> tuple[float, int, list[tuple[float, dict]], str]:
    """Run `python -m tui --settings S ARGS...`; (wall from spawn to exit, exit code, the
    stdout JSON lines time-stamped on arrival, the end of stderr)."""
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui", "--settings", str(settings_path), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=str(ROOT),
        env=cli_env())
    lines: list[tuple[float, dict]] = []

    async def read_out() -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            t = time.perf_counter() - started
            try:
                lines.append((t, json.loads(raw)))
            except ValueError:
                lines.append((t, {"type": "text", "text": raw.decode(errors="replace")[:200]}))

    async def read_err() -> bytes:
        assert proc.stderr is not None
        return await proc.stderr.read()

    _, err = await asyncio.gather(read_out(), read_err())
    code = await proc.wait()
    wall = time.perf_counter() - started
    return wall, code, lines, err.decode(errors="replace")[-400:]


async def measure_startup(settings_path: Path, spawns: int) -> list[float]:
    walls = []
    for _ in range(spawns):
        wall, code, _, err = await spawn_cli(settings_path, "resellers", "--json")
        if code != 0:
            raise RuntimeError(f"start-up probe `resellers --json` exited {code}: {err}")
        walls.append(round(wall, 3))
    return walls


async def run_cli(settings_path: Path) -> dict:
    wall, code, lines, err = await spawn_cli(settings_path, "clear-all", "--reseller", RESELLER,
                                             "--yes", "--json")
    summary = next((ev for _, ev in lines if ev.get("type") == "summary"), None)
    first_line = lines[0][0] if lines else None
    summary_at = next((t for t, ev in lines if ev.get("type") == "summary"), None)
    out: dict[str, Any] = {"wall_s": round(wall, 2), "exit_code": code,
           "first_line_s": round(first_line, 3) if first_line is not None else None,
           "summary_line_s": round(summary_at, 3) if summary_at is not None else None,
           "exit_after_summary_s": round(wall - summary_at, 3) if summary_at is not None else None,
           "reported": ({k: v for k, v in summary.items()
                         if k in ("deleted_from_evolution", "deleted_from_db", "already_absent",
                                  "stuck_reserved", "failed", "skipped", "elapsed_s")}
                        if summary else None),
           "phases": phases(lines)}
    if code not in (0, 1):
        out["stderr"] = err
    return out


async def run_original(env: dict, dialect: str, mongo_uri: str, database: str) -> dict:
    motor: AsyncIOMotorClient = AsyncIOMotorClient(mongo_uri)
    try:
        svc = original_service(dialect, env["URL"], env["KEY"], motor[database][CONNECTIONS])
        started = time.perf_counter()
        result = await svc.cleanup_all_instances(RESELLER)
        wall = time.perf_counter() - started
    finally:
        motor.close()
    return {"wall_s": round(wall, 2),
            "reported": {k: v for k, v in result.items() if k != "errors"}}


async def run_floor(server: RealServer, names: list[str], hold_s: float) -> dict:
    """Every name deleted raw at once, then each probed until its first 404; + the hold."""
    started = time.perf_counter()
    statuses = await asyncio.gather(*(server.http.delete(f"/instance/delete/{n}") for n in names),
                                    return_exceptions=True)
    deletes_s = time.perf_counter() - started

    async def first_absent(name: str) -> float | None:
        end = started + FLOOR_LIMIT_S
        while time.perf_counter() < end:
            try:
                if await server.probe(name) == "absent":
                    return time.perf_counter() - started
            except Exception:  # noqa: BLE001 - a probe that fails is probed again
                pass
            await asyncio.sleep(FLOOR_POLL_S)
        return None

    freed = await asyncio.gather(*(first_absent(n) for n in names))
    seen = [t for t in freed if t is not None]
    last = max(seen) if seen else FLOOR_LIMIT_S
    codes: dict[str, int] = {}
    for s in statuses:
        key = str(s.status_code) if hasattr(s, "status_code") else type(s).__name__
        codes[key] = codes.get(key, 0) + 1
    return {"wall_s": round(last + hold_s, 2), "last_first_404_s": round(last, 3),
            "median_first_404_s": round(statistics.median(seen), 3) if seen else None,
            "deletes_answered_s": round(deletes_s, 3), "hold_s": hold_s,
            "delete_statuses": codes, "never_absent": len(names) - len(seen),
            "freed_names": [n for n, t in zip(names, freed) if t is not None]}


# ---------------------------------------------------------------------- one run
async def one_run(variant: str, env: dict, mongo: MongoWireServer, args: argparse.Namespace,
                  run: int, tmp: Path) -> dict:
    reset_s = reset_server(env["RESET"])
    server = RealServer(env["URL"], env["KEY"])
    await server.wait_up()
    dialect = "v2" if server.v2 else "v1.8"
    database = f"bench_real_{uuid.uuid4().hex[:8]}"
    tag = f"{run}-{variant}"
    sync: MongoClient = MongoClient(mongo.uri)
    settings_path = tmp / f"settings-{tag}.json"
    settings_path.write_text(json.dumps(settings_doc(env, mongo.uri, database, tmp, tag)))
    row: dict[str, Any] = {"variant": variant, "run": run, "dialect": dialect,
                           "server_version": server.version, "reset_s": round(reset_s, 1)}
    try:
        if variant == "cli":
            row["startup_s"] = await measure_startup(settings_path, args.startup_spawns)
            row["startup_median_s"] = statistics.median(row["startup_s"])
        world = await build_world(server, f"b{run}{variant[0]}", args.quiet, args.dialing, RESELLER)
        seed_records(sync[database], world)
        await asyncio.sleep(1.0)
        names = list(world.names)
        row |= {"names": len(names), "dialing": args.dialing, "load_before": load()}
        if variant == "evodash":
            row |= await run_evodash(env, mongo.uri, database, tmp, tag)
        elif variant == "cli":
            row |= await run_cli(settings_path)
            # the same start-up right after, on the busy server (v2: the orphaned sockets
            # of the deleted dialing instances go on reconnecting) and a busier machine
            row["startup_busy_s"] = (await measure_startup(settings_path, 1))[0]
        elif variant == "original":
            row |= await run_original(env, dialect, mongo.uri, database)
        else:
            row |= await run_floor(server, names, HOLD_S[dialect])
        row["load_after"] = load()
        if variant == "floor":
            removed = sorted(row.pop("freed_names"))
        else:
            kept = {d["instance_name"] for d in sync[database][CONNECTIONS].find()}
            removed = sorted(set(names) - kept)
        verdict = await check_removed_names(server, removed)
        reserved = await left_reserved(server, names)
        row |= {"records_removed": len(removed), "records_lost": verdict.records_lost,
                "names_left_reserved": len(reserved), "lost": verdict.still_on_server}
        print(f"{dialect} {variant:9} run {run}: {row['wall_s']:6.2f} s  records removed "
              f"{len(removed):2}  lost {verdict.records_lost:2}  left reserved "
              f"{len(reserved):2}  load {row['load_before'][0]}"
              + (f"  start-up {row['startup_s']}" if variant == "cli" else ""), flush=True)
        return row
    finally:
        sync.drop_database(database)
        sync.close()
        await server.aclose()


# ---------------------------------------------------------------------- report
def summarize(rows: list[dict]) -> dict:
    out: dict[str, Any] = {}
    for variant in VARIANTS:
        mine = [r for r in rows if r["variant"] == variant]
        if not mine:
            continue
        out[variant] = {"wall_s": [r["wall_s"] for r in mine],
                        "wall_median_s": statistics.median(r["wall_s"] for r in mine),
                        "records_lost": [r["records_lost"] for r in mine],
                        "names_left_reserved": [r["names_left_reserved"] for r in mine]}
    if "cli" in out:
        startups = [s for r in rows if r["variant"] == "cli" for s in r["startup_s"]]
        out["startup_s"] = startups
        out["startup_median_s"] = statistics.median(startups)
        out["startup_busy_s"] = [r["startup_busy_s"] for r in rows if r["variant"] == "cli"]
    if "floor" in out and "cli" in out:
        floor, start = out["floor"]["wall_median_s"], out["startup_median_s"]
        out["floor_plus_startup_s"] = round(floor + start, 2)
        out["cli_over_floor_plus_startup"] = round(out["cli"]["wall_median_s"] / (floor + start), 2)
    if "floor" in out and "evodash" in out:
        out["evodash_over_floor"] = round(out["evodash"]["wall_median_s"]
                                          / out["floor"]["wall_median_s"], 2)
    if "original" in out and "evodash" in out:
        out["speedup_median"] = round(out["original"]["wall_median_s"]
                                      / out["evodash"]["wall_median_s"], 1)
    return out


def print_summary(dialect: str, summary: dict, rows: list[dict]) -> None:
    print(f"\n{dialect}: medians over {len([r for r in rows if r['variant'] == 'floor']) or '?'} runs")
    for variant in VARIANTS:
        s = summary.get(variant)
        if s:
            print(f"  {variant:9} wall {s['wall_s']} s (median {s['wall_median_s']}), records lost "
                  f"{s['records_lost']}, left reserved {s['names_left_reserved']}")
    if "startup_median_s" in summary:
        print(f"  start-up (resellers --json): {summary['startup_s']} s, median "
              f"{summary['startup_median_s']}; right after the clear-all (busy server): "
              f"{summary['startup_busy_s']} s")
    if "floor_plus_startup_s" in summary:
        ratio = summary["cli_over_floor_plus_startup"]
        print(f"  floor + start-up {summary['floor_plus_startup_s']} s; CLI end to end / "
              f"(floor + start-up) = {ratio} ({'PASS' if ratio <= 1.3 else 'MISS'}, target 1.3)")
    if "evodash_over_floor" in summary:
        print(f"  evodash in process / floor = {summary['evodash_over_floor']}")
    if "speedup_median" in summary:
        print(f"  evodash is {summary['speedup_median']}x faster than the original (medians)")
    for variant in ("evodash", "cli"):
        for r in rows:
            if r["variant"] == variant and r.get("phases"):
                p = r["phases"]
                lead = (f"plan {r['plan_s']:.2f}" if variant == "evodash"
                        else f"first line {r['first_line_s']}")
                print(f"  {variant:7} run {r['run']} phases: {lead}, run start {p['run_start_s']}, "
                      f"first delete {p['first_delete_s']}, last delete {p['last_delete_s']}, "
                      f"last free {p['last_free_s']}, last held {p['last_held_s']}, last done "
                      f"{p['last_done_s']}; per target median first->delete "
                      f"{p['median_first_to_delete_s']}, delete->free "
                      f"{p['median_delete_to_free_s']} (max {p['max_delete_to_free_s']}), "
                      f"free->held {p['median_free_to_held_s']}, held->done "
                      f"{p['median_held_to_done_s']}; {p['deletes']} deletes, "
                      f"{p['logout_events']} logout steps"
                      + (f"; exit {r['exit_after_summary_s']} s after the summary"
                         if variant == "cli" else ""))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_real_clear_all")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quiet", type=int, default=20)
    parser.add_argument("--dialing", type=int, default=10)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--startup-spawns", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None,
                        help="default tests/bench/results/real_clear_all_<dialect>.json")
    args = parser.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s): {', '.join(sorted(unknown))}")
    env = real_env("RESET")
    rows: list[dict] = []
    dialect = "?"
    load_start = load()
    with tempfile.TemporaryDirectory(prefix="evodash-bench-real-") as tmp_dir, \
            MongoWireServer() as mongo:
        tmp = Path(tmp_dir)
        warm_bytecode()
        for run in range(args.runs):
            order = variants if run % 2 == 0 else variants[::-1]
            for variant in order:
                row = await one_run(variant, env, mongo, args, run, tmp)
                dialect = row["dialect"]
                rows.append(row)
    reset_server(env["RESET"])
    summary = summarize(rows)
    print_summary(dialect, summary, rows)
    out = args.out or RESULTS_DIR / f"real_clear_all_{dialect.replace('.', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"dialect": dialect, "quiet": args.quiet, "dialing": args.dialing,
                               "load_start": load_start, "load_end": load(),
                               "startup_command": "python -m tui --settings S resellers --json",
                               "rows": rows, "summary": summary}, indent=1) + "\n")
    print(f"written {out}")
    lost = summary.get("evodash", {}).get("records_lost", []) + summary.get("cli", {}).get("records_lost", [])
    ratio_ok = summary.get("cli_over_floor_plus_startup", 0) <= 1.3
    return 0 if all(x == 0 for x in lost) and ratio_ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
