"""Signals during a mutating command: SIGTERM, SIGINT and SIGHUP (an SSH drop) stop new
work, let the targets in progress finish, print the summary and exit 128 + the signal
number; a second signal stops at once. Never a traceback; the audit log has the run; no
record is removed whose instance is still there. Real `python -m tui` processes against
the simulator (with latency, so that a run lasts) and the MongoDB-wire server."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures.mongo import CONNECTIONS
from tests.test_cli_commands import Cli
from tests.test_lifecycle_support import add_record, seed_resellers

N_TARGETS = 30


@pytest.fixture
def cli(tmp_path, sim, mongo_server, mongo_database) -> Cli:
    return Cli(tmp_path, sim, mongo_server.uri, mongo_database)


class Running:
    """A `python -m tui` process whose stdout is read line by line as it comes."""

    def __init__(self, cli: Cli, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "--settings", str(cli.settings), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=cli.tmp_path, env=cli.env)
        self.lines: list[str] = []
        self._new = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new:
                self.lines.append(line)
                self._new.notify_all()
        with self._new:
            self._new.notify_all()

    def wait_for(self, predicate, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        with self._new:
            while True:
                for line in self.lines:
                    if predicate(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (not self._reader.is_alive() and self.proc.poll() is not None):
                    raise AssertionError(f"no such line; exit {self.proc.poll()}, "
                                         f"stdout so far {self.lines[-5:]}")
                self._new.wait(min(left, 0.2))

    def finish(self, timeout: float = 90) -> tuple[int, str, str]:
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        code = self.proc.wait(timeout)
        self._reader.join(10)
        return code, "".join(self.lines), err


def target_step(line: str) -> bool:
    """A JSON step line of a target (not the operation's own `plan` line)."""
    try:
        event = json.loads(line)
    except ValueError:
        return False
    return event.get("type") == "step" and bool(event.get("instance"))


def seed_many(sim, mongo_db, n: int = N_TARGETS) -> list[str]:
    seed_resellers(mongo_db)
    names = [f"fabio_{i}_{1700000000 + i}" for i in range(1, n + 1)]
    sim.seed([{"name": name, "state": "close"} for name in names])
    for name in names:
        add_record(mongo_db, "r1", name)
    return names


def assert_no_record_lost(sim, mongo_db, names: list[str]) -> None:
    """A record is gone only where its instance is gone too."""
    present = {i["name"] for i in sim.state()["instances"] if i["in_memory"] or i["persisted"]}
    with_record = {d["instance_name"] for d in mongo_db[CONNECTIONS].find()}
    for name in names:
        if name not in with_record:
            assert name not in present, f"{name}: record removed, instance still there"


def audit_entries(path: Path) -> list[dict]:
    assert path.exists(), "no audit log written"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_clean_stderr(err: str) -> None:
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert "Task was destroyed" not in err and "never retrieved" not in err, err


SIGNALS = [pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
           pytest.param(signal.SIGINT, 130, id="SIGINT"),
           pytest.param(signal.SIGHUP, 129, id="SIGHUP")]


@pytest.mark.parametrize("signum,code", SIGNALS)
def test_a_signal_mid_clear_all_stops_new_work_and_prints_the_summary(
        signum, code, cli, sim, mongo_db):
    names = seed_many(sim, mongo_db)
    sim.faults(latency_ms=200)
    run = Running(cli, "clear-all", "--reseller", "r1", "--yes", "--json")
    run.wait_for(target_step)
    run.proc.send_signal(signum)
    exit_code, out, err = run.finish()
    sim.faults()
    assert exit_code == code, (out[-2000:], err)
    assert_clean_stderr(err)
    assert signal.Signals(signum).name in err  # the operator is told what happens
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]  # all JSON
    summary = lines[-1]
    assert summary["type"] == "summary" and summary["cancelled"] is True
    assert len(summary["targets"]) == N_TARGETS
    finished = [t for t in summary["targets"] if t["outcome"] in ("removed", "already_absent")]
    assert 0 < len(finished) < N_TARGETS, summary["stats"] if "stats" in summary else summary
    assert summary["skipped"] > 0
    assert any(f"stopped by {signal.Signals(signum).name}" in note
               for note in summary["notes"])
    assert_no_record_lost(sim, mongo_db, names)
    entries = audit_entries(cli.audit)
    assert any(e.get("operation") == "clear-all" and e.get("cancelled") is True
               for e in entries), entries[-1]


