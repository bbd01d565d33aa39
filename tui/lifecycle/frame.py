"""The run frame: what every operation's run shares, written once.

An operation's `run` gets a `RunFrame` and calls it around each target:
`gate` (cancelled? stopped?) → `claim` → `intent` (the write-ahead audit line; no mutation
without it) → the operation's own steps (`emit` for each) → `finish` (the outcome in the
audit log, the `done` event, the result in the summary). The frame owns the operation id,
the audit log's start and summary lines, the claims, cancellation and the stop that keeps
new targets from starting once the store, the audit log or the API key failed.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from types import TracebackType

from tui.lifecycle.audit import AuditError
from tui.lifecycle.claims import Claims
from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import Skip, SkipCause, Step, StepOutcome, TargetKind, TargetOutcome
from tui.lifecycle.events import Clock, EventSink, StepEvent, Summary, TargetResult
from tui.lifecycle.plans import Plan, Target
from tui.store.errors import StoreError


class RunFrame:
    """One run of one plan: its id, clock, summary and bookkeeping."""

    def __init__(self, ctx: OpContext, plan: Plan, sink: EventSink,
                 cancel: asyncio.Event | None) -> None:
        self.ctx = ctx
        self.plan = plan
        self.operation = plan.operation
        self.op_id = uuid.uuid4().hex[:12]
        self.clock = Clock()
        self.cancel = cancel
        self.summary = Summary(plan.operation, str(plan.scope), notes=list(plan.notes))
        self.results: dict[str, TargetResult] = {}
        self.stop_reason = ""  # why no new target starts ("" while they may)
        self.claims = Claims(ctx.store, self.op_id, ctx.active_ops)
        self._sink = sink
        self._started: set[str] = set()  # targets whose intent was written
        self._cancelled_running = False

    # ------------------------------------------------------------------ the frame itself
    async def __aenter__(self) -> RunFrame:
        # written ahead: no mutation starts when this cannot be written (AuditError)
        self.ctx.audit.start(self.op_id, self.operation, str(self.plan.scope),
                             [t.name for t in self.plan.actionable])
        self.ctx.active_ops.add(self.op_id)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.ctx.active_ops.discard(self.op_id)
        if isinstance(exc, asyncio.CancelledError):
            self._cancelled_running = True
        self._close()

    def _close(self) -> None:
        summary = self.summary
        if self.stop_reason:
            summary.notes.append(f"stopped: {self.stop_reason}")
        planned = {t.name for t in self.plan.targets}
        for target in self.plan.targets:
            summary.targets.append(self.results.get(target.name) or self.skipped(
                target, Skip(SkipCause.NOT_STARTED, detail="operation stopped")))
        summary.targets += [r for n, r in self.results.items() if n not in planned]
        # "cancelled" only when the cancellation kept a target from starting
        summary.cancelled = self._cancelled_running or any(
            r.skip is not None and r.skip.cause is SkipCause.CANCELLED for r in summary.targets)
        summary.elapsed_s = self.clock.elapsed()
        try:
            self.ctx.audit.record(summary, self.op_id)
        except AuditError as exc:
            summary.notes.append(str(exc))

    # ------------------------------------------------------------------ events
    def emit(self, name: str, step: Step, attempt: int, outcome: StepOutcome,
             detail: str = "") -> None:
        self.sink(StepEvent(self.operation, name, step, attempt, outcome,
                            self.clock.elapsed(), detail))

    def sink(self, event: StepEvent) -> None:
        """Every event of the run; a logout or delete that landed ends a dialing."""
        if event.outcome is StepOutcome.OK and event.step in (Step.LOGOUT, Step.DELETE):
            self.ctx.dialing.forget(event.instance)
        self._sink(event)

    # ------------------------------------------------------------------ per target
    def skipped(self, target: Target, skip: Skip) -> TargetResult:
        """The result of a target left alone."""
        outcome = (TargetOutcome.NOT_FOUND if target.kind is TargetKind.NOT_FOUND
                   else TargetOutcome.SKIPPED)
        return TargetResult(target.name, outcome, reseller_id=target.reseller_id,
                            records_kept=len(target.records), skip=skip)

    def gate(self) -> Skip | None:
        """Why no new target may start now (None: it may)."""
        if self.cancel is not None and self.cancel.is_set():
            return Skip(SkipCause.CANCELLED)
        if self.stop_reason:
            return Skip(SkipCause.NOT_STARTED, detail=self.stop_reason)
        return None

    def halt(self, why: str) -> None:
        """No new target starts from now on (the first reason is kept)."""
        self.stop_reason = self.stop_reason or why

    async def claim(self, target: Target) -> Skip | None:
        """Claim the target's name for this run; why it must not start if not."""
        try:
            holder = await self.claims.take(target.name)
        except StoreError as exc:
            self.halt(f"the database cannot be used ({exc}): no new target started")
            return Skip(SkipCause.NOT_STARTED, detail=self.stop_reason)
        if holder is not None:
            return Skip(SkipCause.CLAIMED, detail=holder)
        return None

    def intent(self, name: str, what: str) -> Skip | None:
        """The audit intent line, written ahead; why the target must not start if it
        cannot be written (and no new target starts either)."""
        try:
            self.ctx.audit.intent(self.op_id, self.operation, name, what)
        except AuditError as exc:
            self.halt(str(exc))
            return Skip(SkipCause.NOT_STARTED, detail=str(exc))
        self._started.add(name)
        return None

    async def intent_ahead(self, name: str, what: str) -> Skip | None:
        """`intent`, synced off the event loop together with the intents of the targets
        that start at the same moment (a bulk run's)."""
        try:
            self.ctx.audit.append_intent(self.op_id, self.operation, name, what)
            self._started.add(name)  # (its outcome is written whatever happens next)
            await self.ctx.audit.durable()
        except AuditError as exc:
            self.halt(str(exc))
            return Skip(SkipCause.NOT_STARTED, detail=str(exc))
        return None

    async def one_by_one(self, targets: list[Target], what: str,
                         act: Callable[[Target], Awaitable[TargetResult]]) -> None:
        """Run `act` on each target in turn: a skipped one (by its plan, a cancellation, a
        stop, an intent that cannot be written) is finished as skipped; `what` is the
        intent's words."""
        for target in targets:
            why = target.skip or self.gate() or self.intent(target.name, what or
                                                            target.describe())
            self.finish(self.skipped(target, why) if why is not None else await act(target))

    def finish(self, result: TargetResult, *, interrupted_after: str = "",
               audited: bool | None = None) -> None:
        """A target is finished: its outcome in the audit log (when its intent was written,
        or `audited`), its result in the summary, its `done` event."""
        if audited if audited is not None else result.name in self._started:
            try:
                self.ctx.audit.outcome(self.op_id, self.operation, result,
                                       interrupted_after=interrupted_after)
            except AuditError as exc:
                result.record_error = result.record_error or str(exc)
        self.results[result.name] = result
        self.sink(done_event(self.operation, result, self.clock.elapsed()))


def done_event(operation: str, result: TargetResult, elapsed_s: float) -> StepEvent:
    """The event that says a target is finished, with its outcome."""
    good = result.ok and result.outcome is not TargetOutcome.SKIPPED
    outcome = (StepOutcome.SKIPPED if result.outcome in (TargetOutcome.SKIPPED,
                                                         TargetOutcome.NOT_FOUND)
               else StepOutcome.OK if good else StepOutcome.FAILED)
    detail = result.outcome.value + (f": {result.reason}" if result.reason else "")
    return StepEvent(operation, result.name, Step.DONE, 0, outcome, elapsed_s, detail,
                     done=result.outcome, result=result)
