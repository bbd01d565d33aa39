"""The dashboard's operations against the CLI's, side by side, on the same plan.

    python -m tests.bench.bench_ops [--runs 3] [--out tests/bench/results/ops.json]

Each run starts a fresh demo world (`tui.demo.runtime.DemoEnvironment`: the demo's seeded
simulator and in-memory MongoDB-wire server) in a server process of its own, then runs the
admin clear-all of that world (every name the demo has: linked, orphans on both sides,
reserved names) once through the CLI (`python -m tui clear-all --all --yes --json`, a process
of its own) and once through the dashboard (`EvodashApp` headless in a process of its own,
`run_test(size=(160, 45))`, refresh timers on as an operator has them; the plan is the
service's, started by the screen's `run_plan` as the confirmation does). Alternating which
goes first. Measured per variant:

  * op       the operation's own `Summary.elapsed_s` (the run, from its first step to its
             summary): the target is dashboard <= 1.15 x CLI;
  * wall     CLI: the process from start to exit (start-up included, for reference);
             dashboard: from `run_plan` to the `OperationFinished` message handled;
  * first    dashboard only: from `run_plan` to the first move of the progress bar (the
             first finished step of any target), and the bar's value then.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "ops.json"
TARGET_RATIO = 1.15


# ---------------------------------------------------------------------------- the world
def serve() -> None:
    """Child process: a fresh demo world; prints its settings, waits for stdin EOF."""
    from tui.demo.runtime import DemoEnvironment

    with DemoEnvironment() as env:
        assert env.settings is not None
        settings = env.settings.model_dump(mode="json")
        settings["evolution"]["api_key"] = env.settings.evolution.api_key.get_secret_value()
        settings["mongo"]["uri"] = env.settings.mongo.uri.get_secret_value()
        print(json.dumps(settings), flush=True)  # loopback demo servers, demo key
        sys.stdin.read()


class World:
    """A server process holding one fresh demo world; its settings in a file."""

    def __init__(self, tmp: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.bench.bench_ops", "--serve"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the demo world did not start")
        self.settings = json.loads(line)
        self.path = tmp / f"settings-{self.proc.pid}.json"
        self.path.write_text(json.dumps(self.settings))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# ---------------------------------------------------------------------------- variants
def run_cli(settings: Path) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "tui", "--settings", str(settings),
                           "clear-all", "--all", "--yes", "--json"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NO_COLOR": "1"})
    wall = time.perf_counter() - started
    summary = next(json.loads(line) for line in reversed(done.stdout.splitlines())
                   if line.startswith("{") and '"summary"' in line)
    return {"op_s": summary["elapsed_s"], "wall_s": wall, "targets": len(summary["targets"]),
            "removed": summary["deleted_from_evolution"], "rc": done.returncode}


async def _dashboard(settings_path: Path) -> dict[str, Any]:
    from tui.app.app import EvodashApp
    from tui.app.messages import OperationFinished
    from tui.cli.dashboard import dashboard_info
    from tui.cli.wiring import build_services
    from tui.lifecycle.plans import ClearAllRequest
    from tui.lifecycle.scope import Scope
    from tui.settings import Settings

    settings = Settings.model_validate(json.loads(settings_path.read_text()))
    services = build_services(settings)
    app = EvodashApp(services.service, dashboard_info(settings, None, False))
    finished: list[tuple[float, Any]] = []

    def hook(message: object) -> None:
        if isinstance(message, OperationFinished):
            finished.append((time.perf_counter(), message.summary))

    async with app.run_test(size=(160, 45), message_hook=hook) as pilot:
        dash = app.dashboard
        while not dash.refresh_timings:
            await asyncio.sleep(0.01)
        plan = await services.service.plan(ClearAllRequest(Scope.all()))
        started = time.perf_counter()
        dash.run_plan(plan)
        first: float | None = None
        first_value = 0.0
        while not finished:
            if first is None and any(op.progress() for op in dash.ops.values()):
                first = time.perf_counter() - started
                ops = list(dash.ops.values())
                first_value = sum(op.progress() for op in ops) / max(
                    1, sum(op.info.total for op in ops))
            await asyncio.sleep(0.005)
        at, summary = finished[0]
        await pilot.pause()
    return {"op_s": summary.elapsed_s, "wall_s": at - started, "first_s": first,
            "first_bar": first_value, "targets": len(summary.targets),
            "removed": summary.deleted_from_evolution}


def run_dashboard(settings: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "tests.bench.bench_ops", "--dashboard",
                           str(settings)], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dashboard", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.dashboard:
        print(json.dumps(asyncio.run(_dashboard(args.dashboard))))
        return 0
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="evodash-bench-ops-") as tmp:
        for run in range(args.runs):
            order = ("cli", "dashboard") if run % 2 == 0 else ("dashboard", "cli")
            for variant in order:
                world = World(Path(tmp))
                try:
                    fn = run_cli if variant == "cli" else run_dashboard
                    row = {"run": run, "variant": variant, **fn(world.path)}
                finally:
                    world.close()
                rows.append(row)
                print(json.dumps(row), flush=True)
    cli = statistics.median(r["op_s"] for r in rows if r["variant"] == "cli")
    dash = statistics.median(r["op_s"] for r in rows if r["variant"] == "dashboard")
    ratio = dash / cli
    verdict = "PASS" if ratio <= TARGET_RATIO else "MISS"
    print(f"clear-all of the demo world: CLI {cli:.2f} s, dashboard {dash:.2f} s "
          f"(median op time): {ratio:.2f}x, target <= {TARGET_RATIO}x: {verdict}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows, "cli_s": cli, "dashboard_s": dash,
                                    "ratio": ratio}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
