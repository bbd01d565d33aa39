"""The dashboard fits its terminal and says every state in text (pilot tests, real simulator
and real Mongo-wire store): at 80x24 a delete of 36 marked rows keeps its Yes / No buttons
on screen and its list scrolls, the clear-all, detail and picker modals fit, the marked
count shows; at 100x30 the panes are stacked with State, Reseller and Status on screen; at
160x45 an orphan attribution `ORPHAN (Fabio Telecom?)` is whole; scrolling right keeps the
name; the focused pane and checkbox states read as text under NO_COLOR; toasts never cover
the progress pane, whose history scrolls from the keyboard."""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widgets import Button, Input, RichLog, Static
from textual.widgets._toast import Toast, ToastRack

from tests.test_app_support import make_app, make_service, move_to, settle, wait_for
from tui.app.screens.confirm import SCROLL_HINT, ClearAllScreen, PlanConfirmScreen
from tui.app.screens.detail import DetailScreen
from tui.app.screens.pickers import CreateScreen, ResellerPicker
from tui.app.view import INSTANCE_FIT, RECORD_FIT, fit_widths
from tui.app.widgets.checkbox import TextCheckbox
from tui.app.widgets.header import StatusHeader
from tui.app.widgets.panes import FOCUS_MARK, KeyedTable
from tui.lifecycle.scope import Scope
from tui.reconcile.naming import instance_name

FABIO = {"id": "r-fabio", "name": "Fabio Telecom"}
MARIA = {"id": "r-maria", "name": "María Peña-Águas"}
LINKED = [instance_name("Fabio Telecom", n, 1761316000 + n) for n in range(1, 31)]
ORPHAN = instance_name("Fabio Telecom", 99, 1761319999)  # attributed: ORPHAN (Fabio Telecom?)
MARIA_LINKED = [instance_name("María Peña-Águas", n, 1761317000 + n) for n in range(1, 5)]
STRAY = "old-support-line"
GONE = instance_name("Fabio Telecom", 77, 1761318888)  # orphan record, name absent
STATES = ("open", "close", "connecting")


async def seed_fit(sim, store) -> None:
    """36 instances (34 linked, an orphan attributed to Fabio Telecom, a stray) and 35
    records (one an orphan)."""
    instances = [{"name": name, "state": STATES[i % 3], "profileName": f"Loja {i}",
                  "owner": f"55119000{i:05d}@s.whatsapp.net" if i % 3 == 0 else None,
                  "token": f"TOKEN-{i:04d}"}
                 for i, name in enumerate(LINKED + MARIA_LINKED)]
    instances += [{"name": ORPHAN, "state": "close"}, {"name": STRAY, "state": "open"}]
    sim.seed([{k: v for k, v in i.items() if v is not None} for i in instances])
    await store._resellers.insert_many([dict(FABIO), dict(MARIA)])
    for i, name in enumerate(LINKED):
        await store.insert_record("r-fabio", name,
                                  status="connected" if i % 2 else "disconnected")
    for name in MARIA_LINKED:
        await store.insert_record("r-maria", name, status="connected")
    await store.insert_record("r-fabio", GONE, status="disconnected")


@pytest.fixture
async def fit_seeded(sim, store):
    await seed_fit(sim, store)
    return sim, store


SCREEN_80 = Region(0, 0, 80, 24)


def tables(app) -> tuple[KeyedTable, KeyedTable]:
    return app.dashboard.tables()


def key_of(table: KeyedTable, name: str) -> str:
    """The row key of `name` (records are keyed by their document id)."""
    return next(key for key, row in table.rows_by_key.items() if row.name == name)


def row_text(table: KeyedTable, name: str) -> str:
    """The row of `name` as the table draws it now (scrolled into view first)."""
    key = key_of(table, name)
    move_to(table, key)
    y = table.get_row_index(key) + 1 - int(table.scroll_y)  # + the header line
    return table.render_line(y).text


def title(widget) -> str:
    """The border title as drawn (plain text; the public getter gives markup)."""
    return widget._border_title.plain if widget._border_title is not None else ""


def header_text(app) -> str:
    return str(app.dashboard.query_one(StatusHeader).render())


