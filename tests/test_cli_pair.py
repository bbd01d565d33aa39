"""`evodash pair NAME [--number N]` (issue 16): the QR code of an existing instance in the
terminal with the pairing modal's size rules, or the pairing code; JSON; one line and exit 2
for a name that is no instance; `already paired` for an open one; refused read-only. On a
real pseudo-terminal: too small says the size needed and had, a larger one gets the code
(scanned back with zxing-cpp), a rotated code is redrawn, the phone's scan ends it (exit 0),
Ctrl+C stops it (exit 130)."""

from __future__ import annotations

import codecs
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

import pytest

from tests.fixtures.sim import dialect_free
from tests.qr_scan import scan
from tests.test_cli_commands import Cli, cli, json_lines  # noqa: F401 - fixture
from tests.test_lifecycle_support import add_record, seed_resellers

NAME = "fabio_2_1700000002"


@pytest.fixture
def sim(dialect_sim):
    """Pairing runs on v1.8 and on v2 (`dialect_sim`), unless a test says otherwise."""
    return dialect_sim


def seed(sim, mongo_db) -> None:
    seed_resellers(mongo_db)
    sim.seed([{"name": NAME, "state": "close"}, {"name": "fabio_1_1700000001", "state": "open"},
              {"name": "ghost_1_1", "ghost": True}])
    add_record(mongo_db, "r1", NAME)
    add_record(mongo_db, "r1", "fabio_1_1700000001")
    add_record(mongo_db, "r1", "fabio_4_1700000004")  # an orphan record, its name free


def connects(sim) -> int:
    return sim.stats()["requests"].get("connect", 0)


# ---------------------------------------------------------------------------- no terminal
def test_json_prints_the_code_payload_and_the_run_is_audited(cli, sim, mongo_db):
    seed(sim, mongo_db)
    result = cli("pair", NAME, "--yes", "--json")
    assert result.returncode == 0, result.stderr
    lines = json_lines(result.stdout)
    [pairing] = [line for line in lines if line["type"] == "pairing"]
    assert pairing["name"] == NAME and pairing["state"] == "connecting"
    assert pairing["code"].startswith("2@") and pairing["paired"] is False
    assert lines[-1]["type"] == "summary" and lines[-1]["operation"] == "pair"
    assert lines[-1]["targets"][0]["extra"]["code"] == pairing["code"]
    assert connects(sim) == 1
    events = [json_lines(line)[0]["event"] for line in cli.audit.read_text().splitlines()]
    assert events == ["start", "intent", "outcome", "summary"]


def test_number_gives_the_pairing_code(cli, sim, mongo_db):
    seed(sim, mongo_db)
    as_json, text = cli.many(["pair", NAME, "--number", "+55 11 99999-0000", "--yes", "--json"],
                             ["pair", NAME, "--number", "5511999990000", "--yes"])
    assert as_json.returncode == 0 == text.returncode, as_json.stderr + text.stderr
    [pairing] = [line for line in json_lines(as_json.stdout) if line["type"] == "pairing"]
    code = pairing["pairing_code"]
    assert code and len(code) == 8
    [line] = [x for x in text.stdout.splitlines() if x.startswith("pairing code for ")]
    assert re.fullmatch(rf"pairing code for {NAME}: [A-Z0-9]{{4}}-[A-Z0-9]{{4}}", line), line
    assert "Link with phone number" in text.stdout and "█" not in text.stdout


@dialect_free("the code drawn into a pipe (the pairing itself: both dialects, above)")
def test_text_without_a_terminal_prints_the_code_once(cli, sim, mongo_db):
    seed(sim, mongo_db)
    result = cli("pair", NAME, "--yes")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout  # no colours into a pipe
    [code] = scan(result.stdout)
    assert code.startswith("2@")
    assert result.stdout.rstrip().endswith(f"evodash --settings {cli.settings} pair {NAME} "
                                           "for a fresh one")


