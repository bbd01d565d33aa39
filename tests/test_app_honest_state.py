"""State that does not lie: in-flight markers (`» step`) last exactly as long as their
operation's steps (a create, a delete, a clear-all while the refresh is paused), and an
unknown reseller id is one clear warning with no mutation key, not an empty dashboard."""

from __future__ import annotations

import pytest

from tests.test_app_support import (
    ANA_1,
    ANA_2,
    BOB_1,
    Recorder,
    make_app,
    make_service,
    seed,
    settle,
    sim_names,
    wait_for,
)
from tui.app.messages import OperationFinished, Refreshed, StepReported
from tui.app.screens.confirm import ClearAllScreen, PlanConfirmScreen
from tui.app.screens.pickers import CreateScreen
from tui.app.widgets.header import StatusHeader
from tui.lifecycle.events import Step
from tui.lifecycle.scope import Scope

MARKER = "»"


@pytest.fixture
async def seeded(sim, store):
    await seed(sim, store)
    return sim, store


def cells(app) -> dict[str, list[str]]:
    """Every shown row of both panes: key -> its cells as text."""
    rows: dict[str, list[str]] = {}
    for table in app.dashboard.tables():
        for key in table.values:
            rows[f"{table.id}:{key}"] = [c.plain for c in table.get_row(key)]
    return rows


def marked_rows(app) -> dict[str, list[str]]:
    return {k: v for k, v in cells(app).items() if any(MARKER in c for c in v)}


def header(app) -> str:
    return str(app.dashboard.query_one(StatusHeader).render())


async def test_a_created_row_loses_its_marker_when_the_create_is_done(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("c")
        create = app.screen
        assert isinstance(create, CreateScreen)
        create.query_one("#qr").value = False  # (the QR modal is another test's)
        await wait_for(pilot, lambda: create.plan is not None and not create.plan.request.qr)
        await pilot.click("#yes")  # the form is the confirmation
        await wait_for(pilot, lambda: rec.of(OperationFinished))
        [finished] = rec.of(OperationFinished)
        [target] = finished.summary.targets
        # while it ran, its row said which step it was in ...
        assert {e.event.instance for e in rec.of(StepReported)} >= {target.name}
        await settle(pilot)  # (the refresh that follows every operation)
        # ... and once it is done, no marker is left anywhere (state and status are real)
        assert not app.dashboard.inflight
        assert not marked_rows(app), marked_rows(app)
        rows = cells(app)
        assert any(target.name in " ".join(v) for k, v in rows.items()
                   if k.startswith("records:")), rows


async def test_markers_follow_the_steps_and_vanish_with_the_done_step(seeded):
    sim, store = seeded
    rec = Recorder()
    seen: list[tuple[str, bool]] = []  # (step, marker on the row right after it)
    app = make_app(make_service(sim, store))

    def watch(message) -> None:
        rec(message)

    async with app.run_test(size=(160, 45), message_hook=watch) as pilot:
        await settle(pilot)
        table = app.dashboard.tables()[0]
        table.move_cursor(row=table.get_row_index(ANA_2))
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen))
        await wait_for(pilot, lambda: app.screen.plan is not None)
        await pilot.press("y")
        while not rec.of(OperationFinished):
            await pilot.pause(0.01)
            row = [c.plain for c in table.get_row(ANA_2)] if ANA_2 in table.values else []
            steps = [m.event.step for m in rec.of(StepReported) if m.event.instance == ANA_2]
            if steps:
                seen.append((steps[-1].value, any(MARKER in c for c in row)))
        steps = [m.event.step for m in rec.of(StepReported) if m.event.instance == ANA_2]
        assert steps[-1] is Step.DONE
        # a step that is not `done` shows on the row; after `done`, nothing
        assert any(marker for step, marker in seen if step != Step.DONE.value)
        await settle(pilot)
        assert ANA_2 not in app.dashboard.inflight
        assert not marked_rows(app), marked_rows(app)


async def test_a_paused_view_still_applies_a_finished_clear_all(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store), auto_refresh=True, refresh_s=0.5)
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await wait_for(pilot, lambda: len(rec.of(Refreshed)) >= 1)
        await pilot.press("p")
        await settle(pilot)
        assert "paused" in header(app)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.press(*"ALL", "enter")
        await wait_for(pilot, lambda: rec.of(OperationFinished), 30)
        await wait_for(pilot, lambda: "instances 0 · records 0" in header(app), 10)
        await settle(pilot)
        assert "paused" in header(app)  # still paused ...
        # ... yet what the clear-all did is on screen: no marker, no stale rows or counts
        assert not marked_rows(app), marked_rows(app)
        assert not any(k.endswith((ANA_1, ANA_2, BOB_1)) for k in cells(app)), cells(app)
        assert "instances 0 · records 0" in header(app), header(app)


async def test_an_unknown_reseller_is_a_warning_and_no_mutation_key(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store, scope=Scope.reseller("r-nope")))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        text = header(app)
        assert "unknown reseller 'r-nope': no reseller has that id" in text, text
        assert "mutations disabled" in text
        shown = {b.binding.action for b in app.screen.active_bindings.values()
                 if app.screen.check_action(b.binding.action, ()) }
        assert not shown & {"delete", "clear_all", "create", "forget", "adopt",
                            "reprovision", "pair"}, shown
        for key in ("X", "c", "ctrl+d"):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.dashboard, (key, app.screen)
        assert {ANA_1, ANA_2, BOB_1} <= set(sim_names(sim)), "nothing was deleted"


async def test_a_known_reseller_has_no_warning(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store, scope=Scope.reseller("r-ana")))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert "unknown reseller" not in header(app)
        assert app.screen.check_action("clear_all", ()) is True
