"""The run shared by delete (one name, several, the marked rows) and clear-all: the verified
delete of every target, a bounded number at a time, dialing targets first, with the census
of the instance list going meanwhile.

Per target: claim the name while it waits for its slot (at most `concurrency` targets
claimed ahead); then, right before its first mutation, re-check its records and its grace
(what changed since the plan is skipped and said so), write the audit intent; after
it: remove the records only when the name was verified free, else keep and mark them. The
claims, re-reads and releases of targets that ask at about the same time share one store
round trip each (`tui.lifecycle.batching`).
"""

from __future__ import annotations

import asyncio
import time

from tui.evolution.errors import UnauthorizedError
from tui.evolution.models import InstanceState
from tui.lifecycle.batching import Coalescer
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
from tui.store.models import ConnectionRecord, RecordRemoval


class RemovalRun:
    """One removal run of a plan's targets."""

    def __init__(self, frame: RunFrame, plan: Plan, *, bulk: bool,
                 concurrency: int | None = None) -> None:
        self.frame = frame
        self.ctx = frame.ctx
        self.plan = plan
        self.bulk = bulk  # several names: the young-orphan grace applies
        width = max(1, concurrency or self.ctx.concurrency)
        self.gate = asyncio.Semaphore(width)
        self.ahead = asyncio.Semaphore(width)  # targets claimed, waiting for a slot
        self.last_step: dict[str, str] = {}
        self.remover = InstanceRemover(self.ctx.client, self.ctx.policy, self._track,
                                       frame.operation, self.ctx.rng, dialing=self.ctx.dialing)
        # the re-reads of the targets entering their slots at about the same time: one query;
        # the record deletes of the targets verified at about the same time: one delete
        self._reread: Coalescer[str, list[ConnectionRecord]] = Coalescer(self._records_named,
                                                                         default=list)
        self._unrecord: Coalescer[tuple[str, str], RecordRemoval] = Coalescer(
            self._delete_records)

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
        ahead = _Once(self.ahead)
        await self.ahead.acquire()
        try:
            # claimed while the slot is still busy (at most `concurrency` targets ahead):
            # the claims of the targets next in line go together, off the slot's path
            why = frame.gate() or await frame.claim(target)
            if why is not None:
                frame.finish(frame.skipped(target, why))
                return
            try:
                async with Slot(self.gate) as slot:
                    ahead.release()
                    why = frame.gate()  # cancelled or stopped while it waited for its slot
                    if why is not None:
                        frame.finish(frame.skipped(target, why))
                        return
                    await self._attempt(target, slot)
            finally:
                await frame.claims.release(target.name)
        finally:
            ahead.release()

    async def _attempt(self, target: Target, slot: Slot) -> None:
        frame = self.frame
        # the records are re-read (and then the intent written) while the remover re-checks
        # the name (both reads come after the claim); the first change waits for both
        # (`_Go`), so what changed since the plan still leaves the target untouched
        go = _Go(asyncio.ensure_future(self._ready(target)))
        started = time.monotonic()
        try:
            outcome = await self.remover.remove(target.name, target.state, slot=slot,
                                                expect_unlisted=target.kind
                                                is TargetKind.ORPHAN_RECORD,
                                                before_mutation=go)
            await go()  # (ended without a change: its records are still to be decided)
        except UnauthorizedError as exc:
            frame.halt(str(exc))
            if not await go():
                self._skip(target, go.why)
                return
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
        finally:
            go.reread.cancel()  # (a no-op once it answered)
        if go.why is not None:
            self._skip(target, go.why)
            return
        result = await self._records(target, outcome)
        result.elapsed_s = time.monotonic() - started
        frame.finish(result)

    def _skip(self, target: Target, why: Skip | None) -> None:
        """The target is left alone: it changed since the plan (said as a step too), it is
        a young orphan, or the intent could not be written."""
        assert why is not None
        frame = self.frame
        if why.changed or why.cause is SkipCause.YOUNG_ORPHAN:
            frame.emit(target.name, Step.PLAN, 0, StepOutcome.SKIPPED,
                       frame.skipped(target, why).reason)
        frame.finish(frame.skipped(target, why))

    async def _records(self, target: Target, outcome: DeleteResult) -> TargetResult:
        """The records after the instance's verdict: removed when the name is verified
        free, kept and marked when it failed, kept when the target was skipped."""
        result = TargetResult(target.name, outcome.outcome, outcome.reason, target.reseller_id,
                              outcome.attempts, skip=outcome.skip)
        try:
            if outcome.outcome in NAME_FREED:
                lost = await remove_records(self.frame, target, result, self._delete_record)
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

    async def _ready(self, target: Target) -> Skip | None:
        """Why the target must not be changed (None: it may): its records re-read, then its
        audit intent written."""
        why = await self._changed(target)
        if why is None:
            why = await self.frame.intent_ahead(target.name, target.describe())
        return why

    async def _changed(self, target: Target) -> Skip | None:
        """Why this target must not be touched any more (None when it still may): its
        records re-read right now differ from the plan's, or an orphan instance is still
        young. A store that fails stops the run."""
        scope = self.plan.scope
        try:
            fresh = await self._reread(target.name)
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


    async def _delete_record(self, name: str, doc_id: str) -> RecordRemoval:
        return await self._unrecord((name, doc_id))

    async def _delete_records(self, keys: list[tuple[str, str]]
                              ) -> dict[tuple[str, str], RecordRemoval]:
        fates = await self.ctx.store.delete_records(keys,
                                                    reseller_id=self.plan.scope.reseller_id)
        return {(name, doc_id): fates[doc_id] for name, doc_id in keys}

    async def _records_named(self, names: list[str]) -> dict[str, list[ConnectionRecord]]:
        by_name: dict[str, list[ConnectionRecord]] = {name: [] for name in names}
        for record in await self.ctx.store.find_records_named(names):
            by_name.setdefault(record.instance_name, []).append(record)
        return by_name


class _Go:
    """May the target be changed? Asked right before its first change (or once it ended
    without one); answered by its records re-read and its audit intent written
    (`RemovalRun._ready`, started beside the remover's re-check); `why` says why not."""

    def __init__(self, ready: asyncio.Future[Skip | None]) -> None:
        self.reread = ready
        self.why: Skip | None = None

    async def __call__(self) -> bool:
        self.why = await self.reread
        return self.why is None


class _Once:
    """Releases a semaphore at most once."""

    def __init__(self, semaphore: asyncio.Semaphore) -> None:
        self.semaphore = semaphore
        self.held = True

    def release(self) -> None:
        if self.held:
            self.held = False
            self.semaphore.release()


def _priority(target: Target) -> int:
    """Dialing targets first: stopping them makes the server fast again for the rest."""
    if target.state in (InstanceState.CONNECTING, InstanceState.OPEN):
        return 0
    return 1 if target.state is not None else 2

