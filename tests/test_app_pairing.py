"""Pilot tests of pairing in the dashboard (`Q`, `tui.app.screens.qr.PairingScreen`) against
the real simulator and Mongo-wire store: the QR code drawn in the modal is scanned back
(zxing-cpp, `tests/qr_scan.py`) and must be the code the server serves now, also after the
server rotated it; the pairing code for a phone number; `open` once the phone scanned it (the
row then shows `open`); the one line of a terminal too small for the code (and the code once
it is enlarged); read-only and the rows with nothing to pair; create with QR and re-provision
show the same modal."""

from __future__ import annotations

import re

import pytest
from textual.widgets import Label, Static

from tests.qr_scan import find_qr, scan
from tests.test_app_support import (
    ANA_1,
    ANA_2,
    ANA_5,
    STRAY,
    make_app,
    make_service,
    move_to,
    seed,
    settle,
    wait_for,
)
from tui.app.screens import qr as qr_module
from tui.app.screens.confirm import PlanConfirmScreen
from tui.app.screens.pickers import CreateScreen
from tui.app.screens.qr import PairingScreen


@pytest.fixture
async def seeded(sim, store, monkeypatch):
    await seed(sim, store)
    monkeypatch.setattr(qr_module, "PAIR_EVERY_S", 0.1)  # the modal asks the server often
    monkeypatch.setattr(qr_module, "CLOSE_AFTER_S", 0.0)  # and stays open once paired
    return sim, store


def drawn(app) -> str:
    return str(app.screen.query_one("#qr-code", Static).render())


def label(app, selector: str) -> str:
    return str(app.screen.query_one(selector, Label).render())


def served(sim, name: str) -> str:
    """The QR payload the server serves for `name` now."""
    body = sim.request("GET", f"/instance/connect/{name}").json()
    return body["code"]


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def press_pair(pilot) -> PlanConfirmScreen:
    """`Q`, then `y` on its plan (it names what the run does: stop any dialing, then ask for
    a QR code)."""
    app = pilot.app
    await pilot.press("Q")
    await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen)
                   and app.screen.plan is not None)
    confirm = app.screen
    assert str(confirm.query_one("#yes").label) == "Pair (y)"
    body = str(confirm.query_one("#plan-body").render())
    # the demo's server is v1.8: any dialing is stopped first (no second socket)
    assert "steps: stop any dialing → ask the server for a QR code" in body, body
    await pilot.press("y")
    return confirm


async def open_pairing(pilot, name: str) -> PairingScreen:
    app = pilot.app
    instances, _ = app.dashboard.tables()
    move_to(instances, name)
    await pilot.pause()
    await press_pair(pilot)
    await wait_for(pilot, lambda: isinstance(app.screen, PairingScreen)
                   and bool(scan(drawn(app))))
    assert isinstance(app.screen, PairingScreen)
    return app.screen


async def test_q_shows_a_qr_code_that_scans_to_the_servers_code_and_follows_its_rotation(
        seeded):
    sim, store = seeded
    sim.faults(qr_rotate_s=0)  # no rotation until we ask for it
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        screen = await open_pairing(pilot, ANA_2)
        [first] = scan(drawn(app))
        assert first == served(sim, ANA_2) and first.startswith("2@")
        rows = find_qr(drawn(app))
        assert rows is not None and screen.fit is not None and screen.fit.quiet_zone == 4
        assert rows[0] == rows[1] == "█" * len(rows[0])  # 4 light modules on top
        assert all(row.startswith("████") and row.endswith("████") for row in rows)
        dialog = app.screen.query_one("#pairing-dialog")
        assert dialog.size.width >= len(rows[0])  # never wrapped into a strip
        assert "waiting for the phone · QR #1" in label(app, "#pairing-status")
        sim.faults(qr_rotate_s=0.2)  # the server rotates its code now
        await wait_for(pilot, lambda: scan(drawn(app)) not in ([], [first]))
        sim.faults(qr_rotate_s=0)
        await wait_for(pilot, lambda: scan(drawn(app)) == [served(sim, ANA_2)])
        assert screen.count > 1 and f"QR #{screen.count}" in label(app, "#pairing-status")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, PairingScreen)
        assert not [w for w in app.workers if w.group == "pairing" and not w.is_finished]


