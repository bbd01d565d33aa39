"""Issue 16 in the dashboard, against the real simulator and the real Mongo-wire store:

* every confirmation names the plan's steps, its targets and the reseller each is for, by
  name (delete, delete of marked rows, forget, adopt, re-provision, pair, clear-all, create),
  and what runs is what it named; the delete's scope agrees with the progress line and the
  toast; an orphan instance's delete says nothing of a record;
* every skipped target says why and how to include it; the detail view gives the commands
  that repair its row;
* create is confirmed once, by its form, which shows the plan;
* 80x24 first: the footer fits and shows only keys that apply (in its context's order);
  no toast over a modal; j / k scroll every modal; the pickers take j / k and a filter;
  `!` shows orphans only; the help's prose is wrapped once; the in-flight marker reads whole.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import Label, Static

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
    wait_for,
)
from tui.app.bindings import help_rows
from tui.app.messages import OperationFinished, OperationStarted, StepReported
from tui.app.screens.confirm import ClearAllScreen, ConfirmScreen, PlanConfirmScreen
from tui.app.screens.detail import DetailScreen
from tui.app.screens.help import HELP_PROSE, HelpScreen
from tui.app.screens.pickers import CreateScreen, ResellerPicker
from tui.app.view import INFLIGHT_WIDTH, PaneModel, inflight_word, plan_body, target_reseller
from tui.app.widgets.choice import ResellerList
from tui.app.widgets.footer import KeyFooter, fit_entries
from tui.evolution.client import EvolutionClient
from tui.lifecycle.advice import include_hint
from tui.lifecycle.domain import OperationKind, Skip, SkipCause, Step
from tui.lifecycle.plans import ClearAllRequest, Plan, Target
from tui.lifecycle.removal import DeletePolicy
from tui.lifecycle.scope import Scope
from tui.lifecycle.service import LifecycleService
from tui.lifecycle.words import step_text
from tui.reconcile.kinds import TargetKind

README = Path(__file__).resolve().parents[1] / "README.md"
NAMES = {"r-ana": "Ana Net", "r-bob": "Bob Zap"}


@pytest.fixture
async def seeded(sim, store):
    await seed(sim, store)
    return sim, store


def name_of(reseller_id: str | None) -> str:
    return NAMES.get(reseller_id or "", reseller_id or "no reseller")


def body_of(screen) -> str:
    return str(screen.query_one("#plan-body", Static).render())


def assert_names_the_plan(body: str, plan: Plan) -> None:
    """The modal says, for every target, its name, the words of exactly its steps and the
    reseller it is for; for every skipped one, why and how to include it."""
    for target in plan.actionable:
        assert target.name in body, (target.name, body)
        what = f"{target.kind.value.replace('_', ' ')} ({target.state_text()}) · "
        assert f"\n  {what}" in body and target.name in body, (what, body)
        steps = " → ".join(target.step_words())  # the plan's words for exactly its steps
        assert f"\n    steps: {steps}\n" in f"{body}\n", (steps, body)
        rid = target_reseller(plan, target)
        who = f"for reseller {name_of(rid)} · " if rid else "for no reseller (no record) · "
        assert who in body, (who, body)
    for target in plan.skipped:
        assert f"{target.name}: {target.skip_reason}" in body, body
        hint = include_hint(target.skip, plan.operation, target.name)
        if hint:
            assert f"to include it: {hint}" in body, body
    every = {step_text(s, state=t.state, records=len(t.records))
             for t in plan.actionable for s in t.steps}
    assert every, "a plan that does something names its steps"


def executed_steps(rec: Recorder) -> set[Step]:
    """The kinds of steps the run reported on its targets (not the frame's plan / done)."""
    return {m.event.step for m in rec.of(StepReported)
            if m.event.step not in (Step.PLAN, Step.DONE)}


async def open_plan(pilot, key: str) -> PlanConfirmScreen:
    app = pilot.app
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen)
                   and app.screen.plan is not None)
    return app.screen


