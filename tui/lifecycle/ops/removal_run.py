"""The run shared by delete (one name, several, the marked rows) and clear-all: the verified
delete of every target, a bounded number at a time, dialing targets first, with the census
of the instance list going meanwhile.

Per target, right before its first mutation: claim the name, re-check its records and its
grace (what changed since the plan is skipped and said so), write the audit intent; after
it: remove the records only when the name was verified free, else keep and mark them.
"""

from __future__ import annotations

import asyncio
import time

from tui.evolution.errors import UnauthorizedError
from tui.evolution.models import InstanceState
from tui.lifecycle.domain import Skip, SkipCause, Step, StepOutcome, TargetKind, TargetOutcome
from tui.lifecycle.events import NAME_FREED, StepEvent, TargetResult
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.ops.census import start_census
from tui.lifecycle.ops.records import mark_records, remove_records
from tui.lifecycle.removal import InstanceRemover, Slot
from tui.lifecycle.removal.policy import DeleteResult
from tui.lifecycle.plans import Plan, Target
from tui.lifecycle.seen import young_orphan
from tui.store.errors import StoreError


class RemovalRun:
    """One removal run of a plan's targets."""

    def __init__(self, frame: RunFrame, plan: Plan, *, bulk: bool,
                 concurrency: int | None = None) -> None:
        self.frame = frame
        self.ctx = frame.ctx
        self.plan = plan
        self.bulk = bulk  # several names: the young-orphan grace applies
        self.gate = asyncio.Semaphore(max(1, concurrency or self.ctx.concurrency))
        self.last_step: dict[str, str] = {}
        self.remover = InstanceRemover(self.ctx.client, self.ctx.policy, self._track,
                                       frame.operation, self.ctx.rng, dialing=self.ctx.dialing)

    def _track(self, event: StepEvent) -> None:
        if event.instance and event.step is not Step.DONE:
            self.last_step[event.instance] = f"{event.step.value} {event.outcome.value}"
        self.frame.sink(event)

    async def run(self) -> None:
        frame, plan = self.frame, self.plan
        frame.emit("", Step.PLAN, 0, StepOutcome.OK,
                   f"{len(plan.actionable)} to remove, {len(plan.skipped)} skipped")
        ordered = sorted(plan.targets, key=_priority)
        tasks = [asyncio.create_task(self._target(t)) for t in ordered]
        listed = {t.name for t in plan.targets if t.state is not None and t.skip is None}
        profile = await self.remover.ready()
        census = (start_census(self.ctx.client, self.remover.board, self.ctx.dialing, listed,
                               self.ctx.policy.quiet_samples)
                  if profile.stop_dialing_first else [])
        try:
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            for target, outcome in zip(ordered, outcomes):
                if isinstance(outcome, BaseException) and target.name not in frame.results:
                    frame.finish(self._failed(target, f"internal error: {outcome!r}"))
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            for lane in census:
                lane.cancel()
            await asyncio.gather(*census, return_exceptions=True)

    async def _target(self, target: Target) -> None:
        frame = self.frame
        if target.skip is not None:
            frame.emit(target.name, Step.PLAN, 0, StepOutcome.SKIPPED, target.skip_reason)
            frame.finish(frame.skipped(target, target.skip))
            return
        async with Slot(self.gate) as slot:
            why = frame.gate() or await frame.claim(target)
            if why is not None:
                frame.finish(frame.skipped(target, why))
                return
            try:
                await self._attempt(target, slot)
            finally:
                await frame.claims.release(target.name)

    async def _attempt(self, target: Target, slot: Slot) -> None:
        frame = self.frame
        why = await self._changed(target)
        if why is not None:
            if why.changed or why.cause is SkipCause.YOUNG_ORPHAN:
                frame.emit(target.name, Step.PLAN, 0, StepOutcome.SKIPPED,
                           frame.skipped(target, why).reason)
            frame.finish(frame.skipped(target, why))
            return
        why = frame.intent(target.name, target.describe())
        if why is not None:
            frame.finish(frame.skipped(target, why))
            return
        started = time.monotonic()
        try:
            outcome = await self.remover.remove(target.name, target.state, slot=slot,
                                                expect_unlisted=target.kind
                                                is TargetKind.ORPHAN_RECORD)
        except UnauthorizedError as exc:
            frame.halt(str(exc))
            result = self._failed(target, str(exc))
            # a failed target's records are kept *and marked*, 401 included
            await mark_records(self.frame, target, str(exc))
            frame.finish(result)
            return
        except asyncio.CancelledError:
            # interrupted mid-target: say exactly how far it got, records untouched
            after = self.last_step.get(target.name, "nothing")
            frame.finish(self._failed(target, f"interrupted after: {after}; its record(s) kept"),
                         interrupted_after=after)
            raise
        result = await self._records(target, outcome)
        result.elapsed_s = time.monotonic() - started
        frame.finish(result)

    async def _records(self, target: Target, outcome: DeleteResult) -> TargetResult:
        """The records after the instance's verdict: removed when the name is verified
        free, kept and marked when it failed, kept when the target was skipped."""
        result = TargetResult(target.name, outcome.outcome, outcome.reason, target.reseller_id,
                              outcome.attempts, skip=outcome.skip)
        try:
            if outcome.outcome in NAME_FREED:
                lost = await remove_records(self.frame, target, result)
                if lost:
                    self.frame.halt(lost)
            elif outcome.outcome is not TargetOutcome.SKIPPED:
                result.records_kept = len(target.records)
                await mark_records(self.frame, target, outcome.reason)
            else:
                result.records_kept = len(target.records)
        except BaseException:
            self.frame.finish(result)
            raise
        return result

    def _failed(self, target: Target, reason: str) -> TargetResult:
        return TargetResult(target.name, TargetOutcome.FAILED, reason, target.reseller_id,
                            records_kept=len(target.records))

    async def _changed(self, target: Target) -> Skip | None:
        """Why this target must not be touched any more (None when it still may): its
        records re-read right now differ from the plan's, or an orphan instance is still
        young. A store that fails stops the run."""
        scope = self.plan.scope
        try:
            fresh = await self.ctx.store.find_records(target.name)
        except StoreError as exc:
            self.frame.halt(f"the database cannot be used ({exc}): no new target started")
            return Skip(SkipCause.NOT_STARTED, detail=self.frame.stop_reason)
        mine = {r.doc_id for r in fresh if scope.owns(r.reseller_id)}
        planned = {r.doc_id for r in target.records}
        if any(not scope.owns(r.reseller_id) for r in fresh):
            return Skip(SkipCause.OTHER_RESELLER_NOW)
        if not planned and mine:
            return Skip(SkipCause.RECORD_APPEARED)
        if planned - mine and not mine:
            return Skip(SkipCause.RECORDS_REMOVED)
        if planned != mine:
            return Skip(SkipCause.RECORDS_CHANGED)
        if self.bulk and target.kind is TargetKind.ORPHAN_INSTANCE:
            return young_orphan(self.ctx.first_seen, self.ctx.orphan_grace_s, target.name)
        return None


def _priority(target: Target) -> int:
    """Dialing targets first: stopping them makes the server fast again for the rest."""
    if target.state in (InstanceState.CONNECTING, InstanceState.OPEN):
        return 0
    return 1 if target.state is not None else 2

