"""Pilot tests of every dashboard key against the real simulator and the real Mongo-wire store:
they assert on the messages the app posted and on the effects (the instance is gone from the
simulator, the record from the database)."""

from __future__ import annotations

import asyncio

import pytest
from textual.command import CommandList, CommandPalette

from tests import ops
from tests.fixtures.sim import dialect_free, v2_only, v18_only
from tests.test_app_support import (
    ANA_1,
    ANA_2,
    ANA_5,
    ANA_9,
    BOB_1,
    BOB_7,
    STRAY,
    Recorder,
    make_app,
    make_service,
    move_to,
    seed,
    settle,
    sim_names,
    wait_for,
)
from tui.app.messages import (
    OperationFailed,
    OperationFinished,
    OperationStarted,
    Previewed,
    RecordsChanged,
    Refreshed,
    RefreshFailed,
    StepReported,
)
from tui.app.screens.confirm import ClearAllScreen, ConfirmScreen, PlanConfirmScreen
from tui.app.screens.detail import DetailScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.pickers import CreateScreen, ResellerPicker
from tui.app.screens.qr import QrScreen
from tui.app.widgets.header import StatusHeader
from tui.lifecycle.events import TargetOutcome
from tui.lifecycle.scope import ReadOnlyError, Scope
from tui.store.watch import RecordWatcher


@pytest.fixture
def sim(dialect_sim):
    """The dashboard's server flows (delete, marks, clear-all, create) run on v1.8 and on
    v2 (`dialect_sim`); its keys and screens are `dialect_free`."""
    return dialect_sim


@pytest.fixture
async def seeded(sim, store):
    await seed(sim, store)
    return sim, store


def header(app) -> str:
    return str(app.dashboard.query_one(StatusHeader).render())


def tables(app):
    return app.dashboard.tables()


