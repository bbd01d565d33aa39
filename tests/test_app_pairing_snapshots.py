"""Snapshot tests of the pairing modal (`Q`, `tui.app.screens.qr.PairingScreen`) on the seeded
demo: the QR code at 160x45 (quiet zone, dialog sized to the code), the one line of a
terminal too small for it (80x24), the pairing code for a number, and `paired` - each after
`Q` and `y` on its plan (the run's step times frozen: they show in the progress pane).

Each test starts its own demo (seeded RNG): the QR payload the simulator makes is the same
on every run, whichever tests ran before or are selected.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest
from textual.widgets import Label

from tests.test_app_support import FROZEN, settle, wait_for
from tui.app.app import EvodashApp
from tui.app.screens import qr as qr_module
from tui.app.screens.confirm import PlanConfirmScreen
from tui.app.screens.qr import PairingScreen
from tui.cli.dashboard import dashboard_info
from tui.cli.wiring import build_services
from tui.demo.runtime import DemoEnvironment
from tui.lifecycle.events import Clock

WIDE = (160, 45)
NARROW = (80, 24)
NAME = "fabiotelec_3_1761316956"  # a `connecting` instance of the demo: its first logout
# lands (a `close` one is watched until quiet, and the counts of that watch vary run to run)


@pytest.fixture
def demo(monkeypatch) -> Iterator[DemoEnvironment]:
    monkeypatch.setattr(qr_module, "PAIR_EVERY_S", 0.2)
    monkeypatch.setattr(qr_module, "CLOSE_AFTER_S", 0.0)  # `paired` stays to be seen
    # the pair run's progress lines (under the modal) say how long each step took: frozen
    monkeypatch.setattr(Clock, "elapsed", lambda self: 0.0)
    with DemoEnvironment(server_url="http://evolution.demo:8080") as env:
        yield env


def build(demo: DemoEnvironment) -> EvodashApp:
    services = build_services(demo.settings, reseller=None, read_only=False)
    info = dataclasses.replace(dashboard_info(demo.settings, None, False),
                               evolution_host="evolution.demo:8080")  # the port is random
    return EvodashApp(services.service, info, clock=lambda: FROZEN, auto_refresh=False)


def status(pilot) -> str:
    return str(pilot.app.screen.query_one("#pairing-status", Label).render())


async def open_pairing(pilot) -> None:
    await settle(pilot)
    table = pilot.app.dashboard.tables()[0]
    table.move_cursor(row=table.get_row_index(NAME), animate=False)
    await pilot.pause()
    await pilot.press("Q")  # its plan first, then `y`
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PlanConfirmScreen)
                   and pilot.app.screen.plan is not None)
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, PairingScreen)
                   and pilot.app.screen.code is not None)
    await pilot.pause()


def test_pairing_qr_code_wide(snap_compare, demo):
    assert snap_compare(build(demo), terminal_size=WIDE, run_before=open_pairing)


def test_pairing_terminal_too_small_80x24(snap_compare, demo):
    assert snap_compare(build(demo), terminal_size=NARROW, run_before=open_pairing)


def test_pairing_code_for_a_number(snap_compare, demo):
    async def run_before(pilot):
        await open_pairing(pilot)
        await pilot.press("n", *"5511999990000", "enter")
        await wait_for(pilot, lambda: pilot.app.screen.query_one("#pairing-code").display)
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)


def test_pairing_paired(snap_compare, demo):
    url = demo.settings.evolution.url

    async def run_before(pilot):
        await open_pairing(pilot)
        httpx.post(f"{url}/_sim/instances", json=[{"name": NAME, "state": "open"}])
        await wait_for(pilot, lambda: status(pilot) == f"paired: {NAME} is open")
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)
