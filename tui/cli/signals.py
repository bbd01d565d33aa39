"""Stopping a running operation on SIGINT, SIGTERM or SIGHUP (an SSH drop).

Around `LifecycleService.run` only (`RunStopper.installed`), the three signals are handled by
the event loop: the first one sets the run's `cancel` event - no new target starts, the
targets in progress finish, the summary is printed and the command exits 128 + the signal
number; a second one (any of the three) cancels the run task at once (the service still
writes its audit). The previous handlers are put back when the run ends.

`delete`, `clear-all` and `reprovision` stop on the `cancel` event themselves. The others
(`forget` walks its names one by one without looking at it; `create` and `adopt` have one
target) are stopped by cancelling the run task right after a target finished, when targets
remain: the cancellation lands where the next target would start. (Not at once: a mutation
of theirs may be in flight before any event says so.)
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from tui.cli.exits import signal_exit
from tui.lifecycle.events import (
    EventSink,
    Step,
    StepEvent,
    StepOutcome,
    Summary,
    TargetOutcome,
    TargetResult,
)
from tui.lifecycle.domain import Skip, SkipCause
from tui.lifecycle.plans import Plan

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
# operations whose service run starts no new target once its `cancel` event is set
HONOURS_CANCEL = frozenset({"delete", "clear-all", "reprovision", "forget"})


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class RunStopper:
    """The signal handling of one run: a `cancel` event for the service, a sink wrapper that
    remembers which targets finished, and the exit code / summary after a signal."""

    def __init__(self, plan: Plan, notice: Callable[[str], None]):
        self.plan = plan
        self.operation = plan.operation
        self.notice = notice
        self.cancel = asyncio.Event()
        self.signum: int | None = None
        self.second: int | None = None  # the signal that stopped the run at once
        self.hard = False  # the run task was cancelled (second signal)
        self.cut = False  # the run task was cancelled between two targets
        self.task: asyncio.Future | None = None
        self._done: list[StepEvent] = []
        self._started: dict[str, str] = {}  # target -> its last step, for targets that began
        self._records: Counter[str] = Counter()
        self._since = time.monotonic()

    # ------------------------------------------------------------------ events
    def watch(self, sink: EventSink) -> EventSink:
        def watched(event: StepEvent) -> None:
            if event.step is Step.DONE:
                self._done.append(event)
            elif event.instance:
                self._started[event.instance] = f"{event.step.value} {event.outcome.value}"
                if event.step is Step.RECORD and event.outcome is StepOutcome.OK:
                    self._records[event.instance] += 1
            try:
                sink(event)
            finally:
                if event.step is Step.DONE:
                    self._maybe_cut()
        return watched

    @property
    def remaining(self) -> int:
        return max(0, len(self.plan.targets) - len(self._done))

    def _maybe_cut(self) -> None:
        """For an operation that does not look at `cancel`: once stopping, cancel the run
        task at a target boundary, while targets remain."""
        if (self.signum is not None and not self.hard and not self.cut
                and self.operation not in HONOURS_CANCEL and self.remaining > 0
                and self.task is not None and not self.task.done()):
            self.cut = True
            self.task.cancel()

    # ------------------------------------------------------------------ signals
    def _on_signal(self, signum: int) -> None:
        name = signal_name(signum)
        if self.signum is None:
            self.signum = signum
            self.cancel.set()
            self.notice(f"{name} received: stopping - what is in progress finishes, nothing "
                        f"new starts (a second signal stops at once)")
        elif not self.hard:
            self.hard, self.second = True, signum
            self.notice(f"{name} received again: stopping at once (what was interrupted is "
                        f"in the audit log)")
            if self.task is not None and not self.task.done():
                self.task.cancel()

    @contextmanager
    def installed(self, task: asyncio.Future) -> Iterator[RunStopper]:
        """Handle the stop signals while `task` (the run) is awaited; restore after."""
        self.task = task
        self._since = time.monotonic()
        with stop_signals_to(self._on_signal):
            yield self

    async def wait(self) -> Summary:
        """The run's summary; after a hard stop, the one put together from its events."""
        assert self.task is not None
        try:
            return await self.task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if (self.hard or self.cut) and self.task.cancelled() and not (
                    current is not None and current.cancelling()):
                return self.interrupted_summary()
            raise

    # ------------------------------------------------------------------ results
    @property
    def exit_code(self) -> int | None:
        return None if self.signum is None else signal_exit(self.signum)

    def interrupted_summary(self) -> Summary:
        """What is known of a run whose task was cancelled: the finished targets' outcomes,
        the interrupted ones (state unknown), the ones never started."""
        plan = self.plan
        summary = Summary(self.operation, str(plan.scope), notes=list(plan.notes),
                          elapsed_s=time.monotonic() - self._since)
        finished: dict[str, TargetResult] = {}
        for event in self._done:
            result = event.result or TargetResult(event.instance,
                                                  event.done or TargetOutcome.FAILED)
            finished[event.instance] = result
            summary.targets.append(result)
        for target in plan.targets:
            if target.name in finished:
                continue
            if target.name in self._started:
                summary.targets.append(TargetResult(
                    target.name, TargetOutcome.FAILED,
                    f"interrupted after '{self._started[target.name]}': its state is unknown "
                    f"(see evodash report)", target.reseller_id,
                    records_removed=self._records.get(target.name, 0)))
            else:
                summary.targets.append(TargetResult(
                    target.name, TargetOutcome.SKIPPED, reseller_id=target.reseller_id,
                    records_kept=len(target.records),
                    skip=Skip(SkipCause.NOT_STARTED, detail="operation stopped")))
        summary.cancelled = summary.not_started > 0
        return summary

    def finish(self, summary: Summary) -> None:
        """Note on `summary` (as shown, not as audited) the signal that stopped the run."""
        if self.signum is None:
            return
        # `cancelled`: as the service means it - a target was kept from starting
        summary.cancelled = summary.cancelled or summary.not_started > 0
        note = f"stopped by {signal_name(self.signum)}"
        if self.hard and self.second is not None:
            note += f", then at once by {signal_name(self.second)}"
        elif self.cut:
            note += " after the target in progress"
        else:
            note += " after the targets in progress"
        summary.notes.append(note)


@contextmanager
def stop_signals_to(handler: Callable[[int], None]) -> Iterator[None]:
    """While inside, the stop signals (`STOP_SIGNALS`) call `handler(signum)` on the running
    loop; the handlers before are restored after. Where a signal cannot be handled (not the
    main thread, no such signal here) its default handling stays."""
    loop = asyncio.get_running_loop()
    previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
    for signum in STOP_SIGNALS:
        try:
            before = signal.getsignal(signum)
            loop.add_signal_handler(signum, handler, signum)
        except (ValueError, RuntimeError, NotImplementedError, OSError):
            continue
        previous[signum] = before
    try:
        yield
    finally:
        for signum, before in previous.items():
            try:
                loop.remove_signal_handler(signum)
                if before is not None:
                    signal.signal(signum, before)
            except (ValueError, RuntimeError, OSError):
                pass