def on_screen(widget, screen: Region) -> bool:
    region = widget.region
    return bool(region.area) and screen.contains_region(region)


def column_on_screen(table: KeyedTable, key: str) -> bool:
    """The column has a width and lies wholly inside the table's visible width."""
    x = 0
    for column in table.ordered_columns:
        if column.key.value == key:
            return column.width > 0 and x + column.width - int(table.scroll_x) <= \
                table.scrollable_content_region.width
        x += column.width
    raise KeyError(key)


# -- the fit itself (pure) --------------------------------------------------------------------
def test_fit_drops_the_least_useful_columns_first_and_never_the_kept_ones():
    wide = fit_widths(INSTANCE_FIT, 200)
    assert all(wide.values())  # room for every column
    drops = []
    for room in range(200, 40, -1):
        widths = fit_widths(INSTANCE_FIT, room)
        drops += [key for key, width in widths.items() if not width and key not in drops]
        for key in ("mark", "name", "link", "state"):
            assert widths[key] > 0, (room, key)
    assert drops == ["profile", "owner"]  # the last (least useful) first
    records = [fit_widths(RECORD_FIT, room) for room in range(200, 40, -1)]
    assert all(w["status"] and w["reseller"] and w["link"] and w["name"] for w in records)
    assert fit_widths(RECORD_FIT, 99)["created"] and not fit_widths(RECORD_FIT, 60)["created"]


def test_fit_fills_the_room_it_has_and_grows_the_most_useful_first():
    for room in range(74, 130):
        assert sum(fit_widths(INSTANCE_FIT, room).values()) <= max(room, 74)
    # side by side at 160 (77 cells a pane): the attribution column is wide enough for
    # " ORPHAN (Fabio Telecom?)" and the owner number stays
    at_160 = fit_widths(INSTANCE_FIT, 77)
    assert at_160["link"] >= len(" ORPHAN (Fabio Telecom?)") and at_160["owner"] == 14


# -- 80x24 ------------------------------------------------------------------------------------
async def test_80x24_delete_of_36_marked_rows_keeps_yes_and_no_on_screen_and_scrolls(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        instances, _records = tables(app)
        assert len(instances.values) == 36
        await pilot.press("asterisk")  # mark all
        await pilot.pause()
        assert len(instances.marks) == 36
        # the marked count, in text, where a stacked pane shows it: its title and the header
        assert "36 marked" in title(instances)
        assert "36 marked" in header_text(app)
        assert on_screen(app.dashboard.query_one(StatusHeader), SCREEN_80)
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanConfirmScreen)
                       and app.screen.plan is not None)
        await pilot.pause()
        screen = app.screen
        yes, no = screen.query_one("#yes", Button), screen.query_one("#no", Button)
        assert on_screen(yes, SCREEN_80) and on_screen(no, SCREEN_80)
        assert not yes.disabled
        dialog = screen.query_one("#dialog")
        assert dialog.region.contains_region(yes.region)
        body_text = str(screen.query_one("#plan-body", Static).render())
        assert all(name in body_text for name in LINKED + [ORPHAN, STRAY])  # every target
        body = screen.query_one(".dialog-scroll")
        assert body.max_scroll_y > 0 and body.scroll_y == 0
        assert dialog.border_subtitle == SCROLL_HINT  # said in text that it scrolls
        assert no.has_focus  # the default answer is still No
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0
        await pilot.press("down")
        await pilot.pause()
        before = body.scroll_y
        await pilot.press("up")
        await pilot.pause()
        assert body.scroll_y == before - 1
        assert on_screen(yes, SCREEN_80) and on_screen(no, SCREEN_80)  # still there
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, PlanConfirmScreen)
    assert ORPHAN in {i["name"] for i in sim.state()["instances"]}  # nothing deleted


