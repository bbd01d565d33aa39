"""`RunningOperations`: the lifecycle operations the dashboard has running.

Owns each running operation (`RunningOperation`: its info, cancel event, the targets the
service reported done), the workers that run them (group `mutations`, never exclusive; a
sink turns every `StepEvent` into a `StepReported` message on the app loop), the handlers of
`OperationStarted` / `StepReported` / `OperationFinished` / `OperationFailed`, the in-flight
marker of each busy name, the progress bar of bulk work, the QR codes a finished operation
shows, the worker error handler, and the keys that stop running work (escape cancels bulk
operations after a confirmation; quit asks first while something runs). What an operation
does is the service's alone: a target is finished when its `Step.DONE` event arrives.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from textual import work
from textual.widgets import Input
from textual.worker import Worker, WorkerState

from tui.app.messages import (
    OperationFailed,
    OperationFinished,
    OperationInfo,
    OperationStarted,
    RefreshFailed,
    StepReported,
)
from tui.app.screens.confirm import ConfirmScreen
from tui.app.screens.dashboard.base import one_line
from tui.app.screens.dashboard.refresh import RefreshLoop
from tui.app.screens.qr import PairingScreen
from tui.app.view import inflight_word
from tui.evolution.errors import EvolutionError
from tui.lifecycle.events import Step, StepEvent, Summary, TargetOutcome
from tui.lifecycle.scope import LifecycleError
from tui.store.errors import StoreError

BAR_EVERY_S = 0.2  # the progress bar follows the steps at most this often
PAIRING_MODALS = 3  # at most this many pairing modals after one operation (Q pairs the rest)

EXPECTED_ERRORS = (LifecycleError, EvolutionError, StoreError)
#: Runs one operation: (event sink, cancel event) -> its summary.
Runner = Callable[[Callable[[StepEvent], None], asyncio.Event], Awaitable[Summary]]


@dataclass
class RunningOperation:
    info: OperationInfo
    cancel: asyncio.Event
    records_by_name: dict[str, int]
    qr: bool = False
    done: set[str] = field(default_factory=set)
    started: set[str] = field(default_factory=set)  # targets the service reported on
    worker: Worker[None] | None = None
    # the kinds of steps the plan named per target, and those it has reported so far:
    # the bar moves with each finished step, not only with each finished target
    steps_by_name: dict[str, frozenset[Step]] = field(default_factory=dict)
    seen: dict[str, set[Step]] = field(default_factory=dict)
    summary: Summary | None = None  # once the service returned it

    def advance(self, event: StepEvent) -> None:
        """A target is done when the service says so (its `done` event)."""
        if not event.instance:
            return
        self.started.add(event.instance)
        if event.step is Step.DONE:
            self.done.add(event.instance)
        elif event.step in self.steps_by_name.get(event.instance, ()):
            self.seen.setdefault(event.instance, set()).add(event.step)

    def progress(self) -> float:
        """Targets done, plus the share of the planned steps each running target reported
        (at most 0.9 of a target until its `done` event)."""
        running = sum(min(0.9, len(seen) / max(1, len(self.steps_by_name.get(name, ()))))
                      for name, seen in self.seen.items() if name not in self.done)
        return len(self.done) + running

    @property
    def in_progress(self) -> int:
        """Targets started and not finished yet (they finish when the session stops)."""
        return len(self.started - self.done)


class RunningOperations(RefreshLoop):
    """The running lifecycle operations of `DashboardScreen` (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ops: dict[int, RunningOperation] = {}
        self._op_seq = 0
        self._bar_drawn = 0.0  # monotonic time the bar was last drawn from a step

    def busy(self) -> bool:
        return bool(self.ops)

    def _redraw(self) -> None:
        super()._redraw()
        self._draw_bar()  # the bar's latest steps, also when no step came after them

    def bulk_ops(self) -> list[RunningOperation]:
        return [op for op in self.ops.values() if op.info.bulk]

    # ------------------------------------------------------------------ start and run
    def start_operation(self, operation: str, names: list[str], run: Runner, *,
                        bulk: bool, total: int | None = None,
                        records_by_name: dict[str, int] | None = None,
                        steps_by_name: dict[str, frozenset[Step]] | None = None,
                        qr: bool = False, scope: str = "") -> RunningOperation:
        self._op_seq += 1
        info = OperationInfo(self._op_seq, operation, tuple(names),
                             total if total is not None else len(names), bulk, scope)
        if records_by_name is None:
            records_by_name = {n: len(self.obs.records_named(n)) if self.obs else 0
                               for n in names}
        op = RunningOperation(info, asyncio.Event(), records_by_name, qr=qr,
                              steps_by_name=steps_by_name or {})
        self.ops[info.op_id] = op
        for name in names:
            self.inflight[name] = inflight_word(operation)
        self.post_message(OperationStarted(info))
        op.worker = self.operation_worker(op, run)
        self.schedule_redraw()
        return op

    @work(group="mutations", exit_on_error=False)
    async def operation_worker(self, op: RunningOperation, run: Runner) -> None:
        """Runs one lifecycle call; its sink posts a message per event (on the app loop).
        Cancellation propagates (the service audits in `finally`)."""
        op_id = op.info.op_id

        def sink(event: StepEvent) -> None:
            self.post_message(StepReported(op_id, event))

        try:
            summary = await run(sink, op.cancel)
        except EXPECTED_ERRORS as exc:
            self.post_message(OperationFailed(op.info, one_line(exc)))
            return
        op.summary = summary  # the app prints it after a stop that ends the session
        self.post_message(OperationFinished(op.info, summary))

    # ------------------------------------------------------------------ what they report
    def on_operation_started(self, message: OperationStarted) -> None:
        info = message.info
        what = f" {len(info.names)} name(s)" if info.names else ""
        scope = f" · scope: {info.scope}" if info.scope else ""
        self.progress.write(f"{info.operation} started{what}{scope}")
        self._draw_bar()

    def on_step_reported(self, message: StepReported) -> None:
        event = message.event
        self.progress.step(event)
        op = self.ops.get(message.op_id)
        if op is not None and event.instance:
            op.advance(event)
            if event.instance in op.done:
                self.inflight.pop(event.instance, None)
            else:
                self.inflight[event.instance] = inflight_word(event.step.value)
        # the bar: at once when a target finished, else at most every BAR_EVERY_S (a
        # repaint per step took the event loop from the operation itself)
        now = time.monotonic()
        if event.step is Step.DONE or now - self._bar_drawn >= BAR_EVERY_S:
            self._bar_drawn = now
            self._draw_bar()
        self.schedule_redraw()

    def _draw_bar(self) -> None:
        bulk = self.bulk_ops()
        if not bulk:
            self.progress.hide_bar()
            return
        total = sum(op.info.total for op in bulk)
        done = sum(len(op.done) for op in bulk)
        label = " + ".join(op.info.operation for op in bulk)
        self.progress.show_bar(f"{label} {done}/{total}", total,
                               sum(op.progress() for op in bulk))

    def _end_operation(self, info: OperationInfo) -> RunningOperation | None:
        op = self.ops.pop(info.op_id, None)
        busy = {n for other in self.ops.values() for n in other.info.names}
        for name in info.names:
            if name not in busy:
                self.inflight.pop(name, None)
        self._draw_bar()
        self.request_refresh()
        return op

    def on_operation_finished(self, message: OperationFinished) -> None:
        op = self._end_operation(message.info)
        summary = message.summary
        self.progress.summary(summary)
        self.notify(summary.line(), title=summary.operation,
                    severity="information" if summary.ok else "error",
                    timeout=6 if summary.ok else 12)
        if op is not None and op.qr:
            # the pairing modal (a QR code kept fresh) of each new instance; a re-provision
            # creates without a QR code: the modal asks the service for one
            new = [t for t in summary.targets
                   if t.outcome in (TargetOutcome.CREATED, TargetOutcome.REPROVISIONED,
                                    TargetOutcome.PAIRING)
                   or (t.extra.get("qrcode") or {}).get("code")]
            for target in new[:PAIRING_MODALS]:
                # a create's code is under `qrcode`; a pair's is the result itself
                qrcode = target.extra.get("qrcode") or (
                    target.extra if target.outcome is TargetOutcome.PAIRING else {})
                self.app.push_screen(
                    PairingScreen(target.name, qrcode.get("code"), qrcode.get("pairing_code"),
                                  service=self.service, on_paired=self.request_refresh),
                    lambda _: self.request_refresh())
            if len(new) > PAIRING_MODALS:
                self.progress.write(f"{len(new) - PAIRING_MODALS} more new instances to pair: "
                                    "Q on their rows")

    def on_operation_failed(self, message: OperationFailed) -> None:
        self._end_operation(message.info)
        self.progress.error(f"{message.info.operation} failed: {message.error}")
        self.notify(message.error, title=f"{message.info.operation} failed", severity="error")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Unexpected worker errors become a notification and one progress line."""
        worker = event.worker
        if event.state is not WorkerState.ERROR:
            return
        error = one_line(worker.error) if worker.error else "unknown error"
        self.progress.error(f"{worker.group or worker.name} error: {error}")
        self.notify(error, title="error", severity="error")
        for op in list(self.ops.values()):
            if op.worker is worker:
                self._end_operation(op.info)
        if worker.group == "refresh":
            self.on_refresh_failed(RefreshFailed(error, self.clock()))

    # ------------------------------------------------------------------ stopping them
    def action_escape(self) -> None:
        """Close the filter (or clear it), else offer to cancel the running bulk work."""
        box = self.query_one("#filter", Input)
        if box.has_focus or (self.filter_text and not self.bulk_ops()):
            self.clear_filter()
            return
        running = self.bulk_ops()
        if not running:
            return
        names = ", ".join(op.info.operation for op in running)

        def answer(yes: bool | None) -> None:
            if yes:
                for op in running:
                    op.cancel.set()
                self.progress.write(f"cancelling {names}: running steps finish, the rest is "
                                    "skipped")

        self.app.push_screen(ConfirmScreen(
            f"Cancel the running {names}?",
            ["Targets already started finish their current step (and are reported);",
             "targets not started yet are skipped."], yes_label="Cancel it (y)"), answer)

    async def action_quit(self) -> None:
        if not self.ops:
            await self.quit_session()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.call_later(self.quit_session)

        running = ", ".join(op.info.operation for op in self.ops.values())
        in_progress = sum(op.in_progress for op in self.ops.values())
        self.app.push_screen(ConfirmScreen(
            f"Quit while {running} runs?",
            [f"The {in_progress} target(s) in progress finish (each within its own time",
             "budget); no new target starts. The summary is written to the audit log",
             "and printed when the dashboard closes; the exit code is 1."],
            yes_label="Quit (y)"), answer)
