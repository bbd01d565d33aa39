"""How a dashboard session ends, in process (the real simulator and Mongo-wire store; the
real processes, terminals and the demo are the fault matrix's `test_demo_dashboard_*`
cells): `q`, ctrl+c, SIGINT, SIGTERM and SIGHUP let the targets in progress finish, say what
they do, exit with the stated code and leave the summary to print; a second ctrl+c or
SIGTERM stops at once; a second SIGHUP does not."""

from __future__ import annotations

import os
import re
import signal

import pytest

from tests.test_app_support import (
    Recorder,
    make_app,
    make_service,
    seed,
    settle,
    wait_for,
)
from tui.app.messages import OperationFinished, StepReported
from tui.app.screens.confirm import ClearAllScreen, ConfirmScreen
from tui.lifecycle.events import TargetOutcome


@pytest.fixture
async def seeded(sim, store):
    await seed(sim, store)
    return sim, store


async def start_clear_all(pilot, rec: Recorder) -> None:
    """The clear-all of everything, under way (a target reported a step)."""
    await pilot.press("X")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ClearAllScreen))
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.plan is not None)
    await pilot.press(*"ALL", "enter")
    await wait_for(pilot, lambda: rec.of(StepReported) and any(
        op.in_progress for op in pilot.app.dashboard.ops.values()))


def finished_cleanly(rec: Recorder):
    """The one clear-all's summary: cancelled, started targets let finish (none cut off)."""
    [finished] = rec.of(OperationFinished)
    summary = finished.summary
    assert summary.cancelled and summary.not_started > 0
    started = [t for t in summary.targets if t.outcome is not TargetOutcome.SKIPPED]
    assert started
    assert not any("interrupted" in t.reason for t in started)
    return summary


def stopping_lines(app) -> list[str]:
    return [line for line in app.dashboard.progress.lines if "stopping" in line]


@pytest.mark.parametrize("how,code", [("SIGINT", 130), ("ctrl+c", 130), ("SIGHUP", 129)])
async def test_a_stop_mid_run_says_what_it_does_and_lets_started_targets_finish(
        how, code, seeded):
    sim, store = seeded
    sim.faults(latency_ms=150)
    rec = Recorder()
    app = make_app(make_service(sim, store, concurrency=1))
    async with app.run_test(size=(80, 24), message_hook=rec) as pilot:
        await settle(pilot)
        await start_clear_all(pilot, rec)
        if how == "ctrl+c":
            await pilot.press("ctrl+c")
        else:
            os.kill(os.getpid(), getattr(signal, how))
        await wait_for(pilot, lambda: stopping_lines(app))
        [said] = stopping_lines(app)
        # (a target that only holds its freed name gives up its slot: more than one may run)
        assert re.match(rf"{re.escape(how)}: stopping clear-all - [1-9]\d* target\(s\) in "
                        r"progress will finish, \d+ will not start; ", said.split(" ", 1)[1]), said
        assert f"then exit {code}" in said
        assert any("stopping clear-all" in n.message for n in app._notifications)  # a toast
        await wait_for(pilot, lambda: app._exit, timeout=40)
    assert app.return_value == code
    summary = finished_cleanly(rec)
    assert app.exit_lines[0] == summary.line()
    assert f"exit {code}" in app.exit_lines[-1]


async def test_ctrl_c_with_nothing_running_exits_130_at_once(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: app._exit)
    assert app.return_value == 130
    assert app.exit_lines == ["dashboard stopped by ctrl+c: nothing was running (exit 130)"]


async def test_quit_mid_run_asks_then_exits_1_with_the_summary(seeded):
    sim, store = seeded
    sim.faults(latency_ms=150)
    rec = Recorder()
    app = make_app(make_service(sim, store, concurrency=1))
    async with app.run_test(size=(80, 24), message_hook=rec) as pilot:
        await settle(pilot)
        await start_clear_all(pilot, rec)
        await pilot.press("q")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = " ".join(app.screen.lines)
        assert "in progress finish" in text and "exit code is 1" in text, text
        await pilot.press("y")
        await wait_for(pilot, lambda: app._exit, timeout=40)
    assert app.return_value == 1
    summary = finished_cleanly(rec)
    assert app.exit_lines[0] == summary.line()
    assert "quit while clear-all ran" in app.exit_lines[-1] and "exit 1" in app.exit_lines[-1]


async def test_a_second_sigterm_stops_at_once_a_second_sighup_does_not(seeded):
    sim, store = seeded
    sim.faults(latency_ms=300)
    rec = Recorder()
    app = make_app(make_service(sim, store, concurrency=1))
    async with app.run_test(size=(80, 24), message_hook=rec) as pilot:
        await settle(pilot)
        await start_clear_all(pilot, rec)
        os.kill(os.getpid(), signal.SIGHUP)
        await wait_for(pilot, lambda: stopping_lines(app))
        os.kill(os.getpid(), signal.SIGHUP)  # a terminal that went away may say so twice
        await pilot.pause(0.2)
        assert not any("at once" in line for line in app.dashboard.progress.lines)
        progress = app.dashboard.progress
        os.kill(os.getpid(), signal.SIGTERM)  # someone does want it to end now
        await wait_for(pilot, lambda: app._exit, timeout=40)
    assert app.return_value == 129  # the first signal named the exit code
    assert any("SIGTERM again: stopping at once" in line for line in progress.lines)
    assert app.exit_lines[0].startswith("clear-all: stopped at once; the audit log records")
    assert "were stopped at once" in app.exit_lines[-1]


async def test_the_session_notes_open_the_progress_log(seeded):
    """`DashboardInfo.notes` (under --demo: where its world is kept) is the first line."""
    sim, store = seeded
    app = make_app(make_service(sim, store), notes=("demo world ~/x · kept until --demo-reset",))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.dashboard.progress.lines[0].endswith(
            "demo world ~/x · kept until --demo-reset")
        await pilot.press("q")
        await wait_for(pilot, lambda: app._exit)
    assert app.return_value == 0

