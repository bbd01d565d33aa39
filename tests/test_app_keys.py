"""Pilot tests of the operator's keys (k9s / lazydocker habits) against the real simulator
and the real Mongo-wire store: vim motions, sort by column (indicator, stable across a
refresh), unmark all, copy name / phone, the accent-, case- and phone-aware filter, the
footer of the current context, one-line reasons for refused keys (read-only, wrong row),
the help (keys as typed, grouped, scrolls at 80x24) and keys typed before the first
refresh ended (type-ahead)."""

from __future__ import annotations

import pytest
from textual import events
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Input, RichLog

from tests.test_app_support import (
    ANA_1,
    ANA_2,
    ANA_5,
    ANA_9,
    BOB_1,
    BOB_7,
    STRAY,
    make_app,
    make_service,
    move_to,
    seed,
    settle,
    wait_for,
)
from tui.app.screens.confirm import PlanConfirmScreen
from tui.app.screens.help import HelpScreen
from tui.app.widgets.footer import KeyFooter, fit_entries


@pytest.fixture
async def seeded(sim, store):
    await seed(sim, store)
    return sim, store


def tables(app):
    return app.dashboard.tables()


def title_of(table) -> str:
    return Content.from_markup(table.border_title).plain


def order(table) -> list[str]:
    return [table.rows_by_key[k].name for k in table.values]


def cursor_name(table) -> str | None:
    row = table.cursor_pane_row()
    return row.name if row else None


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def footer_actions(app) -> set[str]:
    """The actions the footer shows now, at its width."""
    footer = app.dashboard.query_one(KeyFooter)
    return {e.action for e in fit_entries(app.dashboard.footer_entries(), footer.size.width)}


def footer_text(app) -> str:
    footer = app.dashboard.query_one(KeyFooter)
    return "".join(f" {e.keys} {e.label} "
                   for e in fit_entries(app.dashboard.footer_entries(), footer.size.width))


def record_key(records, name: str) -> str:
    return next(k for k, r in records.rows_by_key.items() if r.name == name)