# ------------------------------------------------------------------------------ plans
async def test_each_confirmation_names_steps_targets_and_resellers(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = app.dashboard.tables()
        # delete of one linked row
        move_to(instances, BOB_1)
        screen = await open_plan(pilot, "ctrl+d")
        body = body_of(screen)
        assert_names_the_plan(body, screen.plan)
        assert "for reseller Bob Zap · 1 name:" in body and "scope: all resellers" in body
        assert "The record is removed only once the name is verified free." in body
        await pilot.press("n")
        # delete of marked rows: two resellers, an orphan instance, each named
        for name in (ANA_1, BOB_1, STRAY):
            move_to(instances, name)
            await pilot.press("space")
        screen = await open_plan(pilot, "ctrl+d")
        body = body_of(screen)
        assert_names_the_plan(body, screen.plan)
        assert {"for reseller Ana Net · 1 name:", "for reseller Bob Zap · 1 name:",
                "for no reseller (no record) · 1 name:"} <= set(body.split("\n"))
        await pilot.press("n")
        await pilot.press("u")
        # forget and re-provision of an orphan record whose name is free
        await pilot.press("tab")
        move_to(records, next(k for k, r in records.rows_by_key.items() if r.name == ANA_5))
        for key, steps in (("f", "probe → remove 1 record(s)"), ("R", "probe → create the "
                                                                         "instance")):
            screen = await open_plan(pilot, key)
            body = body_of(screen)
            assert_names_the_plan(body, screen.plan)
            assert f"orphan record (absent) · 1: {ANA_5}\n    steps: {steps}" in body, body
            assert "for reseller Ana Net · 1 name:" in body
            await pilot.press("n")
        # pair: the instance of a linked record
        move_to(records, next(k for k, r in records.rows_by_key.items() if r.name == ANA_2))
        screen = await open_plan(pilot, "Q")
        body = body_of(screen)
        assert_names_the_plan(body, screen.plan)
        assert (f"linked (close) · 1: {ANA_2}\n    steps: stop any dialing → ask the server "
                "for a QR code") in body
        await pilot.press("n")


async def test_adopt_names_the_reseller_chosen_and_runs_only_its_insert(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        move_to(app.dashboard.tables()[0], STRAY)
        await pilot.press("a")
        picker = app.screen
        assert isinstance(picker, ResellerPicker)
        await pilot.press(*"bob", "enter")  # type-to-filter, then choose
        await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen)
                       and app.screen.plan is not None)
        screen = app.screen
        body = body_of(screen)
        assert_names_the_plan(body, screen.plan)
        assert "for reseller Bob Zap · 1 name:" in body
        assert f"orphan instance (close) · 1: {STRAY}\n    steps: insert the record" in body
        assert "all resellers" not in body and "delete" not in body
        plan = screen.plan
        await pilot.press("y")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.targets[0].outcome.value == "adopted"
        assert executed_steps(rec) == plan.step_kinds() == {Step.INSERT}
        [record] = await store.find_records(STRAY)
        assert record.reseller_id == "r-bob"


