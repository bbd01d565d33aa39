"""Real `evodash --demo` processes for the signal cells of the fault matrix: a terminal (a
pty) to drive and read, the operator's signals (to the process group, as a terminal sends
them), and what the demo's world holds afterwards (its audit log, its database on disk, the
simulator's state file).

A `PtyTerminal` is what an SSH session gives evodash: stdin, stdout and stderr on one pseudo
terminal of a given size, its controlling terminal, evodash the leader of its session and of
the terminal's foreground process group. So the kernel does what it does for a real
terminal: Ctrl+C typed (`keys("\x03")`) is SIGINT to that whole group (unless the program put
the terminal in raw mode: then it is a key), and `hang_up()` - the SSH drop: the terminal's
other side closes - sends SIGHUP, after which every write of evodash to it fails (EIO) and
its input reads as end-of-file.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pymongo import MongoClient

from tui.demo.runtime import DEMO_DATABASE
from tui.demo.seed import build_demo_data
from tui.store.wire_server import MongoWireServer

ROOT = Path(__file__).resolve().parents[1]
_CONTROLLING_TTY = ("import fcntl, os, sys, termios\n"
                    "fcntl.ioctl(0, termios.TIOCSCTTY, 0)\n"
                    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])\n")
ANSI = re.compile(rb"\x1b\[[0-9;?<>=$]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]"
                  rb"|\x1b[=>78NOPMc]")


def demo_env(world: Path) -> dict[str, str]:
    """The environment of a demo run on `world` (no other EVODASH_* setting; the terminal's
    size comes from the terminal)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("EVODASH_") and k not in ("COLUMNS", "LINES")}
    env.update(EVODASH_DEMO_DIR=str(world), TERM="xterm-256color", PYTHONPATH=str(ROOT))
    return env


class PtyTerminal:
    """`python -m tui ARGS` on a pseudo terminal of `size`, its own session leader."""

    def __init__(self, world: Path, *args: str, size: tuple[int, int] = (80, 24)) -> None:
        self.master, slave = os.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        # a new session, the pty its controlling terminal (a launcher: no preexec_fn in a
        # process with threads), then evodash in its place
        self.proc = subprocess.Popen([sys.executable, "-c", _CONTROLLING_TTY, "-m", "tui",
                                      *args], stdin=slave, stdout=slave, stderr=slave,
                                     env=demo_env(world), cwd=ROOT, start_new_session=True)
        os.close(slave)
        self.raw = bytearray()
        self._lock = threading.Lock()
        self._open = True
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while self._open:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.raw += data

    def text(self) -> str:
        """Everything written so far, escape sequences removed."""
        with self._lock:
            raw = bytes(self.raw)
        return ANSI.sub(b"", raw).decode(errors="replace")

    def wait_for(self, needle: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"no {needle!r} on the terminal (exit {self.proc.poll()});"
                                     f" last output: {self.text()[-1500:]!r}")
            time.sleep(0.05)

    def keys(self, data: str) -> None:
        os.write(self.master, data.encode())

    def hang_up(self) -> None:
        """The SSH drop: the terminal goes away (the kernel sends the SIGHUP)."""
        self._open = False
        self._reader.join(2)
        os.close(self.master)
        self.master = -1

    def wait(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        if self._open:  # what it printed on its way out
            time.sleep(0.2)
            self._open = False
            self._reader.join(2)
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._open = False
        self._reader.join(2)
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


# ---------------------------------------------------------------------------- the world after
def audit(world: Path) -> list[dict[str, Any]]:
    path = world / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] \
        if path.exists() else []


def wait_for_intents(world: Path, n: int = 1, timeout: float = 30,
                     proc: subprocess.Popen | None = None) -> None:
    """Until the run wrote `n` intent lines (it is mutating: mid-run)."""
    deadline = time.monotonic() + timeout
    while sum(e["event"] == "intent" for e in audit(world)) < n:
        if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
            raise AssertionError(f"no intent in the audit log (exit "
                                 f"{proc.poll() if proc else None}): {audit(world)[-3:]}")
        time.sleep(0.02)


def last_run(world: Path) -> list[dict[str, Any]]:
    """The audit lines of the last run (from its start line)."""
    entries = audit(world)
    starts = [i for i, e in enumerate(entries) if e["event"] == "start"]
    assert starts, "no run in the audit log"
    op_id = entries[starts[-1]]["op_id"]
    return [e for e in entries[starts[-1]:] if e.get("op_id") == op_id]


@dataclass
class RunAudit:
    intents: list[str]
    outcomes: dict[str, str]
    summary: dict[str, Any] | None