# ------------------------------------------------------------------------------ motions
async def test_j_k_g_G_move_the_cursor_of_the_focused_pane(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        names = order(instances)
        assert instances.cursor_row == 0
        await pilot.press("j", "j")
        assert cursor_name(instances) == names[2]
        await pilot.press("k")
        assert cursor_name(instances) == names[1]
        await pilot.press("G")
        assert cursor_name(instances) == names[-1]
        await pilot.press("g")
        assert cursor_name(instances) == names[0]
        await pilot.press("tab", "j")  # the records pane moves, the instances one does not
        assert records.cursor_row == 1 and instances.cursor_row == 0


async def test_l_focuses_the_progress_log_which_scrolls_by_keys_and_esc_returns(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        dash = app.dashboard
        for i in range(60):
            dash.progress.write(f"line {i}")
        await pilot.pause()
        await pilot.press("l")
        log = dash.query_one("#progress-log", RichLog)
        assert log.has_focus
        await pilot.press("g")
        await pilot.pause()
        assert log.scroll_y == 0
        await pilot.press("j", "j")
        await pilot.pause()
        assert log.scroll_y == 2
        await pilot.press("G")
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y > 2
        instances, _ = tables(app)
        before = instances.cursor_row
        await pilot.press("escape")
        assert instances.has_focus and instances.cursor_row == before
        await pilot.press("l", "tab")
        assert instances.has_focus


# ------------------------------------------------------------------------------ sort
async def test_o_sorts_by_the_next_column_with_an_indicator_and_O_reverses(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, _ = tables(app)
        default = order(instances)
        await pilot.press("o")  # name
        assert order(instances) == default
        assert title_of(instances).endswith("· sorted by name ▲")
        assert str(instances.columns[next(iter(k for k in instances.columns
                                               if k.value == "name"))].label) == "Name ▲"
        await pilot.press("O")
        assert order(instances) == default[::-1]
        assert title_of(instances).endswith("· sorted by name ▼")
        await pilot.press("o")  # state (the direction resets to ascending)
        states = [instances.rows_by_key[k].plain(2) for k in instances.values]
        assert states == sorted(states) and "sorted by state ▲" in title_of(instances)
        labels = {k.value: str(c.label) for k, c in instances.columns.items()}
        assert "▲" in labels["state"] and "▲" not in labels["name"]
        for _ in range(4):  # reseller, owner number, profile, then no sort
            await pilot.press("o")
        assert "sorted" not in title_of(instances)
        assert order(instances) == default
        assert not any("▲" in str(c.label) or "▼" in str(c.label)
                       for c in instances.columns.values())


async def test_a_sort_survives_a_refresh_with_marks_and_cursor_on_the_same_key(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, _ = tables(app)
        await pilot.press("o", "O")  # name, descending
        descending = order(instances)
        move_to(instances, ANA_2)
        await pilot.press("space")  # marks ANA_2, the cursor moves on
        at = cursor_name(instances)
        # a change the in-place fast path would take: ANA_1 open -> close
        assert sim.request("DELETE", f"/instance/logout/{ANA_1}").status_code == 200
        await pilot.press("r")
        await settle(pilot)
        assert instances.rows_by_key[ANA_1].plain(2) == "close"  # refreshed
        assert order(instances) == descending
        assert instances.marks == {ANA_2} and cursor_name(instances) == at
        await pilot.press("o")  # by state: the changed value moves its row
        states = [instances.rows_by_key[k].plain(2) for k in instances.values]
        assert states == sorted(states)
        assert sim.request("GET", f"/instance/connect/{ANA_1}").status_code == 200
        await pilot.press("r")
        await settle(pilot)
        states = [instances.rows_by_key[k].plain(2) for k in instances.values]
        assert states == sorted(states), "a refresh while sorted keeps the sort"
        assert instances.marks == {ANA_2} and cursor_name(instances) == at


# ------------------------------------------------------------------------------ marks
async def test_u_unmarks_all_and_says_how_many(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        assert "unmark_all" not in footer_actions(app)  # nothing marked: not offered
        await pilot.press("asterisk")
        assert len(instances.marks) == 5
        assert "unmark_all" in footer_actions(app)
        await pilot.press("u")
        assert instances.marks == set()
        assert all(v[0].plain == " " for v in instances.values.values())
        assert "instances: unmarked 5 rows" in app.dashboard.progress.lines[-1]
        assert "Evolution instances (5)" in title_of(instances)
        await pilot.press("u")  # nothing marked: one line says so
        await pilot.pause()
        assert toasts(app)[-1] == "nothing is marked"


# ------------------------------------------------------------------------------ copy
async def test_y_copies_the_name_and_Y_the_phone_of_the_cursor_row(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        move_to(instances, ANA_1)
        await pilot.press("y")
        assert app.clipboard == ANA_1
        await pilot.pause()
        assert toasts(app)[-1] == f"copied {ANA_1}"
        await pilot.press("Y")
        assert app.clipboard == "5511911110001"
        move_to(instances, STRAY)
        await pilot.press("Y")
        await pilot.pause()
        assert app.clipboard == "5511911110001"  # unchanged
        assert toasts(app)[-1] == f"no phone number known for {STRAY}"
        # the records pane: a linked record's phone is its instance's owner number
        await pilot.press("tab")
        move_to(records, record_key(records, ANA_1))
        await pilot.press("Y")
        assert app.clipboard == "5511911110001"


# ------------------------------------------------------------------------------ filter
async def test_the_filter_ignores_accents_and_case_and_finds_phone_digits(sim, store):
    sim.seed([{"name": "joão_loja", "state": "open", "owner": "5511911110001@s.whatsapp.net"},
              {"name": "JOAO_2", "state": "close"},
              {"name": "maria", "state": "open", "owner": "5521988887777@s.whatsapp.net"}])
    await store._resellers.insert_many([{"id": "r-1", "name": "Açaí Telecom"}])
    await store.insert_record("r-1", "maria", status="connected")
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        dash = app.dashboard

        async def filtered(text: str) -> set[str]:
            dash.set_filter(text)
            await pilot.pause()
            return {r.name for r in instances.rows_by_key.values()}

        assert await filtered("joao") == {"joão_loja", "JOAO_2"}
        assert await filtered("JOÃO") == {"joão_loja", "JOAO_2"}
        assert await filtered("acai") == {"maria"}  # the reseller column, accents off
        assert await filtered("11 91111-0001") == {"joão_loja"}  # phone punctuation
        assert await filtered("+55 (21) 98888-7777") == {"maria"}
        assert await filtered("9888") == {"maria"}
        assert await filtered("joao 9") == set()  # not a phone: a plain substring
        assert await filtered("") == {"joão_loja", "JOAO_2", "maria"}
        # typed in the box (keys), the same
        await pilot.press("slash", *"LOJA", "enter")
        await pilot.pause()
        assert {r.name for r in instances.rows_by_key.values()} == {"joão_loja"}
        assert title_of(instances).endswith("Evolution instances (1/3) · filter: LOJA")


async def test_the_filter_keeps_control_characters_as_visible_escapes(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        box = app.dashboard.query_one("#filter", Input)
        await pilot.press("slash")
        box.post_message(events.Paste("ana\x1b[2J"))
        await pilot.pause()
        assert app.dashboard.filter_text == "ana\\x1b[2J"


# ------------------------------------------------------------------------------ footer
async def test_the_footer_shows_the_keys_of_the_row_under_the_cursor(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        move_to(instances, ANA_1)
        await pilot.pause()
        shown = footer_actions(app)
        assert {"delete", "filter", "help", "quit", "mark", "sort", "copy_name"} <= shown
        assert not shown & {"adopt", "forget", "reprovision", "unmark_all"}
        move_to(instances, ANA_9)
        await pilot.pause()
        assert "adopt" in footer_actions(app)
        await pilot.press("tab")
        move_to(records, record_key(records, ANA_5))  # orphan record, name absent
        await pilot.pause()
        assert {"forget", "reprovision"} <= footer_actions(app)
        move_to(records, record_key(records, BOB_7))  # orphan record, name reserved
        await pilot.pause()
        assert not footer_actions(app) & {"forget", "reprovision", "adopt"}
        keys = footer_text(app)
        assert " / Filter " in keys and "slash" not in keys


async def test_the_footer_hides_mutations_in_read_only_mode(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store, read_only=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], ANA_9)
        await pilot.pause()
        shown = footer_actions(app)
        assert not shown & {"delete", "create", "adopt", "clear_all", "forget"}
        assert {"filter", "help", "copy_name"} <= shown


# ------------------------------------------------------------------------------ reasons
async def test_read_only_keys_say_why_in_one_line(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store, read_only=True))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], ANA_1)
        for key, label in (("ctrl+d", "delete"), ("c", "create"), ("X", "clear-all"),
                           ("a", "adopt")):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.dashboard
            assert toasts(app)[-1] == f"read-only session: {label} is disabled"
        assert ANA_1 in {i["name"] for i in sim.state()["instances"]}


async def test_wrong_row_keys_say_why_in_one_line(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        move_to(instances, ANA_1)
        await pilot.press("a")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert toasts(app)[-1] == f"adopt works on an orphan instance (cursor: {ANA_1} is linked)"
        await pilot.press("tab")
        move_to(records, record_key(records, BOB_7))
        for key, what in (("f", "forget"), ("R", "re-provision")):
            await pilot.press(key)
            await pilot.pause()
            assert app.screen is app.dashboard
            assert toasts(app)[-1] == (
                f"{what} works on an orphan record whose name is absent on Evolution "
                f"(cursor: {BOB_7} is an orphan record (reserved on Evolution))")
        move_to(records, record_key(records, BOB_1))
        await pilot.press("f")
        await pilot.pause()
        assert toasts(app)[-1].endswith(f"(cursor: {BOB_1} is linked)")


# ------------------------------------------------------------------------------ help
async def test_help_shows_keys_as_typed_grouped_with_navigation(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    app.set_keymap({"delete": "ctrl+x"})
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one(".dialog-body").render())
        for group in ("Navigation", "View", "Marks", "Copy", "Mutations", "Other"):
            assert f"\n{group}\n" in f"\n{text}"
        for word in ("slash", "asterisk", "question_mark", "colon"):
            assert word not in text.replace("(", " ").split()
        lines = text.splitlines()

        def line_of(binding_id: str) -> str:
            return next(line for line in lines if line.endswith(f"({binding_id})"))

        assert line_of("filter").split()[0] == "/"
        assert line_of("mark-all").split()[0] == "*"
        assert line_of("help").split()[0] == "?"
        assert line_of("delete").split()[0] == "ctrl+x"  # the remapped key
        assert line_of("down").split()[0] == "j" and line_of("bottom").split()[0] == "G"
        assert "pgup / pgdn" in text
        await pilot.press("escape")
        assert app.screen is app.dashboard


async def test_help_scrolls_at_80x24_to_its_last_line(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        body = app.screen.query_one("#help-body", VerticalScroll)
        assert body.has_focus and body.max_scroll_y > 0  # more than fits: it scrolls
        await pilot.press("j", "j", "j")
        await pilot.pause()
        assert body.scroll_y == 3
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 3
        await pilot.press("G")
        await pilot.pause()
        assert body.scroll_y == body.max_scroll_y
        await pilot.press("q")
        assert app.screen is app.dashboard


# ------------------------------------------------------------------------------ type-ahead
def type_keys(app, keys: list[tuple[str, str | None]]) -> None:
    """Keys as a terminal sends them: all queued at once, before any is handled."""
    for key, char in keys:
        app.post_message(events.Key(key, char))


async def test_keys_typed_at_once_after_start_reach_the_filter(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        # the first refresh is still running: nothing has settled yet
        type_keys(app, [("slash", "/"), ("b", "b"), ("o", "o"), ("b", "b")])
        await settle(pilot)
        assert app.dashboard.filter_text == "bob"
        assert app.dashboard.sorts == {}  # `o` was typed into the box, not a sort
        assert {r.name for r in tables(app)[0].rows_by_key.values()} == {BOB_1}
        # an Enter typed while the terminal was still in line mode arrives as a line feed
        type_keys(app, [("ctrl+j", None), ("y", "y")])
        await settle(pilot)
        assert tables(app)[0].has_focus and app.clipboard == BOB_1


async def test_keys_typed_ahead_of_a_modal_go_to_the_modal(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], STRAY)
        # ctrl+d then y at once: y must answer the confirmation, not copy a name
        type_keys(app, [("ctrl+d", None)])
        await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.press("escape")
        await settle(pilot)
        type_keys(app, [("slash", "/"), *[(c, c) for c in "stray"], ("enter", None),
                        ("j", "j"), ("y", "y")])
        await settle(pilot)
        assert app.dashboard.filter_text == "stray"
        assert app.clipboard == STRAY and tables(app)[0].has_focus


async def test_keys_held_before_the_dashboard_mounts_are_replayed_in_order(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    app._held_keys = [events.Key("slash", "/"), events.Key("a", "a"),
                      events.Key("n", "n"), events.Key("a", "a")]
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await wait_for(pilot, lambda: app._held_keys is None)
        await settle(pilot)
        assert app.dashboard.filter_text == "ana"
        assert app.screen is app.dashboard


async def test_mark_all_and_delete_with_confirm_by_keys(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, _ = tables(app)
        await pilot.press("slash", *"stray", "enter")
        await pilot.pause()
        assert list(instances.values) == [STRAY]
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.press("y")
        await settle(pilot)
        assert STRAY not in {i["name"] for i in sim.state()["instances"] if i["in_memory"]}
        assert ANA_9 in instances.rows_by_key or True


async def test_a_remapped_key_refused_on_the_wrong_row_still_says_why(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    app.set_keymap({"adopt": "ctrl+o"})
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], ANA_2)
        await pilot.press("a")  # no longer bound: nothing, and no reason
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert toasts(app) == [f"adopt works on an orphan instance (cursor: {ANA_2} is linked)"]
        move_to(tables(app)[0], ANA_9)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: app.screen is not app.dashboard)  # the reseller picker


async def test_copy_says_so_literally_and_copies_the_name_as_it_is(sim, store):
    name = "evil\x1b]0;pwned\x07_1"
    sim.seed([{"name": name, "state": "close"}])
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == name  # the data itself (OSC 52 sends it base64-encoded)
        assert toasts(app)[-1] == "copied evil\\x1b]0;pwned\\x07_1"