async def test_the_delete_of_an_orphan_instance_says_nothing_of_a_record(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        move_to(app.dashboard.tables()[0], STRAY)
        screen = await open_plan(pilot, "ctrl+d")
        body = body_of(screen)
        # neither a record step nor the note of a record removed once the name is free
        assert "remove" not in body and "verified free" not in body, body
        assert "    steps: stop any dialing → delete → verify free" in body
        plan = screen.plan
        await pilot.press("y")
        await settle(pilot)
        assert executed_steps(rec) == plan.step_kinds()
        assert Step.RECORD not in executed_steps(rec)


async def test_the_delete_scope_is_the_plans_in_modal_progress_and_toast(seeded):
    """An admin viewing one reseller deletes in the session's scope (all resellers): the
    modal, the progress line and the summary's toast say the same scope; a reseller's
    session says its reseller in all three."""
    sim, store = seeded
    for scope, said, summary in ((Scope.all(), "all resellers", "delete · all resellers"),
                                 (Scope.reseller("r-ana"), "Ana Net (reseller:r-ana)",
                                  "delete · reseller:r-ana")):
        if not scope.is_all:  # (the first round deleted it: back, for the second)
            sim.seed([{"name": ANA_2, "state": "close"}])
            await store.insert_record("r-ana", ANA_2, status="disconnected")
        rec = Recorder()
        app = make_app(make_service(sim, store, scope=scope))
        async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
            await settle(pilot)
            if scope.is_all:
                app.dashboard.view_scope = "r-ana"  # viewing Ana Net (as `s` would)
                app.dashboard.redraw()
                await pilot.pause()
            move_to(app.dashboard.tables()[0], ANA_2)
            screen = await open_plan(pilot, "ctrl+d")
            assert f"scope: {said}\n" in body_of(screen)
            await pilot.press("y")
            await settle(pilot)
            lines = app.dashboard.progress.lines
            assert any(line.endswith(f"delete started 1 name(s) · scope: {said}")
                       for line in lines), lines
            [finished] = rec.of(OperationFinished)
            assert finished.summary.line().startswith(summary)
            assert any(summary in line for line in lines)


async def test_clear_all_says_why_each_target_is_skipped_and_how_to_include_it(sim, store):
    await seed(sim, store)
    client = EvolutionClient(sim.url, sim.api_key, timeout_s=5, retries=0)
    service = LifecycleService(client, store, policy=DeletePolicy(
        verify_timeout_s=2, max_attempts=2, free_hold_s=0.4, quiet_logout_s=0.05),
        orphan_grace_s=600.0)  # stray_bot has no time in its name: first seen now, young
    app = make_app(service)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen)
                       and app.screen.plan is not None)
        screen = app.screen
        plan = screen.plan
        assert [t.name for t in plan.skipped] == [STRAY]
        body = body_of(screen)
        assert_names_the_plan(body, plan)
        assert f"  {STRAY}: young orphan instance (" in body
        assert "    to include it: " in body and "cleanup.orphan_grace_s" in body
        assert f"or delete it by name now: evodash delete {STRAY}" in body
        assert "for reseller Ana Net · " in body and "for reseller Bob Zap · " in body
        await pilot.press("escape")


def test_plan_body_says_each_skip_and_its_hint_and_the_reseller_of_a_clear_all():
    """Pure: a reseller's clear-all names its reseller for its attributed orphan instance
    (no record yet), and each skip cause its sentence and its way in."""
    request = ClearAllRequest(Scope.reseller("r-ana"), include_attributed=True)
    targets = [
        Target(ANA_1, [], kind=TargetKind.ORPHAN_INSTANCE, steps=(Step.LOGOUT, Step.DELETE,
                                                                    Step.VERIFY)),
        Target(ANA_9, [], kind=TargetKind.ORPHAN_INSTANCE,
               skip=Skip(SkipCause.OUT_OF_SCOPE, scope="reseller:r-ana")),
        Target(BOB_7, [], kind=TargetKind.ORPHAN_RECORD,
               skip=Skip(SkipCause.CLAIMED, detail="run 12 on host b")),
    ]
    plan = Plan(request, request.scope, targets, ["a note"], None, "Clear all: Ana Net")
    lines = plan_body(plan, name_of)
    assert lines[0] == "scope: Ana Net (reseller:r-ana)"
    assert "for reseller Ana Net · 1 name:" in lines
    for target in plan.skipped:
        assert f"  {target.name}: {target.skip_reason}" in lines
        assert f"    to include it: {include_hint(target.skip, OperationKind.CLEAR_ALL, target.name)}" in lines
    assert lines[-1] == "note: a note"


# ------------------------------------------------------------------------------ create
async def test_create_is_confirmed_once_by_its_form_which_shows_the_plan(seeded, monkeypatch):
    sim, store = seeded
    rec = Recorder()
    modals: list[str] = []
    original = PlanConfirmScreen.__init__

    def counted(self, *args, **kwargs):
        modals.append("plan")
        original(self, *args, **kwargs)

    monkeypatch.setattr(PlanConfirmScreen, "__init__", counted)
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("c")
        form = app.screen
        assert isinstance(form, CreateScreen)
        await pilot.press("j")  # Ana Net -> Bob Zap
        await wait_for(pilot, lambda: form.plan is not None
                       and form.plan.request.reseller_id == "r-bob")
        shown = str(form.query_one("#create-plan", Static).render())
        assert "for reseller Bob Zap:" in shown
        assert "steps: probe → create the instance → insert the record" in shown
        assert "The name is chosen when it runs" in shown
        assert "then: its QR code" in shown  # (the QR box is on)
        await pilot.press("ctrl+t")  # no QR code: the plan is asked again
        await wait_for(pilot, lambda: form.plan is not None and not form.plan.request.qr)
        assert "then: its QR code" not in str(form.query_one("#create-plan").render())
        plan = form.plan
        await pilot.press("enter")  # the list's enter: the Create button has the focus
        assert form.query_one("#yes").has_focus
        await pilot.press("enter")  # ... and it creates
        await settle(pilot)
        assert modals == []  # never a second confirmation
        [finished] = rec.of(OperationFinished)
        assert finished.summary.targets[0].reseller_id == "r-bob"
        assert executed_steps(rec) == plan.step_kinds() == {Step.PROBE, Step.CREATE,
                                                            Step.INSERT}