async def test_n_asks_for_a_pairing_code_for_a_phone_number(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await open_pairing(pilot, STRAY)
        assert label(app, "#pairing-code") == ""  # (its line is there: the size stays)
        height = app.screen.query_one("#pairing-dialog").size.height
        await pilot.press("n")
        await pilot.pause()
        assert app.screen.query_one("#pairing-dialog").size.height == height
        await pilot.press(*"5511999990000", "enter")
        await wait_for(pilot, lambda: label(app, "#pairing-code") != "")
        assert app.screen.query_one("#pairing-dialog").size.height == height
        assert re.fullmatch(r"pairing code: [A-Z0-9]{8}", label(app, "#pairing-code"))
        assert scan(drawn(app))  # the QR code stays


async def test_the_modal_says_paired_and_the_row_shows_open(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await open_pairing(pilot, ANA_2)
        sim.seed([{"name": ANA_2, "state": "open"}])  # the phone scanned it
        await wait_for(pilot, lambda: label(app, "#pairing-status")
                       == f"paired: {ANA_2} is open")
        assert not app.screen.query_one("#qr-code").display
        instances, _ = app.dashboard.tables()
        await wait_for(pilot, lambda: instances.rows_by_key[ANA_2].plain(2) == "open")
        await pilot.press("q")
        await pilot.pause()
        assert not isinstance(app.screen, PairingScreen)
        await settle(pilot)
        assert instances.rows_by_key[ANA_2].plain(2) == "open"


async def test_a_terminal_too_small_gets_one_line_then_the_code_once_enlarged(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(60, 20)) as pilot:
        await settle(pilot)
        instances, _ = app.dashboard.tables()
        move_to(instances, ANA_2)
        await pilot.pause()
        await press_pair(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, PairingScreen)
                       and app.screen.code is not None)
        text = " ".join(drawn(app).split())
        assert re.match(r"terminal too small for the QR code: needs \d+x\d+, have 60x20;", text)
        # the way out pairs this instance (create --qr would make a second connection)
        assert f"`evodash pair {ANA_2}`" in text and "create" not in text
        assert not scan(drawn(app))
        await pilot.resize_terminal(160, 45)
        await wait_for(pilot, lambda: scan(drawn(app)) == [served(sim, ANA_2)])


async def test_read_only_blocks_q(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store, read_only=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, _ = app.dashboard.tables()
        move_to(instances, ANA_2)
        await pilot.press("Q")
        await pilot.pause()
        assert not isinstance(app.screen, PairingScreen)
        assert sim.stats()["requests"].get("connect", 0) == 0


async def test_q_on_a_row_with_nothing_to_pair_says_why(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = app.dashboard.tables()
        move_to(instances, ANA_1)
        await pilot.press("Q")
        await pilot.pause()
        assert app.screen is app.dashboard  # refused by the gate: no plan, no modal
        assert f"{ANA_1} is open: nothing to pair" in notes(app)
        await pilot.press("tab")
        key = next(k for k, r in records.rows_by_key.items() if r.name == ANA_5)
        move_to(records, key)
        await pilot.press("Q")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert f"{ANA_5} has no Evolution instance: nothing to pair" in notes(app)
        key = next(k for k, r in records.rows_by_key.items() if r.name == ANA_2)
        move_to(records, key)  # a record names an instance: its QR code
        await press_pair(pilot)
        await wait_for(pilot, lambda: isinstance(app.screen, PairingScreen)
                       and bool(scan(drawn(app))))
        assert app.screen.instance_name == ANA_2
        assert sim.stats()["requests"].get("connect", 0) >= 1


async def test_an_error_of_the_service_is_one_line_in_the_modal(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await open_pairing(pilot, STRAY)
        response = sim.request("DELETE", f"/instance/delete/{STRAY}")
        assert response.status_code == 200
        await wait_for(pilot, lambda: "nothing to pair" in label(app, "#pairing-status"))
        status = label(app, "#pairing-status")
        assert status.startswith(f"{STRAY}: ") and "\n" not in status
        assert app.screen.query_one("#pairing-status").has_class("error")


async def test_reprovision_opens_the_pairing_modal_on_the_new_instance(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        _, records = app.dashboard.tables()
        key = next(k for k, r in records.rows_by_key.items() if r.name == ANA_5)
        move_to(records, key)
        await pilot.pause()
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen))
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, PairingScreen)
                       and bool(scan(drawn(app))), timeout=20)
        assert app.screen.instance_name == ANA_5
        assert scan(drawn(app)) == [served(sim, ANA_5)]


async def test_create_with_qr_opens_the_pairing_modal_and_keeps_its_code_fresh(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        create = app.screen
        assert isinstance(create, CreateScreen)
        await wait_for(pilot, lambda: create.plan is not None)
        await pilot.click("#yes")  # Ana Net, QR code on (the default): the one confirmation
        await wait_for(pilot, lambda: isinstance(app.screen, PairingScreen)
                       and bool(scan(drawn(app))), timeout=20)
        screen = app.screen
        assert isinstance(screen, PairingScreen)
        first = scan(drawn(app))
        assert first == [served(sim, screen.instance_name)]
        sim.faults(qr_rotate_s=0.2)
        await wait_for(pilot, lambda: scan(drawn(app)) not in ([], first))
        sim.faults(qr_rotate_s=0)
        await wait_for(pilot, lambda: scan(drawn(app)) == [served(sim, screen.instance_name)])
