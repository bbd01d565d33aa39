"""`python -m tests.scenarios`: run the named scenarios against any Evolution v1.8 server.

    python -m tests.scenarios list
    python -m tests.scenarios record --url URL --key KEY [--restart-cmd CMD | --sim-control]
                                     [--commit SHA] [--out DIR] [SCENARIO ...]
    python -m tests.scenarios compare --url URL --key KEY [...] [SCENARIO ...]

`record` writes one JSON file per scenario (default `tests/data/real-v1.8/`); `compare` runs
the scenarios and compares each with its recording, as the default suite does for the
simulator (`tests/test_simulator_differential.py`). The key is never written to a file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from tests.scenarios.catalog import SCENARIOS
from tests.scenarios.compare import compare, load_recording, recorded_returns
from tests.scenarios.record import RECORDINGS, run_scenario


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.scenarios")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the scenarios and what each does")
    for name in ("record", "compare"):
        p = sub.add_parser(name)
        p.add_argument("--url", required=True)
        p.add_argument("--key", required=True)
        p.add_argument("--restart-cmd", help="shell command that restarts the server (real)")
        p.add_argument("--sim-control", action="store_true",
                       help="the server is evodash's simulator: restart through /_sim/")
        p.add_argument("--commit", default="", help="server source commit, written down")
        p.add_argument("--out", type=Path, default=RECORDINGS)
        p.add_argument("scenarios", nargs="*")
    return parser


async def _main(args: argparse.Namespace) -> int:
    names = args.scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"unknown scenario(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:
        recording = await run_scenario(name, args.url, args.key, restart_cmd=args.restart_cmd,
                                       sim_control=args.sim_control, commit=args.commit)
        if args.command == "record":
            args.out.mkdir(parents=True, exist_ok=True)
            path = args.out / f"{name}.json"
            path.write_text(json.dumps(recording, indent=1, ensure_ascii=False) + "\n")
            print(f"{name}: {len(recording['events'])} events -> {path}")
            print(f"  marks: {json.dumps(recording['marks'], ensure_ascii=False)}")
        else:
            problems = compare(load_recording(name, args.out), recording,
                               recorded_returns(args.out))
            failed += bool(problems)
            print(f"{name}: {'OK' if not problems else 'DIFFERS'}")
            for problem in problems:
                print(f"  - {problem}")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "list":
        for name, (_, description) in SCENARIOS.items():
            print(f"{name:28} {description}")
        return 0
    return asyncio.run(_main(args))


if __name__ == "__main__":
    raise SystemExit(main())