async def test_80x24_clear_all_modal_fits_and_its_checkbox_reads_as_text(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store, scope=Scope.reseller("r-fabio")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen)
                       and app.screen.plan is not None)
        await pilot.pause()
        screen = app.screen
        box = screen.query_one("#include-attributed", TextCheckbox)
        for widget in (box, screen.query_one("#confirm-word", Input),
                       screen.query_one("#yes", Button), screen.query_one("#no", Button),
                       screen.query_one("#confirm-prompt")):
            assert on_screen(widget, SCREEN_80), widget
        assert box.render().plain.startswith("[ ] include attributed")
        assert box.state_text.startswith("[ ] ")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.include_attributed and not screen.planning)
        await pilot.pause()
        assert box.render().plain.startswith("[x] include attributed")
        assert ORPHAN in str(screen.query_one("#plan-body", Static).render())
        await pilot.press("escape")


async def test_80x24_detail_fits_and_scrolls_from_the_keyboard(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        move_to(tables(app)[0], LINKED[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
        await pilot.pause()
        screen = app.screen
        dialog = screen.query_one("#dialog")
        assert SCREEN_80.contains_region(dialog.region)
        assert on_screen(screen.query_one(".dialog-title"), SCREEN_80)
        assert on_screen(screen.query_one(".dialog-prompt"), SCREEN_80)
        body = screen.query_one("#detail-scroll")
        assert body.max_scroll_y > 0  # instance + record: longer than the screen
        await pilot.press("pagedown")
        await pilot.pause()
        assert body.scroll_y > 0
        await pilot.press("escape")


async def test_80x24_create_picker_fits(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CreateScreen))
        await pilot.pause()
        screen = app.screen
        for selector in ("#qr", "#yes", "#no", "#resellers", ".dialog-title"):
            assert on_screen(screen.query_one(selector), SCREEN_80), selector
        assert screen.query_one("#qr", TextCheckbox).render().plain.startswith("[x] ")
        await pilot.press("escape")


async def test_80x24_scope_picker_of_many_resellers_fits(fit_seeded):
    sim, store = fit_seeded
    await store._resellers.insert_many([{"id": f"r-{n:02d}", "name": f"Reseller {n}"}
                                        for n in range(30)])
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await wait_for(pilot, lambda: isinstance(app.screen, ResellerPicker))
        await pilot.pause()
        screen = app.screen
        options = screen.query_one("#resellers")
        for widget in (screen.query_one(".dialog-title"), screen.query_one(".dialog-prompt"),
                       options):
            assert on_screen(widget, SCREEN_80), widget
        assert options.max_scroll_y > 0  # 33 choices: the list scrolls
        await pilot.press("end")
        await pilot.pause()
        assert options.scroll_y == options.max_scroll_y
        await pilot.press("escape")


# -- 100x30 -----------------------------------------------------------------------------------
async def test_100x30_stacks_the_panes_and_shows_state_reseller_and_status(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = Region(0, 0, 100, 30)
        instances, records = tables(app)
        assert instances.region.y < records.region.y  # stacked
        assert instances.region.width == records.region.width == 100
        for table, keys in ((instances, ("name", "link", "state")),
                            (records, ("name", "link", "reseller", "status"))):
            assert on_screen(table, screen)
            for key in keys:
                assert column_on_screen(table, key), key
        assert "connecting" in row_text(instances, LINKED[2])
        line = row_text(records, LINKED[1])
        assert "Fabio Telecom" in line and "connected" in line
        assert "ORPHAN · absent" in row_text(records, GONE)


# -- 160x45 -----------------------------------------------------------------------------------
async def test_160x45_side_by_side_shows_the_whole_orphan_attribution(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        assert instances.region.y == records.region.y  # side by side
        assert "ORPHAN (Fabio Telecom?)" in row_text(instances, ORPHAN)
        maria = row_text(records, MARIA_LINKED[0])
        assert "María Peña-Águas" in maria  # reseller names whole here too
        for key in ("state",):
            assert column_on_screen(instances, key)
        for key in ("reseller", "status"):
            assert column_on_screen(records, key)


async def test_a_resize_refits_the_columns(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, _records = tables(app)
        assert instances.column_width("profile") == 0
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.pause()
        assert instances.column_width("profile") > 0  # stacked: room for it again
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert instances.column_width("profile") == 0
        assert "ORPHAN (Fabio Telecom?)" in row_text(instances, ORPHAN)


# -- scrolling right ----------------------------------------------------------------------------
async def test_scrolling_right_keeps_the_mark_and_name_columns(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(60, 24)) as pilot:
        await settle(pilot)
        _instances, records = tables(app)
        records.focus()
        await pilot.pause()
        move_to(records, key_of(records, GONE))
        await pilot.press("space")  # marked: the mark column must stay too
        move_to(records, key_of(records, GONE))
        await pilot.pause()
        assert records.max_scroll_x > 0  # 60 columns: the status is off to the right
        assert "disconnected" not in row_text(records, GONE)
        records.scroll_to(x=records.max_scroll_x, animate=False)
        await pilot.pause()
        assert records.scroll_x == records.max_scroll_x
        line = row_text(records, GONE)
        assert line.startswith(f"*{GONE}")  # the mark and the name did not move
        assert "disconnected" in line  # and the status scrolled into view
        header = records.render_line(0).text
        assert header.startswith(" Instance name") and "Status" in header


# -- text, not only colour --------------------------------------------------------------------
async def test_no_color_focused_pane_and_checkbox_read_as_text(fit_seeded, monkeypatch):
    sim, store = fit_seeded
    monkeypatch.setenv("NO_COLOR", "1")  # read (and popped) by App.__init__
    app = make_app(make_service(sim, store, scope=Scope.reseller("r-fabio")))
    assert app.no_color
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        instances, records = tables(app)
        assert title(instances).startswith(FOCUS_MARK)
        assert not title(records).startswith(FOCUS_MARK)
        await pilot.press("tab")
        await pilot.pause()
        assert records.has_focus
        assert title(records).startswith(FOCUS_MARK)
        assert not title(instances).startswith(FOCUS_MARK)
        await pilot.press("space")
        await pilot.pause()
        assert "1 marked" in title(records) and "1 marked" in header_text(app)
        assert records.render_line(1).text.startswith("*")  # the mark is a character
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(app.screen, ClearAllScreen)
                       and app.screen.plan is not None)
        screen = app.screen
        box = screen.query_one("#include-attributed", TextCheckbox)
        assert box.render().plain.startswith("[ ] ")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.include_attributed and not screen.planning)
        await pilot.pause()
        assert box.render().plain.startswith("[x] ")
        await pilot.press("escape")


async def test_the_progress_history_takes_the_focus_shows_it_and_scrolls(fit_seeded):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        pane = app.dashboard.progress
        for n in range(30):
            pane.write(f"line {n}")
        await pilot.pause()
        log = pane.query_one(RichLog)
        assert not title(pane).startswith("▶")
        await pilot.press("l")  # the dashboard's key for the progress log
        await pilot.pause()
        assert log.has_focus and title(pane).startswith("▶ Progress")
        for table in tables(app):
            assert not title(table).startswith(FOCUS_MARK)
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y  # follows the end
        await pilot.press("up", "up")
        await pilot.pause()
        assert log.scroll_y == log.max_scroll_y - 2
        await pilot.press("home")
        await pilot.pause()
        assert log.scroll_y == 0
        await pilot.press("escape")  # back to the panes
        await pilot.pause()
        assert title(pane) == "Progress"
        assert title(tables(app)[0]).startswith(FOCUS_MARK)
        pane.focus()  # (the widget's own focus goes to its history too)
        await pilot.pause()
        assert log.has_focus and title(pane).startswith("▶ Progress")


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (160, 45)])
async def test_toasts_never_cover_the_progress_pane(fit_seeded, size):
    sim, store = fit_seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(pilot)
        dashboard = app.dashboard
        dashboard.progress.show_bar("delete 1/9", 9, 1)  # busy: the pane at its tallest
        for n in range(6):
            app.notify(f"notice {n}: " + "a long line of text " * 6, timeout=30)
        rack = app.screen.get_child_by_type(ToastRack)
        await wait_for(pilot, lambda: len(rack.query(Toast)) == 6)
        await pilot.pause()
        await pilot.pause()
        progress = dashboard.progress.region
        assert progress.height >= 6
        seen = {str(t._notification.message)[:8]: app.screen.find_widget(t).visible_region
                for t in rack.query(Toast)}
        assert seen["notice 5"].area  # the newest is on screen
        for visible in seen.values():
            assert not visible.overlaps(progress), (visible, progress)