NOT_INSTANCES = {
    "fabio_4_1700000004": "evodash: fabio_4_1700000004: not an Evolution instance, nothing to "
                          "pair: only a database record, its name free on the server: re-create"
                          " the instance with evodash --settings SETTINGS reprovision "
                          "fabio_4_1700000004, then pair it",
    # v1.8: a reserved name, not listed; v2: a ghost row (listed, nothing loaded): the same
    "ghost_1_1": "evodash: ghost_1_1: not an Evolution instance, nothing to pair: the server "
                 "holds the name with no instance loaded under it: evodash --settings "
                 "SETTINGS delete ghost_1_1 frees it",
    "nobody_1_1": "evodash: nobody_1_1: not an Evolution instance, nothing to pair: neither "
                  "an instance nor a record (names are exact: evodash --settings SETTINGS "
                  "report lists them)",
}


def test_a_name_that_is_no_instance_is_one_line_exit_2(cli, sim, mongo_db):
    seed(sim, mongo_db)
    results = cli.many(*[["pair", name, "--yes"] for name in NOT_INSTANCES])
    for (name, line), result in zip(NOT_INSTANCES.items(), results):
        assert result.returncode == 2 and result.stdout == "", name
        assert result.stderr.splitlines() == [line.replace("SETTINGS", str(cli.settings))]
    assert connects(sim) == 0


@dialect_free("refusals by the plan's skip and the arguments (an open one: lifecycle pairing, both)")
def test_open_refused_and_bad_arguments(cli, sim, mongo_db):
    seed(sim, mongo_db)
    runs = [["pair", "fabio_1_1700000001", "--yes"], ["pair", "fabio_1_1700000001", "--json"],
            ["--read-only", "pair", NAME, "--yes"], ["pair", NAME],
            ["pair", NAME, "--number", "abc"], ["pair", NAME, "--number", "123"], ["pair"]]
    is_open, open_json, read_only, no_yes, letters, short, nothing = cli.many(*runs)
    assert is_open.returncode == 0 and is_open.stdout.splitlines() == [
        "fabio_1_1700000001: already paired (the instance is open): nothing to do"]
    assert json_lines(open_json.stdout) == [{"type": "pairing", "name": "fabio_1_1700000001",
                                             "state": "open", "paired": True, "code": None,
                                             "pairing_code": None}]
    assert read_only.returncode == 2 and read_only.stderr.splitlines() == [
        "evodash: read-only mode: pair is refused (no change was made)"]
    assert no_yes.returncode == 2 and "--yes" in no_yes.stderr
    for bad in (letters, short, nothing):
        assert bad.returncode == 2 and len(bad.stderr.splitlines()) == 1, bad.stderr
        assert bad.stderr.startswith("evodash: error: ")
    assert "argument --number: not a phone number: 'abc'" in letters.stderr
    assert "has 3" in short.stderr
    assert connects(sim) == 0


# ---------------------------------------------------------------------------- a terminal
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class Tty:
    """`python -m tui ARGS` on a pseudo-terminal of a given size (stdin, stdout, stderr)."""

    def __init__(self, cli: Cli, args: list[str], cols: int, rows: int):
        self.master, slave = pty.openpty()
        self.resize(cols, rows)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "--settings", str(cli.settings), *args],
            stdin=slave, stdout=slave, stderr=slave, cwd=cli.tmp_path,
            env={**cli.env, "TERM": "xterm"}, start_new_session=True)
        os.close(slave)
        self.raw = ""
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def write(self, text: str) -> None:
        os.write(self.master, text.encode())

    def _read(self, wait_s: float) -> bool:
        """Read what the child wrote within `wait_s` (False: it closed the terminal)."""
        ready, _, _ = select.select([self.master], [], [], wait_s)
        if ready:
            try:
                self.raw += self.decoder.decode(os.read(self.master, 65536))
            except OSError:  # the child closed the terminal
                return False
        return True

    def read_until(self, pattern: str, timeout: float = 20.0) -> str:
        """The text (colours removed) since the start, once `pattern` is in it (what was
        written meanwhile is read first)."""
        while self._read(0):
            if not select.select([self.master], [], [], 0)[0]:
                break
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.text) and time.monotonic() < deadline:
            if not self._read(0.1):
                break
        assert re.search(pattern, self.text), f"{pattern!r} not in {self.text[-3000:]!r}"
        return self.text

    @property
    def text(self) -> str:
        return ANSI.sub("", self.raw).replace("\r\n", "\n")

    def since(self, marker: str) -> str:
        return self.text[self.text.rindex(marker):]

    def wait(self) -> int:
        try:
            return self.proc.wait(timeout=20)
        finally:
            os.close(self.master)