def run_audit(world: Path) -> RunAudit:
    lines = last_run(world)
    intents = [e["target"] for e in lines if e["event"] == "intent"]
    outcomes = {e["target"]: e["outcome"] for e in lines if e["event"] == "outcome"}
    summaries = [e for e in lines if e["event"] == "summary"]
    return RunAudit(intents, outcomes, summaries[-1] if summaries else None)


def assert_run_stopped_cleanly(world: Path) -> RunAudit:
    """Every intent has its outcome, none interrupted; a summary line that says the run was
    cancelled; some targets finished and some never started."""
    run = run_audit(world)
    assert run.intents, "the signal came before any target started"
    assert set(run.intents) == set(run.outcomes), (
        f"intents without an outcome: {sorted(set(run.intents) - set(run.outcomes))}")
    assert run.summary is not None, "no summary line in the audit log"
    assert run.summary["cancelled"] is True, run.summary["stats"]
    outcomes = run.summary["outcomes"]
    started = [n for n, o in outcomes.items() if o != "skipped"]
    assert 0 < len(started) < len(outcomes), run.summary["stats"]
    assert set(started) == set(run.intents), (sorted(started), sorted(run.intents))
    interrupted = [e for e in last_run(world) if e["event"] == "outcome"
                   and e.get("interrupted_after")]
    assert not interrupted, f"targets cut off mid-way: {interrupted}"
    return run


def assert_removed_means_records_removed(world: Path) -> None:
    """A target reported `removed` has no record left (the bug this guards: the database
    died first, so every instance was deleted and every record kept)."""
    summary = run_audit(world).summary
    assert summary is not None
    removed = {n for n, o in summary["outcomes"].items() if o == "removed"}
    left = removed & db_names(world)
    assert removed and not left, f"removed, but their records are still there: {sorted(left)}"


def sim_names(world: Path) -> set[str]:
    """Names the simulator still has: listed, or reserved on its disk (incl. coming back)."""
    state = json.loads((world / "simulator.json").read_text())
    return ({i["name"] for i in state["memory"]} | set(state["persisted"])
            | set(state["returning"]))


def db_names(world: Path) -> set[str]:
    """The instance names of the records in the world's database (nx-27017 on its files)."""
    with MongoWireServer(data_dir=world / "mongo") as server:
        client: MongoClient = MongoClient(server.uri, serverSelectionTimeoutMS=3000)
        try:
            return {d["instance_name"] for d in
                    client[DEMO_DATABASE]["whatsapp_connections"].find({}, {"instance_name": 1})}
        finally:
            client.close()


def assert_no_live_record_removed(world: Path) -> None:
    """A seeded record is gone only where its name is gone from the server too."""
    seeded = {r["instance_name"] for r in build_demo_data().records}
    removed = seeded - db_names(world)
    alive = removed & sim_names(world)
    assert removed, "no record was removed at all"
    assert not alive, f"records removed while their names are still there: {sorted(alive)}"


def assert_database_server_gone(world: Path) -> None:
    """The demo stopped its database server at its very end (nothing left running)."""
    assert not (world / "mongo.pid").exists(), "the demo's database server was not stopped"
    mongo = str(world / "mongo").encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if mongo in cmdline and stat.rsplit(")", 1)[-1].split()[0] != "Z":
                raise AssertionError(f"a database server still runs on the world: pid {pid}")


def assert_rerun_converges(world: Path) -> None:
    """The same clear-all again finishes the job: nothing failed, nothing stuck, nothing left."""
    again = subprocess.run([sys.executable, "-m", "tui", "--demo", "clear-all", "--all", "--yes",
                            "--json"], capture_output=True, text=True, env=demo_env(world),
                           cwd=ROOT, stdin=subprocess.DEVNULL, timeout=120)
    lines = [json.loads(x) for x in again.stdout.splitlines() if x.strip()]
    summary = lines[-1]
    assert summary["type"] == "summary", again.stdout[-2000:] + again.stderr
    assert summary["failed"] == 0 and summary["stuck_reserved"] == 0, summary["stats"] \
        if "stats" in summary else summary
    assert again.returncode == 0, (again.returncode, again.stderr)


def set_cleanup_lag(world: Path, ms: int) -> None:
    """How long the world's simulator keeps a deleted name before it is free (a new world
    is made first: the demo's own seed, by the demo's own code)."""
    from tui.demo.runtime import DemoEnvironment
    from tui.demo.world import DemoWorld

    if not (world / "simulator.json").exists():
        DemoEnvironment(world=DemoWorld(world)).start().stop()
    path = world / "simulator.json"
    state = json.loads(path.read_text())
    state["cleanup_lag_ms"] = ms
    path.write_text(json.dumps(state))