def test_a_second_signal_stops_at_once(cli, sim, mongo_db):
    names = seed_many(sim, mongo_db)
    sim.faults(latency_ms=300)
    run = Running(cli, "clear-all", "--reseller", "r1", "--yes", "--json")
    run.wait_for(target_step)
    run.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    started = time.monotonic()
    run.proc.send_signal(signal.SIGHUP)  # any of the three
    exit_code, out, err = run.finish()
    sim.faults()
    assert exit_code == 143, (out[-2000:], err)  # the first signal names the exit code
    assert time.monotonic() - started < 10
    assert_clean_stderr(err)
    assert "again" in err
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    summary = lines[-1]
    assert summary["type"] == "summary" and summary["cancelled"] is True
    assert len(summary["targets"]) == N_TARGETS
    removed = sum(t["outcome"] == "removed" for t in summary["targets"])
    assert removed < N_TARGETS
    assert_no_record_lost(sim, mongo_db, names)
    assert any(e.get("operation") == "clear-all" for e in audit_entries(cli.audit))


def test_sigterm_mid_delete_in_text_mode(cli, sim, mongo_db):
    names = seed_many(sim, mongo_db, 12)
    sim.faults(latency_ms=200)
    run = Running(cli, "delete", *names, "--yes")
    run.wait_for(lambda line: line.startswith("fabio_"))  # a target's step line
    run.proc.send_signal(signal.SIGTERM)
    exit_code, out, err = run.finish()
    sim.faults()
    assert exit_code == 143, (out[-2000:], err)
    assert_clean_stderr(err)
    [summary] = [line for line in out.splitlines()
                 if line.startswith("delete") and "(cancelled" in line]
    assert "12 targets" in summary
    assert "note: stopped by SIGTERM after the targets in progress" in out
    assert "cancelled before it started" in out
    assert_no_record_lost(sim, mongo_db, names)


def test_sigterm_mid_forget_stops_between_names(cli, sim, mongo_db):
    """`forget` walks its names one by one: it stops after the one in progress."""
    seed_resellers(mongo_db)
    names = [f"fabio_{i}_{1700000000 + i}" for i in range(1, 16)]
    for name in names:  # orphan records: their names are free on the server
        add_record(mongo_db, "r1", name)
    sim.faults(latency_ms=250)
    run = Running(cli, "forget", *names, "--yes", "--json")
    run.wait_for(target_step)
    run.proc.send_signal(signal.SIGTERM)
    exit_code, out, err = run.finish()
    sim.faults()
    assert exit_code == 143, (out[-2000:], err)
    assert_clean_stderr(err)
    summary = [json.loads(line) for line in out.splitlines() if line.strip()][-1]
    assert summary["type"] == "summary" and summary["cancelled"] is True
    forgotten = [t["name"] for t in summary["targets"] if t["outcome"] == "forgotten"]
    assert 0 < len(forgotten) < len(names)
    left = {d["instance_name"] for d in mongo_db[CONNECTIONS].find()}
    assert left == set(names) - set(forgotten)  # the summary tells what happened


def test_ssh_drop_terminal_gone_then_sighup(cli, sim, mongo_db):
    """An SSH drop: the terminal goes away (writes fail with EIO) and SIGHUP arrives. The
    run still stops cleanly - in-flight targets finish, the audit has the run, exit 129 -
    and nothing complains about the lost terminal."""
    import os
    import pty

    names = seed_many(sim, mongo_db, 12)
    sim.faults(latency_ms=200)
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "--settings", str(cli.settings), "clear-all",
         "--reseller", "r1", "--yes"],  # text mode on a terminal: a progress bar
        stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE, text=True,
        cwd=cli.tmp_path, env=cli.env)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 60
    while b"\x1b[2Kfabio_" not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(master, 65536)
        except OSError:
            break
    assert b"\x1b[2Kfabio_" in seen, seen[-2000:]
    assert b"\x1b[2K" in seen  # the bar was drawn (our own escape, on a terminal)
    os.close(master)  # the terminal is gone: writes to it fail from now on
    proc.send_signal(signal.SIGHUP)
    err = proc.stderr.read()
    code = proc.wait(90)
    sim.faults()
    assert code == 129, err
    assert_clean_stderr(err)
    assert "SIGHUP" in err
    assert_no_record_lost(sim, mongo_db, names)
    entries = audit_entries(cli.audit)
    assert any(e.get("operation") == "clear-all" and e.get("cancelled") is True
               for e in entries), entries[-1]
    # in-flight targets finished; the rest never started
    outcomes = [e for e in entries if "outcomes" in e][-1]["outcomes"]
    assert 0 < sum(o == "removed" for o in outcomes.values()) < len(names)
