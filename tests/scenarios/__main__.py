"""`python -m tests.scenarios`: run the named scenarios against an Evolution server (v1.8 or v2).

    python -m tests.scenarios list
    python -m tests.scenarios record --url URL --key KEY [--dialect {auto,v1.8,v2}]
                                     [--restart-cmd CMD | --sim-control] [--fresh-cmd CMD]
                                     [--other-url URL [--other-start-cmd CMD] [--other-stop-cmd CMD]]
                                     [--db-cmd CMD] [--server-log PATH]
                                     [--commit SHA] [--out DIR] [SCENARIO ...]
    python -m tests.scenarios compare --url URL --key KEY [...] [SCENARIO ...]

The dialect is detected from `GET /` `version` unless given; it picks the catalog (v2: the
v1.8 scenarios plus the v2-only ones) and the default folder (`tests/data/real-v1.8/`,
`tests/data/real-v2.3/`). `record` writes one JSON file per scenario; `compare` runs the
scenarios and compares each with its recording, as the default suite does for the simulator
(`tests/test_simulator_differential.py`). The key is never written to a file, nor any command.

v2 options (each optional; a scenario that needs one it lacks says so in a mark):
`--fresh-cmd` restarts the server empty before each scenario (a deleted instance's socket
keeps reconnecting until a restart, which would load the next scenario); `--other-url` is a
second server on the same database with another clientName (`other_client_row`), started and
stopped by `--other-start-cmd` / `--other-stop-cmd`; `--db-cmd` runs SQL given on stdin against
the server's database (a row with no live instance); `--server-log` is the server's log file
(connection attempts per instance, the only view of an orphaned socket). Against evodash's
simulator (`--sim-control`, `evodash sim --dialect v2`) the rows and the connection attempts
come from its control API; `--other-url` is then a second simulator on the same database
(only in Python: `tests/test_simulator_differential.py` starts one).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from tests.scenarios.catalog import CATALOGS
from tests.scenarios.compare import compare, load_recording, recorded_returns
from tests.scenarios.record import RECORDING_DIRS, run_scenario
from tests.scenarios.runner import DIALECTS, detect_dialect


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.scenarios")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the scenarios, their dialects and what each does")
    for name in ("record", "compare"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--key", required=True)
        p.add_argument("--dialect", choices=("auto",) + DIALECTS, default="auto",
                       help="the server's API dialect (auto: from GET / version)")
        p.add_argument("--restart-cmd", help="shell command that restarts the server (real)")
        p.add_argument("--sim-control", action="store_true",
                       help="the server is evodash's simulator: restart through /_sim/")
        p.add_argument("--fresh-cmd", help="command that restarts the server empty, run before "
                                           "each scenario")
        p.add_argument("--other-url", help="v2: a second server on the same database")
        p.add_argument("--other-start-cmd", help="v2: command that starts the second server")
        p.add_argument("--other-stop-cmd", help="v2: command that stops the second server")
        p.add_argument("--db-cmd", help="v2: command that runs SQL from stdin on the server's DB")
        p.add_argument("--server-log", help="v2: the server's log file (connection attempts)")
        p.add_argument("--commit", default="", help="server source commit, written down")
        p.add_argument("--out", type=Path, default=None,
                       help="recordings folder (default: by dialect, tests/data/real-v1.8|real-v2.3)")
        p.add_argument("scenarios", nargs="*")
    return parser


async def _main(args: argparse.Namespace) -> int:
    dialect = args.dialect
    if dialect == "auto":
        dialect, root = await detect_dialect(args.url)
        print(f"server {root.get('version')!r}: dialect {dialect}")
    catalog = CATALOGS[dialect]
    out: Path = args.out or RECORDING_DIRS[dialect]
    names = args.scenarios or list(catalog)
    unknown = [n for n in names if n not in catalog]
    if unknown:
        print(f"unknown scenario(s) for {dialect}: {', '.join(unknown)}", file=sys.stderr)
        return 2
    options = {k: getattr(args, k) for k in ("other_url", "other_start_cmd", "other_stop_cmd",
                                             "db_cmd", "server_log") if getattr(args, k)}
    failed = 0
    for name in names:
        recording = await run_scenario(name, args.url, args.key, restart_cmd=args.restart_cmd,
                                       sim_control=args.sim_control, commit=args.commit,
                                       dialect=dialect, fresh_cmd=args.fresh_cmd, **options)
        if args.command == "record":
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"{name}.json"
            path.write_text(json.dumps(recording, indent=1, ensure_ascii=False) + "\n")
            print(f"{name}: {len(recording['events'])} events, {recording['duration_s']} s -> {path}")
            print(f"  marks: {json.dumps(recording['marks'], ensure_ascii=False)[:2000]}")
        else:
            problems = compare(load_recording(name, out), recording, recorded_returns(out))
            failed += bool(problems)
            print(f"{name}: {'OK' if not problems else 'DIFFERS'}")
            for problem in problems:
                print(f"  - {problem}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        for dialect, catalog in CATALOGS.items():
            print(f"{dialect}:")
            for name, (_, description) in catalog.items():
                print(f"  {name:26} {description}")
        return 0
    return asyncio.run(_main(args))


if __name__ == "__main__":
    raise SystemExit(main())
