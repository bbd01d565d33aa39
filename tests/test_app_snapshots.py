"""Snapshot tests of the dashboard (pytest-textual-snapshot, SYNC tests): the seeded demo
(`tui.demo.runtime.DemoEnvironment`) at fixed sizes, a frozen clock, timers off.

Nothing here mutates the demo: progress and summary snapshots feed fixed events through the
same messages a real operation posts, so their times are deterministic.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from tests.test_app_support import FROZEN, settle, wait_for
from tui.app.app import EvodashApp
from tui.app.screens.confirm import ClearAllScreen
from tui.app.view import natural_key
from tui.cli.dashboard import dashboard_info
from tui.cli.wiring import build_services
from tui.demo.runtime import DemoEnvironment
from tui.lifecycle.events import (
    Step,
    StepEvent,
    StepOutcome,
    Summary,
    TargetOutcome,
    TargetResult,
)

WIDE = (160, 45)
NARROW = (80, 24)


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoEnvironment]:
    with DemoEnvironment(server_url="http://evolution.demo:8080") as env:
        yield env


def build(demo: DemoEnvironment, *, reseller: str | None = None,
          read_only: bool = False) -> EvodashApp:
    services = build_services(demo.settings, reseller=reseller, read_only=read_only)
    info = dataclasses.replace(dashboard_info(demo.settings, reseller, read_only),
                               evolution_host="evolution.demo:8080")  # the port is random
    return EvodashApp(services.service, info, clock=lambda: FROZEN, auto_refresh=False)


def names(demo: DemoEnvironment, prefix: str) -> list[str]:
    """Listed instance names of the demo that start with `prefix`, in pane order."""
    return sorted((i["name"] for i in demo.data.instances
                   if i["name"].startswith(prefix) and not i.get("ghost")), key=natural_key)


def test_dashboard_wide(snap_compare, demo):
    assert snap_compare(build(demo), terminal_size=WIDE, run_before=settle)


def test_dashboard_80x24(snap_compare, demo):
    assert snap_compare(build(demo), terminal_size=NARROW, run_before=settle)


def test_filtered_view(snap_compare, demo):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("slash", *"maria", "enter")

    assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)


def test_delete_modal(snap_compare, demo):
    async def run_before(pilot):
        await settle(pilot)
        table = pilot.app.dashboard.tables()[0]
        for name in names(demo, "zaplink_")[:2]:
            table.move_cursor(row=table.get_row_index(name))
            await pilot.press("space")
        await pilot.press("ctrl+d")
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)


def test_clear_all_typed_confirmation_modal(snap_compare, demo):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ClearAllScreen))
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.press(*"AL")  # not yet the word: the action stays disabled

    assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)


def _events(targets: list[str]) -> list[StepEvent]:
    out = [StepEvent("clear-all", "", Step.PLAN, 0, StepOutcome.OK, 0.0,
                     f"{len(targets)} to remove, 0 skipped")]
    for i, name in enumerate(targets[:3]):
        t = 0.2 * i
        out += [StepEvent("clear-all", name, Step.DELETE, 1, StepOutcome.OK, t + 0.05),
                StepEvent("clear-all", name, Step.VERIFY, 1, StepOutcome.ABSENT, t + 0.4,
                          "absent after 0.35 s (3 probes)"),
                StepEvent("clear-all", name, Step.RECORD, 1, StepOutcome.OK, t + 0.45,
                          "record removed"),
                StepEvent("clear-all", name, Step.DONE, 0, StepOutcome.OK, t + 0.45,
                          "removed", done=TargetOutcome.REMOVED)]
    out.append(StepEvent("clear-all", targets[3], Step.LOGOUT, 1, StepOutcome.OK, 0.7))
    return out


def _start_clear_all(pilot, targets: list[str], finish: bool):
    dash = pilot.app.dashboard

    async def run(sink, cancel):
        for event in _events(targets):
            sink(event)
        if not finish:
            await asyncio.Event().wait()  # still running when the snapshot is taken
        summary = Summary("clear-all", "reseller:r-zap", elapsed_s=2.4)
        for name in targets:
            summary.targets.append(TargetResult(name, TargetOutcome.REMOVED, "", "r-zap", 1,
                                                records_removed=1))
        summary.targets[-1] = TargetResult(targets[-1], TargetOutcome.STUCK_RESERVED,
                                           "the server keeps the name reserved", "r-zap", 2,
                                           records_kept=1)
        return summary

    dash.start_operation("clear-all", targets, run, bulk=True, total=len(targets),
                         records_by_name={n: 1 for n in targets})


def test_progress_mid_clear_all(snap_compare, demo):
    async def run_before(pilot):
        await settle(pilot)
        _start_clear_all(pilot, names(demo, "zaplink_")[:8], finish=False)
        await wait_for(pilot, lambda: len(pilot.app.dashboard.progress.lines) >= 12)
        # while operations run the panes and the bar redraw at a bounded rate: wait for it
        await wait_for(pilot, lambda: not pilot.app.dashboard._redraw_pending)
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)


def test_summary(snap_compare, demo):
    async def run_before(pilot):
        await settle(pilot)
        _start_clear_all(pilot, names(demo, "zaplink_")[:5], finish=True)
        await settle(pilot)

    assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)


def test_detail_view(snap_compare, demo):
    async def run_before(pilot):
        await settle(pilot)
        table = pilot.app.dashboard.tables()[0]
        table.move_cursor(row=table.get_row_index("old-support-line"))
        await pilot.press("enter")
        await pilot.pause()

    assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)


def test_stale_after_the_server_went_away(snap_compare, demo):
    url = demo.settings.evolution.url

    async def run_before(pilot):
        await settle(pilot)
        httpx.post(f"{url}/_sim/faults", json={"error_rate": 1.0, "error_status": 502,
                                                "routes": ["fetchInstances"]})
        await pilot.press("r")
        await settle(pilot)

    try:
        assert snap_compare(build(demo), terminal_size=WIDE, run_before=run_before)
    finally:
        httpx.post(f"{url}/_sim/faults", json={"error_rate": 0.0, "routes": None})


def test_read_only_mode(snap_compare, demo):
    assert snap_compare(build(demo, read_only=True), terminal_size=WIDE, run_before=settle)


def test_no_color_still_marks_orphans_and_drift_in_text(snap_compare, demo, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")  # read (and popped) by App.__init__
    app = build(demo)
    assert app.no_color
    assert snap_compare(app, terminal_size=WIDE, run_before=settle)


def test_clear_all_modal_of_a_reseller_scope_offers_attributed_orphans(snap_compare, demo):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("X")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ClearAllScreen))
        screen = pilot.app.screen
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.include_attributed and not screen.planning)
        await pilot.pause()

    assert snap_compare(build(demo, reseller="r-zap"), terminal_size=WIDE,
                        run_before=run_before)


def test_reseller_scope(snap_compare, demo):
    assert snap_compare(build(demo, reseller="r-maria"), terminal_size=WIDE,
                        run_before=settle)