# ------------------------------------------------------------------------------ refresh
@v18_only("v1.8 lists no ghost: its record is an orphan (v2 lists the row: below)")
async def test_first_refresh_fills_both_panes_and_header(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        assert len(rec.of(Refreshed)) == 1
        instances, records = tables(app)
        assert set(instances.values) == {ANA_1, ANA_2, BOB_1, ANA_9, STRAY}
        assert {r.name for r in records.rows_by_key.values()} == {ANA_1, ANA_2, BOB_1, ANA_5,
                                                                   BOB_7}
        link = {r.name: r.plain(1) for r in instances.rows_by_key.values()}
        assert link[STRAY] == "ORPHAN" and link[ANA_9] == "ORPHAN (Ana Net?)"
        assert link[ANA_1] == "Ana Net"
        rlink = {r.name: r.plain(1) for r in records.rows_by_key.values()}
        assert rlink[ANA_5] == "ORPHAN · absent" and rlink[BOB_7] == "ORPHAN · reserved"
        text = header(app)
        assert "sim.local:8080" in text and "evodash_test" in text and "all resellers" in text
        assert "instances 5 · records 5" in text and "orphan instances 2" in text
        assert "orphan records 2" in text and "reserved 1" in text
        assert "refreshed 0s ago" in text


@dialect_free("the refresh loop's timing and patching (v2's listing: see the v2 clear-all)")
async def test_first_refresh_shows_every_row_while_the_orphan_names_are_probed(seeded):
    """The first refresh posts its rows before probing (`Previewed`), then the probed
    `Refreshed` patches only the probe cells; later refreshes probe before posting."""
    sim, store = seeded
    rec = Recorder()
    service = make_service(sim, store)
    gate = asyncio.Event()
    complete_probes = service.complete_probes

    async def gated(obs):
        await gate.wait()
        return await complete_probes(obs)

    service.complete_probes = gated
    app = make_app(service)
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await wait_for(pilot, lambda: app.dashboard.preview_timing is not None)
        instances, records = tables(app)
        assert len(rec.of(Previewed)) == 1 and not rec.of(Refreshed)
        assert rec.of(Previewed)[0].observation.probes_pending
        assert set(instances.values) == {ANA_1, ANA_2, BOB_1, ANA_9, STRAY}
        rlink = {r.name: r.plain(1) for r in records.rows_by_key.values()}
        assert rlink[ANA_5] == rlink[BOB_7] == "ORPHAN · probing…"
        assert rlink[ANA_1] == "linked"
        assert "orphan records 2" in header(app)
        linked_cells = dict(records.values)
        gate.set()
        await settle(pilot)
        [refreshed] = rec.of(Refreshed)
        assert refreshed.delta is not None and refreshed.delta.names == {ANA_5, BOB_7}
        rlink = {r.name: r.plain(1) for r in records.rows_by_key.values()}
        assert rlink[ANA_5] == "ORPHAN · absent" and rlink[BOB_7] == "ORPHAN · reserved"
        assert records.rebuilds == 1  # the probes patched two rows, nothing was rebuilt
        assert all(records.values[k] is v for k, v in linked_cells.items()
                   if records.rows_by_key[k].name not in (ANA_5, BOB_7))
        await pilot.press("r")
        await settle(pilot)
        assert len(rec.of(Previewed)) == 1  # only the first refresh previews


@dialect_free("the refresh loop's timing and patching (v2's listing: see the v2 clear-all)")
async def test_r_refreshes_and_keeps_the_cursor_on_its_key(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        instances, _ = tables(app)
        move_to(instances, BOB_1)
        sim.seed([{"name": "aaa_first", "state": "close"}])  # sorts before BOB_1
        await pilot.press("r")
        await settle(pilot)
        assert len(rec.of(Refreshed)) == 2
        assert "aaa_first" in instances.values
        assert instances.cursor_key() == BOB_1
        assert instances.rebuilds == 1  # the second refresh was a keyed diff, not a rebuild


@dialect_free("the refresh loop's timing and patching (v2's listing: see the v2 clear-all)")
async def test_a_changed_row_is_patched_in_place_and_the_others_untouched(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        before = dict(instances.values)
        sim.seed([{"name": ANA_2, "state": "open", "owner": "5511922220002@s.whatsapp.net",
                   "profileName": "Ana Dois"}])
        await pilot.press("r")
        await settle(pilot)
        [_, second] = rec.of(Refreshed)
        assert second.delta is not None and second.delta.names == {ANA_2}
        cells = instances.values[ANA_2]
        assert [c.plain.strip() for c in cells[3:]] == ["open", "5511922220002", "Ana Dois"]
        assert all(instances.values[k] is v for k, v in before.items() if k != ANA_2)
        assert instances.rebuilds == 1 and records.rebuilds == 1
        assert instances.rows_by_key[ANA_2].row.instance.profile_name == "Ana Dois"
        await pilot.press("r")  # unchanged: an empty delta, nothing touched
        await settle(pilot)
        assert rec.of(Refreshed)[-1].delta.names == frozenset()
        assert instances.values[ANA_2] is cells


@dialect_free("the refresh loop's timing and patching (v2's listing: see the v2 clear-all)")
async def test_failed_refresh_keeps_data_and_shows_stale(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        sim.faults(error_rate=1.0, error_status=500, routes=["fetchInstances"])
        await pilot.press("r")
        await settle(pilot)
        assert len(rec.of(RefreshFailed)) == 1
        assert "stale" in header(app)
        assert len(tables(app)[0].values) == 5  # last good data still on screen
        assert any("refresh failed" in line for line in app.dashboard.progress.lines)
        sim.faults(error_rate=0.0)
        await pilot.press("r")
        await settle(pilot)
        assert "stale" not in header(app)


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_p_pauses_and_resumes_auto_refresh(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store), auto_refresh=True, refresh_s=0.5)
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await wait_for(pilot, lambda: len(rec.of(Refreshed)) >= 2)  # the timer re-arms
        await pilot.press("p")
        await settle(pilot)
        assert "paused" in header(app)
        count = len(rec.of(Refreshed))
        await asyncio.sleep(1.2)
        await pilot.pause()
        assert len(rec.of(Refreshed)) == count
        await pilot.press("p")
        await wait_for(pilot, lambda: len(rec.of(Refreshed)) > count)
        assert "every 0.5s" in header(app)


@dialect_free("MongoDB's change stream")
async def test_record_watcher_triggers_a_refresh(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store),
                   watcher_factory=lambda: RecordWatcher(store, use_change_streams=False,
                                                         poll_s=0.2))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await asyncio.sleep(0.3)  # let the watcher take its baseline
        await store.insert_record("r-bob", "bobzap_99_1700000099")
        await wait_for(pilot, lambda: rec.of(RecordsChanged))
        await wait_for(pilot, lambda: "bobzap_99_1700000099" in
                       {r.name for r in tables(app)[1].rows_by_key.values()})
        assert len(rec.of(Refreshed)) >= 2


# ------------------------------------------------------------------------------ navigation
@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_filter_slash_esc(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"bobzap")
        instances, records = tables(app)
        assert set(instances.values) == {BOB_1}
        assert {r.name for r in records.rows_by_key.values()} == {BOB_1, BOB_7}
        assert "filter: bobzap" in str(instances.border_title)
        await pilot.press("enter")  # keep the filter, back to the table
        assert app.focused is instances and app.dashboard.filter_text == "bobzap"
        await pilot.press("escape")  # clears it
        assert app.dashboard.filter_text == ""
        assert len(instances.values) == 5 and "filter" not in str(instances.border_title)


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_tab_switches_pane(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        assert app.focused is instances
        await pilot.press("tab")
        assert app.focused is records and app.dashboard.active_table() is records
        await pilot.press("tab")
        assert app.focused is instances


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_space_marks_star_marks_all_and_marks_are_pruned(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, _ = tables(app)
        move_to(instances, STRAY)
        await pilot.press("space")
        assert instances.marks == {STRAY}
        assert instances.values[STRAY][0].plain == "*"
        await pilot.press("slash", *"ananet", "enter", "asterisk")
        assert instances.marks == {STRAY, ANA_1, ANA_2, ANA_9}  # marked while filtered
        await pilot.press("escape")
        sim.request("DELETE", f"/instance/delete/{STRAY}")
        await pilot.press("r")
        await settle(pilot)
        assert instances.marks == {ANA_1, ANA_2, ANA_9}  # STRAY vanished: its mark too


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_enter_opens_detail_with_masked_token_and_raw_json(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], ANA_1)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        body = str(screen.query_one("#detail-body").render())
        assert "owner number     5511911110001" in body and "Database record" in body
        assert "****0001" in body and "TOKEN-ANA-1-SECRET-0001" not in body
        await pilot.press("j")  # j scrolls, as everywhere: still the fields
        assert str(screen.query_one("#detail-body").render()) == body
        await pilot.press("r")  # raw JSON on its own key
        raw = str(screen.query_one("#detail-body").render())
        assert '"instance"' in raw and '"record"' in raw
        assert "TOKEN-ANA-1-SECRET-0001" not in raw
        await pilot.press("escape")
        assert not isinstance(app.screen, DetailScreen)


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_question_mark_help_lists_binding_ids(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    app.set_keymap({"delete": "ctrl+x"})
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one(".dialog-body").render())
        assert "(clear-all)" in text and "ctrl+x" in text
        await pilot.press("escape")


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_keys_are_remappable_by_binding_id(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    app.set_keymap({"delete": "ctrl+x"})
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+x")
        assert isinstance(app.screen, PlanConfirmScreen)


# ------------------------------------------------------------------------------ mutations
@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_ctrl_d_n_declines_and_changes_nothing(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], ANA_2)
        await pilot.press("ctrl+d")
        assert isinstance(app.screen, PlanConfirmScreen)  # at once; it plans inside
        assert app.screen.focused.id == "no"  # default: No
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        body = str(app.screen.query_one(".dialog-body").render())
        assert ANA_2 in body and "scope: all resellers" in body and "verify" in body
        await pilot.press("n")
        await settle(pilot)
        assert not rec.of(OperationStarted)
        assert ANA_2 in sim_names(sim)


@v18_only("a logout step before the delete: v1.8 (v2: below)")
async def test_ctrl_d_y_deletes_instance_and_record(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], ANA_1)
        await pilot.press("ctrl+d", "y")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.operation == "delete"
        assert finished.summary.targets[0].outcome is TargetOutcome.REMOVED
        steps = [m.event.step.value for m in rec.of(StepReported)]
        assert "logout" in steps and "verify" in steps and "record" in steps
        assert ANA_1 not in sim_names(sim)
        assert await store.find_records(ANA_1) == []
        assert ANA_1 not in tables(app)[0].values  # the panes refreshed
        lines = app.dashboard.progress.lines
        assert any(f"{ANA_1} record ok · record removed" in line for line in lines)
        assert any(line.endswith("s") and "delete · all resellers: 1 target ·" in line
                   for line in lines)


async def test_ctrl_d_deletes_marked_rows(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        instances, _ = tables(app)
        for key in (ANA_9, STRAY):
            move_to(instances, key)
            await pilot.press("space")
        await pilot.press("ctrl+d")
        body = str(app.screen.query_one(".dialog-body").render())
        assert ANA_9 in body and STRAY in body
        await pilot.press("y")
        await settle(pilot)
        [started_msg] = rec.of(OperationStarted)
        assert set(started_msg.info.names) == {ANA_9, STRAY} and started_msg.info.bulk
        assert not ({ANA_9, STRAY} & sim_names(sim))
        assert instances.marks == set()


@v2_only("v2 deletes without a logout: a probe re-checks the name")
async def test_v2_ctrl_d_y_deletes_instance_and_record_without_a_logout(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], ANA_1)
        await pilot.press("ctrl+d", "y")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.targets[0].outcome is TargetOutcome.REMOVED
        steps = [m.event.step.value for m in rec.of(StepReported)]
        assert "logout" not in steps
        assert steps.index("probe") < steps.index("delete") < steps.index("verify") \
            < steps.index("record")
        assert ANA_1 not in sim_names(sim)
        assert await store.find_records(ANA_1) == []
        assert ANA_1 not in tables(app)[0].values
        assert sim.stats()["requests"].get("logout", 0) == 0


@dialect_free("the dashboard's concurrent operations")
async def test_a_second_delete_does_not_cancel_the_first(seeded):
    sim, store = seeded
    sim.faults(latency_ms=300)
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        instances, _ = tables(app)
        move_to(instances, ANA_9)
        await pilot.press("ctrl+d", "y")
        await wait_for(pilot, lambda: rec.of(OperationStarted))
        move_to(instances, STRAY)
        await pilot.press("ctrl+d", "y")
        await settle(pilot)
        order = [(type(m).__name__, m.info.names) for m in rec.messages
                 if isinstance(m, OperationStarted | OperationFinished)]
        # the second delete started while the first was still running
        assert order[:2] == [("OperationStarted", (ANA_9,)), ("OperationStarted", (STRAY,))]
        outcomes = {m.summary.targets[0].name: m.summary.targets[0].outcome
                    for m in rec.of(OperationFinished)}
        assert outcomes == {ANA_9: TargetOutcome.REMOVED, STRAY: TargetOutcome.REMOVED}


@dialect_free("the dashboard's side (the operation itself: lifecycle tests, both dialects)")
async def test_f_forgets_an_orphan_record_whose_name_is_absent(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        _, records = tables(app)
        key = next(k for k, r in records.rows_by_key.items() if r.name == ANA_5)
        move_to(records, key)
        await pilot.pause()
        assert app.dashboard.check_action("forget", ()) is True
        await pilot.press("f", "y")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.targets[0].outcome is TargetOutcome.FORGOTTEN
        assert await store.find_records(ANA_5) == []
        # forget is hidden on a linked row
        key = next(k for k, r in records.rows_by_key.items() if r.name == ANA_2)
        move_to(records, key)
        await pilot.pause()
        assert app.dashboard.check_action("forget", ()) is False


@dialect_free("the dashboard's side (the operation itself: lifecycle tests, both dialects)")
async def test_a_adopts_an_orphan_instance_suggesting_the_attributed_reseller(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], ANA_9)
        await pilot.press("a")
        picker = app.screen
        assert isinstance(picker, ResellerPicker)
        options = picker.query_one("#resellers")
        assert options.get_option_at_index(options.highlighted).id == "r-ana"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen))
        await pilot.press("y")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.targets[0].outcome is TargetOutcome.ADOPTED
        [record] = await store.find_records(ANA_9)
        assert record.reseller_id == "r-ana"
        row = tables(app)[0].rows_by_key[ANA_9]
        assert row.kind == "linked"


