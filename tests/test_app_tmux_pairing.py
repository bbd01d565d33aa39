"""Pairing in a real terminal: `evodash --demo` in tmux at 160x45 and 80x24, `Q` on an
instance that is not `open`; the screen is captured (`capture-pane -p`) and the QR code on it
scanned back with zxing-cpp (`tests/qr_scan.py`), as a phone would: it must be the code the
demo's server serves for that instance (read from its HTTP API with the demo's key). At 80x24
the code cannot fit: one clear line says so, `n` gets a pairing code instead, and once the
window is enlarged the QR code is drawn and scans."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.qr_scan import scan
from tui.demo.runtime import DEMO_API_KEY

ROOT = Path(__file__).parent.parent
NAME = "fabiotelec_1_1761316762"  # the demo's first row: `close`
PAIR_EVERY_S = 1.5  # tui.app.screens.qr.PAIR_EVERY_S (the real app's interval)


class Tmux:
    def __init__(self, tmp_path: Path, width: int, height: int) -> None:
        self.socket = f"evodash-pair-{uuid.uuid4().hex[:8]}"
        self.session = "pair"
        env = {**os.environ, "HOME": str(tmp_path)}
        self.run("-f", "/dev/null", "new-session", "-d", "-s", self.session,
                 "-x", str(width), "-y", str(height),
                 f"TERM=xterm-256color {sys.executable} -m tui --demo; "
                 "echo EVODASH-EXITED $?; sleep 30", env=env)

    def run(self, *args: str, env: dict | None = None) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True, env=env, cwd=ROOT, timeout=30).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", self.session, *(["-l"] if literal else []), *keys)

    def resize(self, width: int, height: int) -> None:
        self.run("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))

    def wait_for(self, pattern: str | Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        test = pattern if callable(pattern) else (lambda s: re.search(pattern, s) is not None)
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {pattern!r}; screen was:\n{screen}")
            time.sleep(0.2)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def tmux(tmp_path) -> Iterator[Callable[[int, int], Tmux]]:
    if shutil.which("tmux") is None:
        # as tests/test_app_tmux.py: skipped without tmux on a developer machine; CI installs
        # tmux and sets REQUIRE_TMUX_SMOKE, so there it runs or fails, never skips
        if os.environ.get("REQUIRE_TMUX_SMOKE"):
            pytest.fail("tmux is required here (REQUIRE_TMUX_SMOKE) but not installed")
        pytest.skip("tmux is not installed (apt install tmux); CI always runs this test")
    started: list[Tmux] = []

    def start(width: int, height: int) -> Tmux:
        started.append(Tmux(tmp_path, width, height))
        return started[-1]

    yield start
    for session in started:
        session.kill()


def served(base_url: str) -> str:
    """The QR payload the demo's server serves for NAME now."""
    response = httpx.get(f"{base_url}/instance/connect/{NAME}",
                         headers={"apikey": DEMO_API_KEY}, timeout=10)
    return response.json()["code"]


def open_pairing(term: Tmux) -> str:
    """Starts the pairing of NAME (the cursor row); the demo's server base URL."""
    header = term.wait_for(r"inst(ances)? 36\b.*rec(ords)? 34\b", 60)
    term.wait_for(NAME, 10)
    match = re.search(r"(127\.0\.0\.1:\d+)", header)
    assert match, header
    term.keys("Q")
    term.wait_for(f"Scan with WhatsApp: {NAME}")
    return f"http://{match.group(1)}"


def assert_scans_to_the_served_code(term: Tmux, base_url: str) -> None:
    term.wait_for(lambda s: bool(scan(s)))
    before = served(base_url)
    time.sleep(2 * PAIR_EVERY_S + 0.5)  # the modal asked again since
    screen = term.screen()
    after = served(base_url)
    decoded = scan(screen)
    assert decoded and decoded[0] in (before, after), (decoded, before, after, screen)


def quit_cleanly(term: Tmux) -> None:
    term.keys("Escape")
    term.wait_for(lambda s: "Scan with WhatsApp" not in s)
    term.keys("q")
    term.wait_for("EVODASH-EXITED 0", 15)


def test_pairing_qr_scans_from_a_160x45_terminal(tmux):
    term = tmux(160, 45)
    base_url = open_pairing(term)
    assert_scans_to_the_served_code(term, base_url)
    assert re.search(r"waiting for the phone · QR #\d+", term.screen())
    quit_cleanly(term)


def test_pairing_in_80x24_says_too_small_offers_the_pairing_code_and_scans_once_enlarged(
        tmux):
    term = tmux(80, 24)
    base_url = open_pairing(term)
    screen = term.wait_for("terminal too small for the QR code")
    assert re.search(r"terminal too small for the QR code: needs \d+x\d+, have 80x24;", screen)
    assert not scan(screen)
    term.keys("n")
    term.keys("5511999990000", literal=True)
    term.keys("Enter")
    term.wait_for(r"pairing code: [A-Z0-9]{8}")
    term.resize(160, 45)
    assert_scans_to_the_served_code(term, base_url)
    quit_cleanly(term)