# ------------------------------------------------------------------------------ detail
async def test_detail_shows_the_repair_commands_of_its_finding(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = app.dashboard.tables()
        expected = {
            (0, STRAY): [f"evodash delete {STRAY}", f"evodash adopt {STRAY} --reseller ID"],
            (0, ANA_9): [f"evodash adopt {ANA_9} --reseller r-ana"],
            (1, ANA_5): [f"evodash forget {ANA_5}", f"evodash reprovision {ANA_5}"],
            (1, BOB_7): [f"evodash delete {BOB_7}"],
        }
        for (pane, name), commands in expected.items():
            table = (instances, records)[pane]
            app.dashboard.set_focus(table)
            key = name if pane == 0 else next(k for k, r in table.rows_by_key.items()
                                              if r.name == name)
            move_to(table, key)
            await pilot.press("enter")
            screen = app.screen
            assert isinstance(screen, DetailScreen)
            body = str(screen.query_one("#detail-body").render())
            assert "To repair it" in body, body
            for command in commands:
                assert f"  {command}" in body, (command, body)
            await pilot.press("escape")
        move_to(instances, ANA_1)  # linked, no drift: nothing to repair
        app.dashboard.set_focus(instances)
        await pilot.press("enter")
        assert "To repair it" not in str(app.screen.query_one("#detail-body").render())
        await pilot.press("escape")


# ------------------------------------------------------------------------------ 80x24
def footer_now(app) -> tuple[str, set[str]]:
    footer = app.dashboard.query_one(KeyFooter)
    entries = fit_entries(app.dashboard.footer_entries(), footer.size.width)
    return "".join(f" {e.keys} {e.label} " for e in entries), {e.action for e in entries}


async def test_the_footer_fits_80_columns_and_shows_only_keys_that_apply(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        instances, records = app.dashboard.tables()
        footer = app.dashboard.query_one(KeyFooter)
        assert footer.size.width == 80
        checks = [
            (lambda: move_to(instances, ANA_1), {"delete", "mark", "detail"},
             {"pair", "adopt", "forget", "reprovision", "unmark_all"}),  # open: no pair
            (lambda: move_to(instances, ANA_2), {"delete", "pair"}, {"adopt"}),
            (lambda: move_to(instances, STRAY), {"delete", "adopt", "pair"}, {"forget"}),
        ]
        for move, present, absent in checks:
            move()
            await pilot.pause()
            text, actions = footer_now(app)
            assert len(text) <= 80 and text.endswith(" ? Help  q Quit "), text
            assert present <= actions and not absent & actions, (text, actions)
            # the row's keys come first
            order = [e.action for e in app.dashboard.footer_entries()]
            assert order.index("delete") < order.index("filter") < order.index("help")
        rendered = str(footer.render())
        assert rendered.rstrip().endswith("? Help  q Quit")
        # the progress log: its own keys, no mutation
        await pilot.press("l")
        await pilot.pause()
        text, actions = footer_now(app)
        assert "j/k Scroll" in text and "esc Back" in text and text.endswith(" q Quit ")
        assert not actions & {"delete", "pair", "create", "clear_all", "mark", "adopt"}
        await pilot.press("ctrl+d")  # refused there, saying why
        await pilot.pause()
        assert app.screen is app.dashboard
        assert any("progress log has the focus" in str(n.message)
                   for n in app._notifications)
        await pilot.press("shift+tab")  # Textual's own focus keys still work there
        await pilot.pause()
        assert not any("app.focus" in str(n.message) for n in app._notifications)
        app.dashboard.set_focus(app.dashboard.progress_log())
        await pilot.press("escape")
        # the filter box: what ends it
        await pilot.press("slash")
        await pilot.pause()
        text, _ = footer_now(app)
        assert "Keep filter" in text and "Clear filter" in text and "Quit" not in text
        await pilot.press("escape")


async def test_an_empty_scope_offers_no_row_key_no_clear_all_and_no_pair(sim, store):
    sim.seed([])
    await store._resellers.insert_many([{"id": "r-ana", "name": "Ana Net"}])
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text, actions = footer_now(app)
        assert not actions & {"pair", "clear_all", "delete", "mark", "sort", "filter",
                              "detail", "toggle_orphans_only"}, text
        assert "create" in actions  # a connection for Ana Net is what an empty scope needs
        await pilot.press("X")
        await pilot.pause()
        assert app.screen is app.dashboard


async def test_no_toast_covers_a_modal(seeded):
    """The clear-all's wrong word is said inside it; a summary toast raised while the
    pairing modal is open (create with QR) shows on the dashboard, not over the modal."""
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen)
                       and app.screen.plan is not None)
        screen = app.screen
        await pilot.press(*"nope", "enter")
        await pilot.pause()
        prompt = str(screen.query_one("#confirm-prompt", Label).render())
        assert prompt == "'nope' is not it: type 'ALL' to confirm:"
        assert not [t for t in screen.query("Toast") if t.display]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("c")
        form = app.screen
        await wait_for(pilot, lambda: form.plan is not None)
        await pilot.click("#yes")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "PairingScreen")
        await pilot.pause(0.3)
        assert any("created" in str(n.message) for n in app._notifications)
        assert not [t for t in app.screen.query("Toast") if t.display]
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert [t for t in app.dashboard.query("Toast") if t.display]  # there, after