@dialect_free("the dashboard's side (the operation itself: lifecycle tests, both dialects)")
async def test_shift_r_reprovisions_an_orphan_record_whose_name_is_absent(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        _, records = tables(app)
        # hidden on a linked row and on a reserved orphan record
        for name in (ANA_2, BOB_7):
            move_to(records, next(k for k, r in records.rows_by_key.items() if r.name == name))
            await pilot.pause()
            assert app.dashboard.check_action("reprovision", ()) is False
        move_to(records, next(k for k, r in records.rows_by_key.items() if r.name == ANA_5))
        await pilot.pause()
        assert app.dashboard.check_action("reprovision", ()) is True
        assert "reprovision" in {b.binding.action for b in app.active_bindings.values()}
        await pilot.press("R")
        assert isinstance(app.screen, PlanConfirmScreen)
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        assert ANA_5 in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("y")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.operation == "reprovision"
        assert finished.summary.targets[0].outcome is TargetOutcome.REPROVISIONED
        assert ANA_5 in sim_names(sim)  # the instance exists again on Evolution
        assert len(await store.find_records(ANA_5)) == 1  # the record is kept
        row = next(r for r in records.rows_by_key.values() if r.name == ANA_5)
        assert row.kind == "linked"  # the refresh after the operation re-linked it


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_shift_r_is_hidden_and_refused_in_read_only_mode(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store, read_only=True))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        _, records = tables(app)
        move_to(records, next(k for k, r in records.rows_by_key.items() if r.name == ANA_5))
        await pilot.pause()
        assert app.dashboard.check_action("reprovision", ()) is False
        await pilot.press("R")
        await settle(pilot)
        assert app.screen is app.dashboard and not rec.of(OperationStarted)
        assert ANA_5 not in sim_names(sim)


