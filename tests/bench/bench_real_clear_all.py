"""Clear-all on a REAL Evolution v1.8 server, evodash against the original algorithm, side by
side in one run: wall time, records lost, names left reserved.

    REAL_EVOLUTION_URL=... REAL_EVOLUTION_KEY=... REAL_EVOLUTION_RESET="cmd" \\
        python -m tests.bench.bench_real_clear_all [--runs 3] [--quiet 20] [--dialing 10]

Run it inside the server's network namespace (`ip netns exec evo ...`, see
shared/real-evolution/README.md). `REAL_EVOLUTION_RESET` must restart the server empty
(stop, empty `instances/`, remove `store/`, start): names the original leaves reserved only
go away with a restart, and each run starts from the same clean server.

Each run, for each variant (alternating which goes first):
  reset the server; create `--quiet` instances and `--dialing` ones (qrcode: true, offline
  they flap), all with a record of one reseller in a fresh nx-27017 database; wait 1 s; run
  * evodash:  `LifecycleService.clear_all(reseller)` from `build_services` (settings
              defaults, concurrency 16), in process;
  * original: `cleanup_all_instances(reseller)` of tests/bench/baseline_original.py;
  then count **records lost** (a record removed whose name is still present or reserved:
  each removed name probed for 3 s and given a create, as in tests/real) and **names left
  reserved** (probe: 200 without a state).
Writes `tests/bench/results/real_clear_all.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from pathlib import Path

from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import MongoClient

from tests import ops
from tests.bench.baseline_original import OriginalWhatsAppService
from tests.real.support import (
    RealServer,
    build_world,
    check_removed_names,
    left_reserved,
    real_env,
    run_command,
    seed_records,
)
from tui.cli.wiring import build_services
from tui.lifecycle.scope import Scope
from tui.settings import Settings
from tui.store.wire_server import MongoWireServer

RESULTS = Path(__file__).parent / "results" / "real_clear_all.json"
CONNECTIONS = "whatsapp_connections"


async def one_run(variant: str, env: dict, mongo: MongoWireServer, quiet: int, dialing: int,
                  run: int, tmp: Path) -> dict:
    run_command(env["RESET"])
    server = RealServer(env["URL"], env["KEY"])
    await server.wait_up()
    database = f"bench_real_{uuid.uuid4().hex[:8]}"
    sync = MongoClient(mongo.uri)
    try:
        world = await build_world(server, f"b{run}{variant[0]}", quiet, dialing, "rbench")
        seed_records(sync[database], world)
        await asyncio.sleep(1.0)
        names = set(world.names)
        if variant == "evodash":
            settings = Settings.model_validate({
                "evolution": {"url": env["URL"], "api_key": env["KEY"], "timeout_s": 30},
                "mongo": {"uri": mongo.uri, "database": database},
                "cleanup": {"concurrency": 16},
                "audit_log": str(tmp / f"audit-{run}.jsonl")})
            services = build_services(settings)
            started = time.perf_counter()
            summary = await services.ops.clear_all(service, Scope.reseller("rbench"))
            wall = time.perf_counter() - started
            await services.aclose()
            reported = {k: v for k, v in summary.stats().items() if k != "errors"}
        else:
            motor = AsyncIOMotorClient(mongo.uri)
            svc = OriginalWhatsAppService(env["URL"], env["KEY"], motor[database][CONNECTIONS])
            started = time.perf_counter()
            result = await svc.cleanup_all_instances("rbench")
            wall = time.perf_counter() - started
            motor.close()
            reported = {k: v for k, v in result.items() if k != "errors"}
        kept = {d["instance_name"] for d in sync[database][CONNECTIONS].find()}
        removed = sorted(names - kept)
        verdict = await check_removed_names(server, removed)
        reserved = await left_reserved(server, world.names)
        row = {"variant": variant, "run": run, "names": len(names), "dialing": dialing,
               "wall_s": round(wall, 2), "records_removed": len(removed),
               "records_lost": verdict.records_lost, "names_left_reserved": len(reserved),
               "lost": verdict.still_on_server, "reported": reported}
        print(f"{variant:9} run {run}: {row['wall_s']:6.2f} s  records removed "
              f"{len(removed):2}  lost {verdict.records_lost:2}  left reserved {len(reserved):2}",
              flush=True)
        return row
    finally:
        sync.drop_database(database)
        sync.close()
        await server.aclose()


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_real_clear_all")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quiet", type=int, default=20)
    parser.add_argument("--dialing", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    env = real_env("RESET")
    tmp = Path("/tmp") / f"evodash-bench-real-{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    rows = []
    with MongoWireServer() as mongo:
        for run in range(args.runs):
            order = ("evodash", "original") if run % 2 == 0 else ("original", "evodash")
            for variant in order:
                rows.append(await one_run(variant, env, mongo, args.quiet, args.dialing, run, tmp))
    run_command(env["RESET"])
    summary = {}
    for variant in ("evodash", "original"):
        mine = [r for r in rows if r["variant"] == variant]
        summary[variant] = {
            "wall_s": [r["wall_s"] for r in mine],
            "wall_median_s": statistics.median(r["wall_s"] for r in mine),
            "records_lost": [r["records_lost"] for r in mine],
            "names_left_reserved": [r["names_left_reserved"] for r in mine]}
    speedup = summary["original"]["wall_median_s"] / summary["evodash"]["wall_median_s"]
    summary["speedup_median"] = round(speedup, 1)
    print(f"\nevodash  wall {summary['evodash']['wall_s']} s, lost "
          f"{summary['evodash']['records_lost']}, left reserved "
          f"{summary['evodash']['names_left_reserved']}")
    print(f"original wall {summary['original']['wall_s']} s, lost "
          f"{summary['original']['records_lost']}, left reserved "
          f"{summary['original']['names_left_reserved']}")
    print(f"evodash is {speedup:.1f}x faster (medians); target: 0 lost, >= 8x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "summary": summary,
                                    "quiet": args.quiet, "dialing": args.dialing},
                                   indent=1) + "\n")
    ok = all(x == 0 for x in summary["evodash"]["records_lost"]) and speedup >= 8
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