async def test_j_and_k_scroll_every_modal(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 18)) as pilot:
        await settle(pilot)
        await pilot.press("asterisk")
        screen = await open_plan(pilot, "ctrl+d")  # five names: longer than 80x18 allows
        body = screen.query_one(".dialog-scroll")
        await pilot.pause()
        assert body.max_scroll_y > 0
        await pilot.press("j", "j")
        assert body.scroll_y == 2
        await pilot.press("k")
        assert body.scroll_y == 1
        await pilot.press("G")
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("g")
        assert body.scroll_y == 0
        await pilot.press("n")
        await pilot.press("u")
        app.push_screen(ConfirmScreen("A question?", [f"line {n}" for n in range(40)]))
        await pilot.pause()
        body = app.screen.query_one(".dialog-scroll")
        await pilot.press("j")
        assert body.scroll_y == 1
        await pilot.press("n")
        move_to(app.dashboard.tables()[0], ANA_1)
        await pilot.press("enter")  # the detail: j scrolls, r is the raw JSON
        detail = app.screen
        assert isinstance(detail, DetailScreen)
        scroll = detail.query_one("#detail-scroll", VerticalScroll)
        await pilot.pause()
        assert scroll.max_scroll_y > 0
        await pilot.press("j")
        assert scroll.scroll_y == 1 and not detail.raw
        await pilot.press("r")
        assert detail.raw
        await pilot.press("escape")
        await pilot.press("question_mark")  # the help
        help_body = app.screen.query_one("#help-body", VerticalScroll)
        await pilot.pause()
        await pilot.press("j")
        assert help_body.scroll_y == 1
        await pilot.press("escape")