async def _clear_all_ana(pilot, app, *, include_attributed: bool) -> ClearAllScreen:
    await pilot.press("s")
    await pilot.press("down", "enter")  # all, Ana Net
    await pilot.pause()
    await pilot.press("X")
    await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen))
    screen = app.screen
    await wait_for(pilot, lambda: screen.plan is not None)
    assert screen.replan is not None  # a reseller scope offers the toggle
    assert ANA_9 not in str(screen.query_one("#plan-body").render())
    if include_attributed:
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: not screen.planning and len(screen.plan.actionable) == 4)
        assert ANA_9 in str(screen.query_one("#plan-body").render())
    else:
        assert len(screen.plan.actionable) == 3
    await pilot.press(*"Ana Net")
    assert not screen.query_one("#yes").disabled
    await pilot.press("enter")
    await settle(pilot)
    return screen


async def test_clear_all_reseller_scope_leaves_attributed_orphans_by_default(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await _clear_all_ana(pilot, app, include_attributed=False)
        [finished] = rec.of(OperationFinished)
        assert {t.name for t in finished.summary.targets} == {ANA_1, ANA_2, ANA_5}
        assert sim_names(sim) == {BOB_1, ANA_9, STRAY}  # the attributed orphan stays


@dialect_free("the modal's toggle (clear-all of a reseller: both dialects, above)")
async def test_clear_all_reseller_scope_includes_attributed_orphans_when_toggled(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await _clear_all_ana(pilot, app, include_attributed=True)
        [finished] = rec.of(OperationFinished)
        assert {t.name for t in finished.summary.targets} == {ANA_1, ANA_2, ANA_5, ANA_9}
        assert sim_names(sim) == {BOB_1, STRAY}  # ANA_9 removed; nobody's orphan stays


async def test_c_creates_a_connection_and_shows_its_qr_code(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        before = sim_names(sim)
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CreateScreen)
        await pilot.press("down")  # Ana Net -> Bob Zap
        await wait_for(pilot, lambda: screen.plan is not None
                       and screen.plan.request.reseller_id == "r-bob")
        await pilot.click("#yes")  # the form is the one confirmation: no second modal
        await settle(pilot)
        assert not rec.of(OperationFailed)
        [finished] = rec.of(OperationFinished)
        [target] = finished.summary.targets
        assert target.outcome is TargetOutcome.CREATED and target.reseller_id == "r-bob"
        assert sim_names(sim) - before == {target.name}
        [record] = await store.find_records(target.name)
        assert record.reseller_id == "r-bob"
        assert isinstance(app.screen, QrScreen)
        qr = str(app.screen.query_one("#qr-code").render())
        assert "█" in qr and "▀" in qr


@v18_only("the plan's logout steps and v1.8's unlisted ghost (v2: below)")
async def test_x_clear_all_needs_the_typed_scope_word(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("X")  # the modal opens at once and plans inside
        assert isinstance(app.screen, ClearAllScreen)
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        plan = screen.plan
        assert plan.confirmation.words == ("ALL",) and len(plan.targets) == 7
        body = str(screen.query_one(".dialog-body").render())
        assert "for reseller Ana Net · " in body and "for reseller Bob Zap · " in body
        assert f"  linked (open) · 1: {ANA_1}\n    steps: logout → delete → verify free → " \
               "remove 1 record(s)" in body
        assert f"  orphan record (absent) · 1: {ANA_5}\n    steps: probe → verify free → " \
               "remove 1 record(s)" in body
        await pilot.press(*"al", "enter")  # not the word: refused, said in the modal
        assert app.screen is screen and screen.query_one("#yes").disabled
        prompt = str(screen.query_one("#confirm-prompt").render())
        assert prompt == "'al' is not it: type 'ALL' to confirm:"
        screen.query_one("#confirm-word").value = ""
        await pilot.press(*"all")  # the word without case
        assert not screen.query_one("#yes").disabled
        await pilot.press("enter")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.operation == "clear-all"
        assert sim_names(sim) == set()
        records, _ = await store.list_records()
        assert records == []  # the reserved name was freed by its delete, then forgotten
        assert any("clear-all · all resellers: 7 targets" in line
                   for line in app.dashboard.progress.lines)


@v2_only("v2 lists its ghost row (its database is the list) and removes without logouts")
async def test_v2_first_refresh_lists_the_ghost_row_and_x_clears_all(seeded):
    """The ghost (a row of this server, nothing loaded) is listed by v2: an instance row
    linked to its record, not an orphan record; clear-all plans probe-first steps and
    leaves nothing, rows included."""
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        assert set(instances.values) == {ANA_1, ANA_2, BOB_1, ANA_9, STRAY, BOB_7}
        rlink = {r.name: r.plain(1) for r in records.rows_by_key.values()}
        assert rlink[ANA_5] == "ORPHAN · absent" and rlink[BOB_7] == "linked"
        text = header(app)
        assert "instances 6 · records 5" in text and "orphan records 1" in text
        await pilot.press("X")
        screen = app.screen
        assert isinstance(screen, ClearAllScreen)
        await wait_for(pilot, lambda: screen.plan is not None)
        assert len(screen.plan.targets) == 7
        body = str(screen.query_one(".dialog-body").render())
        assert f"  linked (open) · 1: {ANA_1}\n    steps: probe → delete → verify free → " \
               "remove 1 record(s)" in body
        assert "logout" not in body
        await pilot.press(*"ALL", "enter")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert {t.outcome for t in finished.summary.targets} <= {
            TargetOutcome.REMOVED, TargetOutcome.ALREADY_ABSENT}
        assert sim_names(sim) == set() and sim.state()["rows"] == []
        assert (await store.list_records())[0] == []


@dialect_free("cancelling from the dashboard")
async def test_esc_cancels_a_running_clear_all_after_asking(seeded):
    sim, store = seeded
    sim.faults(latency_ms=400)  # Pilot.press waits for idle: keep the run long enough
    rec = Recorder()
    service = make_service(sim, store, concurrency=1)
    app = make_app(service)
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen))
        await pilot.press(*"ALL", "enter")
        await wait_for(pilot, lambda: rec.of(StepReported))
        assert "-busy" in app.dashboard.progress.classes  # the bar is shown
        await pilot.pause()
        states = [cells[3].plain.strip() for cells in tables(app)[0].values.values()]
        assert any(state.startswith("» ") for state in states)  # rows show in-flight state
        await pilot.press("escape")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(pilot, timeout=30)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.cancelled
        assert finished.summary.count(TargetOutcome.SKIPPED) >= 1
        assert sim_names(sim)  # not everything was removed
        assert "-busy" not in app.dashboard.progress.classes


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_s_chooses_the_reseller_scope(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        assert isinstance(app.screen, ResellerPicker)
        await pilot.press("down", "down", "enter")  # all, Ana Net, Bob Zap
        await pilot.pause()
        assert "scope Bob Zap" in header(app)
        instances, records = tables(app)
        assert set(instances.values) == {BOB_1}
        assert {r.name for r in records.rows_by_key.values()} == {BOB_1, BOB_7}
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        assert screen.plan.confirmation.words == ("r-bob", "Bob Zap")
        assert screen.plan.confirmation.accepts("bob zap") and screen.plan.confirmation.accepts("R-BOB")
        await pilot.press("escape")


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_colon_palette_runs_commands(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("colon")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"orphans only")
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.dashboard.orphans_only)
        instances, _ = tables(app)
        assert set(instances.values) == {ANA_9, STRAY}


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_q_quits(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_value == 0


@dialect_free("signals")
async def test_sighup_exits_cleanly(seeded):
    import os
    import signal

    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        os.kill(os.getpid(), signal.SIGHUP)
        await wait_for(pilot, lambda: app._exit)
    assert app.return_value == 129  # 128 + SIGHUP: the session ended by a signal
    assert signal.getsignal(signal.SIGHUP) is not None


@dialect_free("signals")
async def test_sigterm_mid_clear_all_lets_started_targets_finish_and_exits_non_zero(seeded):
    import os
    import signal

    sim, store = seeded
    sim.faults(latency_ms=150)
    rec = Recorder()
    service = make_service(sim, store, concurrency=1)
    app = make_app(service)
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("X")
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.press(*"ALL", "enter")
        await wait_for(pilot, lambda: rec.of(StepReported))
        os.kill(os.getpid(), signal.SIGTERM)
        await wait_for(pilot, lambda: app._exit, timeout=40)
    assert app.return_value == 143
    [finished] = rec.of(OperationFinished)
    summary = finished.summary
    assert summary.cancelled and summary.not_started > 0
    started = [t for t in summary.targets if t.outcome is not TargetOutcome.SKIPPED]
    assert started and all(t.outcome is not TargetOutcome.FAILED or "interrupted" not in t.reason
                           for t in started)  # the in-flight target was let finish


# ------------------------------------------------------------------------------ gates & errors
@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_read_only_hides_and_blocks_every_mutation(seeded):
    sim, store = seeded
    rec = Recorder()
    service = make_service(sim, store, read_only=True)
    app = make_app(service)
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        assert "READ-ONLY" in header(app)
        move_to(tables(app)[0], ANA_9)  # an orphan instance: adopt would apply
        await pilot.pause()
        shown = {b.binding.action for b in app.active_bindings.values()}
        assert not shown & {"delete", "clear_all", "create", "forget", "adopt", "reprovision"}
        await pilot.press("ctrl+d", "X", "c", "a")
        await settle(pilot)
        assert app.screen is app.dashboard
        assert not rec.of(OperationStarted)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "clear-all" not in titles and "filter" in titles
        assert not await app.dashboard.run_action("clear_all")
        with pytest.raises(ReadOnlyError):  # and the service refuses on its own
            await ops.delete(service, [ANA_9])
        assert ANA_9 in sim_names(sim)


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_reseller_session_is_scoped_and_cannot_choose_scope(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store, scope=Scope.reseller("r-ana")))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert "scope Ana Net" in header(app)  # the name, looked up by the first refresh
        instances, _ = tables(app)
        assert set(instances.values) == {ANA_1, ANA_2, ANA_9}
        await pilot.press("s")
        assert app.screen is app.dashboard  # admin only
        assert app.dashboard.check_action("choose_scope", ()) is False


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_refused_operation_is_one_line_not_a_crash(seeded):
    sim, store = seeded
    rec = Recorder()
    service = make_service(sim, store)
    app = make_app(service)
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        service.read_only = True  # e.g. flipped by an operator: the service still refuses
        move_to(tables(app)[0], ANA_9)
        app.dashboard.start_operation(
            "delete", [ANA_9], lambda sink, cancel: ops.delete(service, [ANA_9], sink=sink),
            bulk=False)
        await settle(pilot)
        [failed] = rec.of(OperationFailed)
        assert "read-only mode" in failed.error
        assert any("delete failed: read-only mode" in line
                   for line in app.dashboard.progress.lines)
        assert app.is_running


@dialect_free("the dashboard's keys and screens (its server flows: both dialects)")
async def test_unexpected_worker_error_becomes_a_notification(seeded):
    sim, store = seeded
    service = make_service(sim, store)
    app = make_app(service)

    async def boom(sink, cancel):
        raise RuntimeError("kaboom\nsecond line")

    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        app.dashboard.start_operation("delete", [ANA_9], boom, bulk=False)
        await settle(pilot)
        assert app.is_running
        assert any("mutations error: kaboom second line" in line
                   for line in app.dashboard.progress.lines)
        assert any("kaboom" in str(n.message) for n in app._notifications)
        assert not app.dashboard.ops and ANA_9 not in app.dashboard.inflight