@dialect_free("the terminal's sizing, redrawing and end (the pairing: both dialects, above)")
def test_on_a_terminal_the_code_fits_follows_and_ends_when_paired(cli, sim, mongo_db):
    seed(sim, mongo_db)
    sim.faults(qr_rotate_s=1.0)
    tty = Tty(cli, ["pair", NAME], 80, 24)
    tty.read_until(r"\[y/N\] ")
    tty.write("y\n")
    text = tty.read_until(r"Ctrl\+C stops")
    too_small = [x for x in text.splitlines() if x.startswith("terminal too small")]
    assert too_small == [
        f"terminal too small for the QR code: needs 49x27, have 80x24; enlarge the window, or "
        f"pair with a code: evodash --settings {cli.settings} pair {NAME} --number PHONE"]
    assert "█" not in text
    tty.resize(120, 50)  # drawn once it fits (the modal redraws on resize too)
    tty.read_until(r"QR #\d+ · fresh every 1\.5 s · Ctrl\+C stops")
    first = tty.since("Scan with WhatsApp")
    [code] = scan(first)
    assert code.startswith("2@")
    assert "\x1b[97;40m" in tty.raw  # light modules on black, whatever the theme
    # the server rotates the code: the new one is drawn (and reads back as the new one)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        tty.read_until(r"Ctrl\+C stops", timeout=2)
        latest = scan(tty.since("Scan with WhatsApp"))
        if latest and latest != [code]:
            break
        time.sleep(0.3)
    assert latest and latest != [code], "the rotated code was not drawn"
    sim.seed([{"name": NAME, "state": "open"}])  # the phone scanned it
    tty.read_until(f"paired: {NAME} is open")
    assert tty.wait() == 0


@dialect_free("the stop signal of a terminal run")
def test_ctrl_c_stops_following_exit_130(cli, sim, mongo_db):
    seed(sim, mongo_db)
    tty = Tty(cli, ["pair", NAME, "--yes"], 120, 50)
    tty.read_until(r"Ctrl\+C stops")
    [code] = scan(tty.since("Scan with WhatsApp"))
    assert code.startswith("2@")
    os.killpg(tty.proc.pid, signal.SIGINT)
    tty.read_until(f"stopped by SIGINT: {NAME} is not paired yet")
    assert tty.wait() == 130
    assert "Traceback" not in tty.text


@dialect_free("the drawing rules (create --qr on v2: test_cli_commands)")
def test_create_qr_draws_with_the_same_rules(cli, sim, mongo_db):
    seed_resellers(mongo_db)
    tty = Tty(cli, ["create", "--reseller", "ana", "--qr", "--yes"], 120, 50)
    tty.read_until(r"shows a fresh one")
    assert tty.wait() == 0
    [code] = scan(tty.since("Scan with WhatsApp"))
    assert code.startswith("2@")
    small = Tty(cli, ["create", "--reseller", "ana", "--qr", "--yes"], 60, 20)
    small.read_until(r"terminal too small for the QR code: needs \d+x\d+, have 60x20")
    assert small.wait() == 0