async def test_pickers_take_j_k_and_type_to_filter(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        picker = app.screen
        assert isinstance(picker, ResellerPicker)
        options = picker.query_one(ResellerList)
        assert options.chosen() == "__all__"
        await pilot.press("j")
        assert options.chosen() == "r-ana"
        await pilot.press("j", "k")
        assert options.chosen() == "r-ana"
        await pilot.press(*"zap")  # Bob Zap: a substring, case ignored
        assert options.option_count == 1 and options.chosen() == "r-bob"
        assert "filter: zap" in str(options.border_subtitle)
        await pilot.press("backspace", "backspace", "backspace")
        assert options.option_count == 3
        await pilot.press(*"nomatch")
        assert options.option_count == 0 and options.chosen() is None
        assert "no reseller matches" in str(options.border_subtitle)
        await pilot.press("escape")  # the first esc clears the filter ...
        assert options.option_count == 3 and app.screen is picker
        await pilot.press("slash", "j")  # `/` starts a filter where j is a letter
        assert options.filter_text == "j" and options.option_count == 0
        await pilot.press("escape", "escape")  # ... and the next cancels
        assert app.screen is app.dashboard
        await pilot.press("s")
        await pilot.press(*"ana", "enter")
        await settle(pilot)
        assert app.dashboard.view_scope == "r-ana"


async def test_bang_shows_orphans_only_and_is_documented(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = app.dashboard.tables()
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert set(instances.values) == {ANA_9, STRAY}
        assert {r.name for r in records.rows_by_key.values()} == {ANA_5, BOB_7}
        assert "orphans only" in str(instances.border_title)
        assert app.dashboard.progress.lines[-1].endswith("orphans only: on (both panes "
                                                          "show only orphan rows)")
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert len(instances.values) == 5
        await pilot.press("question_mark")
        assert "(orphans-only)" in str(app.screen.query_one(".dialog-body").render())
        await pilot.press("escape")
    readme = README.read_text()
    ids = set(re.findall(r"^\| `[^|]*` \| `([a-z-]+)`", readme, re.M)) | set(
        re.findall(r"^\| `[^|]*` \| `[a-z-]+` `([a-z-]+)`", readme, re.M))
    table_ids = set()
    for line in readme.splitlines():
        if line.startswith("| `") and "|" in line[3:]:
            table_ids.update(re.findall(r"`([a-z-]+)`", line.split("|")[2]))
    assert {binding_id for binding_id, _k, _d in help_rows()} <= table_ids | ids


async def test_the_help_prose_is_wrapped_once(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        screen = app.screen
        assert isinstance(screen, HelpScreen)
        static = screen.query_one(".dialog-body", Static)
        width = static.content_size.width
        text = str(static.render())
        for paragraph in HELP_PROSE:
            assert paragraph in text.split("\n")  # one line of the text, never broken by hand
        assert any(len(paragraph) > width for paragraph in HELP_PROSE)  # (else: no proof)
        # drawn at 80x24, each paragraph's lines fill the width but for its last line
        drawn = [strip.text.rstrip() for strip in static.render_lines(
            Region(0, 0, static.size.width, static.size.height))]
        for paragraph in HELP_PROSE:
            words = paragraph.split()
            first = next(i for i, line in enumerate(drawn) if line.split()[:3] == words[:3])
            end = first
            while " ".join(" ".join(drawn[first:end + 1]).split()) != " ".join(words):
                end += 1
                assert end < len(drawn), (paragraph, drawn[first:])
            for line in drawn[first:end]:  # (not the last)
                assert len(line) >= width - 16, (line, width)


def test_inflight_markers_read_whole_in_the_state_column():
    for what in [*(k.value for k in OperationKind), *(s.value for s in Step)]:
        assert len(inflight_word(what)) <= INFLIGHT_WIDTH, what
    from tests.test_app_support import _recon

    [row, _stray] = PaneModel().instance_rows(_recon(), {ANA_1: inflight_word("clear-all")})
    assert row.plain(2) == "» clear" and len(row.cells[2].plain) <= 11
    [row, _stray] = PaneModel().instance_rows(_recon(), {ANA_1: inflight_word("reprovision")})
    assert row.plain(2) == "» recreate" and len(row.cells[2].plain) <= 11


async def test_the_busy_rows_of_a_clear_all_read_whole_at_80_columns(seeded):
    sim, store = seeded
    sim.faults(latency_ms=150)
    rec = Recorder()
    app = make_app(make_service(sim, store, concurrency=1))
    async with app.run_test(size=(80, 24), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen)
                       and app.screen.plan is not None)
        await pilot.press(*"ALL", "enter")
        await wait_for(pilot, lambda: rec.of(OperationStarted))
        await pilot.pause()
        instances = app.dashboard.tables()[0]
        states = {instances.rows_by_key[k].plain(2) for k in instances.values}
        assert "» clear" in states, states
        assert not any(s.endswith("…") for s in states), states
        sim.faults(latency_ms=0)
        await settle(pilot, 30)
