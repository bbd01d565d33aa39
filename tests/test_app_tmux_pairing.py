"""Pairing in a real terminal: `evodash --demo` in tmux at 160x45 and 80x24, `Q` on an
instance that is not `open`; the screen is captured (`capture-pane -p`) and the QR code on it
scanned back with zxing-cpp (`tests/qr_scan.py`), as a phone would: it must be the code the
demo's server serves for that instance (read from its HTTP API with the demo's key). At 80x24
the code cannot fit: one clear line says so, `n` gets a pairing code instead, and once the
window is enlarged the QR code is drawn and scans."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.qr_scan import scan
from tests.tmux_support import Tmux, tmux_terminals
from tui.demo.runtime import DEMO_API_KEY

NAME = "fabiotelec_1_1761316762"  # the demo's first row: `close`
PAIR_EVERY_S = 1.5  # tui.app.screens.qr.PAIR_EVERY_S (the real app's interval)


@pytest.fixture
def tmux(tmp_path) -> Iterator[Callable[[int, int], Tmux]]:
    yield from tmux_terminals(tmp_path, "pair")


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
    term.keys("Q")  # its plan first: what the run does, for which reseller
    term.wait_for(r"steps: stop any dialing → ask the server for a QR code")
    term.wait_for(r"for reseller Fabio Telecom · 1 name:")
    term.keys("y")
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
    need = re.search(r"needs (\d+x\d+)", screen).group(1)
    words = " ".join(screen.replace("█", " ").split())  # (the line wraps in the dialog)
    assert f"`evodash pair {NAME}`" in words and "create --qr" not in words, screen
    assert not scan(screen)
    term.keys("n")
    term.keys("5511999990000", literal=True)
    term.keys("Enter")
    screen = term.wait_for(r"pairing code: [A-Z0-9]{8}")
    assert f"needs {need}," in screen  # the size asked for does not drift
    term.resize(160, 45)
    assert_scans_to_the_served_code(term, base_url)
    quit_cleanly(term)
