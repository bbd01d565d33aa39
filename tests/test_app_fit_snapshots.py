"""Snapshots of the dashboard where it is tight (pytest-textual-snapshot, SYNC tests, the
seeded demo, a frozen clock, timers off): 80x24 with marked rows, the delete confirmation
of every row at 80x24 (its Yes / No buttons on screen, its list scrolling), the stacked
panes at 100x30, the clear-all modal under NO_COLOR (its checkbox reads `[x]`), and at
80x24: the adopt plan naming the reseller chosen, the create form with its plan, the help,
and the footer of the focused progress log.

Nothing here mutates the demo: every modal is answered No (or not at all)."""

from __future__ import annotations

from tests.test_app_snapshots import build, demo, names  # noqa: F401 - `demo` is a fixture
from tests.test_app_support import settle, wait_for
from tui.app.screens.confirm import ClearAllScreen, PlanConfirmScreen
from tui.app.screens.pickers import CreateScreen, ResellerPicker

NARROW = (80, 24)
MEDIUM = (100, 30)


def test_dashboard_80x24_with_marked_rows(snap_compare, demo):  # noqa: F811
    async def run_before(pilot):
        await settle(pilot)
        table = pilot.app.dashboard.tables()[0]
        for name in names(demo, "zaplink_")[:3]:
            table.move_cursor(row=table.get_row_index(name))
            await pilot.press("space")
        table.move_cursor(row=0)
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=NARROW, run_before=run_before)


def test_delete_of_every_row_at_80x24_keeps_its_buttons(snap_compare, demo):  # noqa: F811
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("asterisk")  # mark all 36
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PlanConfirmScreen)
                       and pilot.app.screen.plan is not None)
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=NARROW, run_before=run_before)


def test_dashboard_100x30_stacks_the_panes(snap_compare, demo):  # noqa: F811
    assert snap_compare(build(demo), terminal_size=MEDIUM, run_before=settle)


def test_clear_all_at_80x24_without_colour(snap_compare, demo, monkeypatch):  # noqa: F811
    monkeypatch.setenv("NO_COLOR", "1")  # read (and popped) by App.__init__

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ClearAllScreen))
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.include_attributed and not screen.planning)
        await pilot.pause()

    app = build(demo, reseller="r-zap")
    assert app.no_color
    assert snap_compare(app, terminal_size=NARROW, run_before=run_before)


def test_adopt_plan_at_80x24_names_the_reseller_chosen(snap_compare, demo):  # noqa: F811
    """`a` on an orphan instance, ZapLink typed into the picker: the plan says `for reseller
    ZapLink` and `insert the record`, nothing of a delete."""
    async def run_before(pilot):
        await settle(pilot)
        table = pilot.app.dashboard.tables()[0]
        table.move_cursor(row=table.get_row_index("teste_bot"), animate=False)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResellerPicker))
        await pilot.press(*"zap", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, PlanConfirmScreen)
                       and pilot.app.screen.plan is not None)
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=NARROW, run_before=run_before)


def test_create_form_at_80x24_shows_its_plan(snap_compare, demo):  # noqa: F811
    """The create form is the one confirmation: the plan of the highlighted reseller."""
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, CreateScreen)
                       and pilot.app.screen.plan is not None)
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=NARROW, run_before=run_before)


def test_help_at_80x24_reads_as_written(snap_compare, demo):  # noqa: F811
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.press("G")  # the prose, at the end
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=NARROW, run_before=run_before)


def test_progress_log_focused_at_80x24_shows_only_its_keys(snap_compare, demo):  # noqa: F811
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=NARROW, run_before=run_before)
