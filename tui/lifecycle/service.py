"""The lifecycle service: the only author of what an operation does.

`plan(request)` builds a `Plan` from fresh lookups of just its targets (`planner.py`);
`run(plan, sink, cancel)` carries it out and returns a `Summary`. Front ends (the CLI, the
dashboard) plan, show, confirm and run: nothing else. The service enforces the tenant scope
and read-only mode, runs targets with bounded concurrency, streams `StepEvent`s to a sink -
with a `done` event when a target is finished - writes one audit line per operation, and
never removes a database record unless its instance was verified gone (`removed` /
`already_absent`). The older one-call methods (`delete`, `clear_all`, ...) are plan + run.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import time
import uuid
from datetime import UTC, datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tui.evolution.errors import EvolutionError, NameInUseError, UnauthorizedError
from tui.evolution.models import InstanceState, ProbeState
from tui.lifecycle.audit import AuditError, AuditLog
from tui.lifecycle.delete import DeletePolicy, InstanceRemover, Slot
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.events import (
    NAME_FREED,
    Clock,
    EventSink,
    Step,
    StepEvent,
    StepOutcome,
    Summary,
    TargetOutcome,
    TargetResult,
    null_sink,
)
from tui.lifecycle.observe import Observation, complete_probes, observe, observe_unprobed
from tui.lifecycle.planner import Planner, UnknownResellerError
from tui.lifecycle.plans import (
    AdoptRequest,
    ClearAllRequest,
    CreateRequest,
    DeleteRequest,
    ForgetRequest,
    Plan,
    ReprovisionRequest,
    Request,
    Target,
)
from tui.lifecycle.ports import EvolutionPort, StorePort
from tui.lifecycle.scope import LifecycleError, ReadOnlyError, Scope
from tui.lifecycle.seen import FirstSeen, human_duration
from tui.reconcile.naming import unique_instance_name
from tui.store.errors import StoreError, StoreUnreachableError
from tui.store.models import ConnectionRecord

@dataclass(frozen=True)
class Pairing:
    """What pairing an instance needs now: its state, and while it waits for a phone the
    QR payload to show (`code`, rotated by the server: `count`) and the pairing code."""

    name: str
    state: InstanceState
    code: str | None = None
    pairing_code: str | None = None
    count: int = 0

    @property
    def paired(self) -> bool:
        return self.state is InstanceState.OPEN


# a claim on a name outlives a run that died without releasing it for this long
CLAIM_TTL_S = 15 * 60
# operations running in this process (any service): their claims are live
ACTIVE_OPS: set[str] = set()
# the census of bulk operations (`LifecycleService._census`)
CENSUS_EVERY_S = 0.03
CENSUS_LANES = 3  # lists in flight at once (a slow list must not leave the census blind)
CENSUS_IDLE_S = 0.02


class LifecycleService:
    """Plans and runs verified create / delete / clear-all / forget / adopt / re-provision."""

    def __init__(self, client: EvolutionPort, store: StorePort, *, scope: Scope | None = None,
                 policy: DeletePolicy | None = None, concurrency: int = 4,
                 read_only: bool = False, audit: AuditLog | None = None,
                 now: Callable[[], float] = time.time, rng: random.Random | None = None,
                 first_seen: FirstSeen | None = None, orphan_grace_s: float = 600.0):
        self.client = client
        self.store = store
        self.scope = scope or Scope.all()
        self.policy = policy or DeletePolicy()
        self.concurrency = max(1, concurrency)
        self.read_only = read_only
        self.audit = audit or AuditLog(None)
        self.now = now
        self.rng = rng or random.Random()
        self.dialing = DialingTracker()
        self.first_seen = first_seen or FirstSeen(None, now=now)
        self.orphan_grace_s = orphan_grace_s
        self._active_ops = ACTIVE_OPS

    @property
    def planner(self) -> Planner:
        return Planner(self.client, self.store, self.scope, self.dialing,
                       self._probe_concurrency(), first_seen=self.first_seen,
                       orphan_grace_s=self.orphan_grace_s)

    # ------------------------------------------------------------------ observation
    async def observe(self, *, probe_orphans: bool = True) -> Observation:
        return await observe(self.client, self.store, self.scope.reseller_id,
                             probe_orphans=probe_orphans,
                             probe_concurrency=self._probe_concurrency(),
                             dialing=self.dialing)

    async def observe_unprobed(self) -> Observation:
        """Both sides fetched and reconciled; orphan records' names not probed yet."""
        return await observe_unprobed(self.client, self.store, self.scope.reseller_id,
                                      dialing=self.dialing)

    async def complete_probes(self, obs: Observation) -> Observation:
        """`obs` with its orphan records' names in scope probed (nothing is fetched again)."""
        return await complete_probes(self.client, obs, self.scope.reseller_id,
                                     probe_concurrency=self._probe_concurrency())

    async def sample_dialing(self, rounds: int = 6, spacing_s: float = 0.15) -> None:
        """List the instances `rounds` times, `spacing_s` apart, so that the next observation
        can tell dialing instances (they flap: one list mostly says `close`)."""
        for i in range(rounds):
            if i:
                await asyncio.sleep(spacing_s)
            self.dialing.feed(await self.client.list_instances())

    def _probe_concurrency(self) -> int:
        return max(4, self.concurrency * 2)

    # ------------------------------------------------------------------ guards
    def authorize(self, operation: str, scope: Scope | None = None) -> None:
        """Raise `ReadOnlyError` / `ScopeError` unless this session may run `operation`."""
        if self.read_only:
            raise ReadOnlyError(operation)
        if scope is not None:
            self.scope.require(scope)

    # ------------------------------------------------------------------ the scope itself
    async def check_scope(self) -> None:
        """Raise `UnknownResellerError` when this session's reseller is not in the database:
        a typo in `--reseller` must not look like an empty, consistent tenant."""
        rid = self.scope.reseller_id
        if rid is not None and await self.store.get_reseller(rid) is None:
            raise UnknownResellerError(rid)

    # ------------------------------------------------------------------ plan and run
    async def plan(self, request: Request) -> Plan:
        """What `request` would do, from fresh lookups of just its targets. Changes
        nothing; raises `ScopeError` / `UnknownResellerError` / the ports' one-line errors."""
        return await self.planner.plan(request)

    async def run(self, plan: Plan, *, sink: EventSink = null_sink,
                  cancel: asyncio.Event | None = None, concurrency: int | None = None,
                  dry_run: bool = False) -> Summary:
        """Carry out `plan` (each target is re-checked right before it is touched). With
        `dry_run`, the plan as a summary of `planned` / `skipped` targets (no change)."""
        operation, request = plan.operation, plan.request
        if dry_run:
            return self._dry_run(plan)
        self.authorize(operation, plan.scope)
        op_id = uuid.uuid4().hex[:12]
        # written ahead: no mutation starts when this cannot be written (AuditError)
        self.audit.start(op_id, operation, str(plan.scope), [t.name for t in plan.actionable])
        self._active_ops.add(op_id)
        try:
            return await self._run(plan, sink, cancel, concurrency, op_id)
        finally:
            self._active_ops.discard(op_id)

    async def _run(self, plan: Plan, sink: EventSink, cancel: asyncio.Event | None,
                   concurrency: int | None, op_id: str) -> Summary:
        operation, request = plan.operation, plan.request
        if isinstance(request, (DeleteRequest, ClearAllRequest)):
            sink(StepEvent(operation, "", Step.PLAN, 0, StepOutcome.OK, 0.0,
                           f"{len(plan.actionable)} to remove, {len(plan.skipped)} skipped"))
            bulk = isinstance(request, ClearAllRequest) or len(plan.targets) > 1
            return await self._run_targets(operation, plan.scope, plan.targets, sink, cancel,
                                           concurrency, plan.notes, op_id=op_id, bulk=bulk)
        if isinstance(request, ForgetRequest):
            return await self._forget(plan, sink, op_id, cancel)
        if isinstance(request, AdoptRequest):
            return await self._adopt(plan, request, sink, op_id)
        if isinstance(request, ReprovisionRequest):
            return await self._reprovision(plan, sink, cancel, op_id)
        if isinstance(request, CreateRequest):
            return await self._create_op(request.reseller_id, request.qr, sink, op_id)
        raise LifecycleError(f"cannot run {operation}")

    def _dry_run(self, plan: Plan) -> Summary:
        summary = Summary(plan.operation, str(plan.scope), dry_run=True, notes=list(plan.notes))
        for t in plan.targets:
            outcome = TargetOutcome.SKIPPED if t.skip_reason else TargetOutcome.PLANNED
            summary.targets.append(TargetResult(t.name, outcome, t.describe(), t.reseller_id,
                                                records_kept=len(t.records)))
        return summary

    # ------------------------------------------------------------------ one-call forms
    async def plan_clear_all(self, scope: Scope, *, orphans_only: bool = False,
                             include_attributed: bool = False) -> Plan:
        return await self.plan(ClearAllRequest(scope, orphans_only, include_attributed))

    async def clear_all(self, scope: Scope, *, orphans_only: bool = False,
                        include_attributed: bool = False, dry_run: bool = False,
                        sink: EventSink = null_sink, cancel: asyncio.Event | None = None,
                        concurrency: int | None = None, plan: Plan | None = None) -> Summary:
        if not dry_run:
            self.authorize("clear-all", scope)
        plan = plan or await self.plan_clear_all(scope, orphans_only=orphans_only,
                                                 include_attributed=include_attributed)
        return await self.run(plan, sink=sink, cancel=cancel, concurrency=concurrency,
                              dry_run=dry_run)

    async def delete(self, names: Iterable[str], *, sink: EventSink = null_sink,
                     cancel: asyncio.Event | None = None,
                     concurrency: int | None = None) -> Summary:
        """Verified delete of named instances (and, once gone, their records in scope)."""
        self.authorize("delete")
        plan = await self.plan(DeleteRequest(tuple(names)))
        return await self.run(plan, sink=sink, cancel=cancel, concurrency=concurrency)

    async def forget(self, names: Iterable[str], *, sink: EventSink = null_sink) -> Summary:
        """Remove orphan records whose name is verified free on Evolution (database only)."""
        self.authorize("forget")
        return await self.run(await self.plan(ForgetRequest(tuple(names))), sink=sink)

    async def adopt(self, name: str, reseller_id: str, *,
                    sink: EventSink = null_sink) -> Summary:
        """Create a record linking an orphan instance to a reseller."""
        self.authorize("adopt", Scope.reseller(reseller_id))
        return await self.run(await self.plan(AdoptRequest(name, reseller_id)), sink=sink)

    async def reprovision(self, name: str | Iterable[str], *,
                          sink: EventSink = null_sink,
                          cancel: asyncio.Event | None = None) -> Summary:
        """Create the Evolution instance of orphan records whose name is free."""
        self.authorize("reprovision")
        names = (name,) if isinstance(name, str) else tuple(name)
        return await self.run(await self.plan(ReprovisionRequest(names)), sink=sink,
                              cancel=cancel)

    async def create(self, reseller_id: str, *, qr: bool = False,
                     sink: EventSink = null_sink, max_names: int = 5) -> Summary:
        """Create a connection: a unique name, the instance, then the record.

        On 403 "in use" the name is removed first only when it is an unlinked, non-open
        orphan; otherwise another name is picked. If the record cannot be inserted, the new
        instance is removed again (verified) so no orphan is left.
        """
        self.authorize("create", Scope.reseller(reseller_id))
        return await self.run(await self.plan(CreateRequest(reseller_id, qr)), sink=sink)

    async def _create_op(self, reseller_id: str, qr: bool, sink: EventSink, op_id: str,
                         max_names: int = 5) -> Summary:
        scope = Scope.reseller(reseller_id)
        clock = Clock()
        summary = Summary("create", str(scope))
        try:
            why = self._intent(op_id, "create", "", f"create a connection for {reseller_id}")
            if why:
                summary.targets.append(TargetResult("", TargetOutcome.FAILED, why, reseller_id))
            else:
                await self._create(reseller_id, qr, sink, clock, summary, max_names)
                for target in summary.targets:
                    self._audit_outcome(op_id, "create", target)
        finally:
            summary.elapsed_s = clock.elapsed()
            self._audit(summary, op_id)
        for target in summary.targets:
            sink(_done("create", target, clock))
        return summary

    # ------------------------------------------------------------------ pairing
    async def pair(self, name: str, *, number: str | None = None) -> Pairing:
        """The QR code (and pairing code, with `number`) to pair `name` with a phone, or its
        state once it is `open`. Asking dials WhatsApp on the server (a `close` instance
        starts its socket), so it is refused in read-only mode; the first call of a pairing
        session is audited. Call again to follow the server's QR rotation."""
        self.authorize("pair")
        planned = await self.planner.lookup([name])
        lookup = planned[name]
        if lookup.instance is None:
            what = "reserved" if lookup.probe and lookup.probe.state is ProbeState.RESERVED \
                else "not an Evolution instance"
            raise LifecycleError(f"{name}: {what}: nothing to pair")
        records = [r for r in lookup.records
                   if self.scope.is_all or r.reseller_id == self.scope.reseller_id]
        if not self.scope.is_all and not records:
            raise LifecycleError(f"{name}: outside scope {self.scope}")
        if lookup.instance.state is InstanceState.OPEN:
            return Pairing(name, InstanceState.OPEN)
        result = await self.client.connect(name, number=number)
        if result.state is InstanceState.OPEN:
            return Pairing(name, InstanceState.OPEN)
        code = result.qrcode.code if result.qrcode else None
        return Pairing(name, InstanceState.CONNECTING, code=code,
                       pairing_code=result.qrcode.pairing_code if result.qrcode else None,
                       count=result.qrcode.count if result.qrcode else 0)

    async def pairing_state(self, name: str) -> InstanceState | None:
        """The state of `name` now (None: not listed any more)."""
        probe = await self.client.probe(name)
        return probe.instance_state

    # ------------------------------------------------------------------ running targets
    async def _run_targets(self, operation: str, scope: Scope, targets: list[Target],
                           sink: EventSink, cancel: asyncio.Event | None,
                           concurrency: int | None, notes: list[str], *,
                           op_id: str = "", bulk: bool = True) -> Summary:
        """Run the verified delete of `targets`. Per target, right before its first
        mutation: claim the name (no other evodash run works on it meanwhile), re-check its
        records and grace (what changed since the plan is skipped and said so), write the
        audit intent; after it: the outcome. No new target starts once the store or the
        audit log failed, a 401 came back, or `cancel` is set."""
        clock = Clock()
        summary = Summary(operation, str(scope), notes=list(notes))
        sink = self._tracking(sink)
        last_step: dict[str, str] = {}

        def tracked(event: StepEvent) -> None:
            if event.instance and event.step is not Step.DONE:
                last_step[event.instance] = f"{event.step.value} {event.outcome.value}"
            sink(event)

        remover = InstanceRemover(self.client, self.policy, tracked, operation, self.rng,
                                  dialing=self.dialing)
        sem = asyncio.Semaphore(max(1, concurrency or self.concurrency))
        results: dict[str, TargetResult] = {}
        stop_reason: list[str] = []

        def skipped(target: Target, reason: str) -> TargetResult:
            outcome = (TargetOutcome.NOT_FOUND if target.kind == "not_found"
                       else TargetOutcome.SKIPPED)
            return TargetResult(target.name, outcome, reason, target.reseller_id,
                                records_kept=len(target.records))

        async def run(target: Target) -> None:
            try:
                await work(target)
            finally:
                result = results.get(target.name)
                if result is not None:
                    sink(_done(operation, result, clock))

        async def work(target: Target) -> None:
            if target.skip_reason:
                results[target.name] = skipped(target, target.skip_reason)
                sink(StepEvent(operation, target.name, Step.PLAN, 0, StepOutcome.SKIPPED,
                               clock.elapsed(), target.skip_reason))
                return
            async with Slot(sem) as slot:
                if cancel is not None and cancel.is_set():
                    results[target.name] = skipped(target, "cancelled before it started")
                    return
                if stop_reason:
                    results[target.name] = skipped(target, f"not started: {stop_reason[0]}")
                    return
                claimed = await self._claim(target, op_id, results, skipped, stop_reason)
                if not claimed:
                    return
                try:
                    await attempt(target, slot)
                finally:
                    await self._release(target.name, op_id)

        async def attempt(target: Target, slot: Slot) -> None:
            try:
                why = await self._changed_since_plan(target, scope, bulk)
            except StoreError as exc:
                stop_reason.append(f"the database cannot be used ({exc}): no new target "
                                   "started")
                results[target.name] = skipped(target, f"not started: {stop_reason[-1]}")
                return
            if why:
                results[target.name] = skipped(target, f"changed since the plan: {why}")
                tracked(StepEvent(operation, target.name, Step.PLAN, 0, StepOutcome.SKIPPED,
                                  clock.elapsed(), results[target.name].reason))
                return
            try:
                self.audit.intent(op_id, operation, target.name, target.describe())
            except AuditError as exc:
                stop_reason.append(str(exc))
                results[target.name] = skipped(target, f"not started: {exc}")
                return
            started = time.monotonic()
            outcome = None
            try:
                outcome = await remover.remove(target.name, target.state, target.probed,
                                               slot=slot,
                                               expect_unlisted=target.kind == "orphan_record")
            except UnauthorizedError as exc:
                stop_reason.append(str(exc))
                result = TargetResult(target.name, TargetOutcome.FAILED, str(exc),
                                      target.reseller_id, records_kept=len(target.records))
                results[target.name] = result
                # a failed target's records are kept *and marked*, 401 included
                await self._mark_records(target, str(exc), tracked, clock, operation)
                self._audit_outcome(op_id, operation, result)
                return
            except asyncio.CancelledError:
                # interrupted mid-target: say exactly how far it got, records untouched
                after = last_step.get(target.name, "nothing")
                result = TargetResult(target.name, TargetOutcome.FAILED,
                                      f"interrupted after: {after}; its record(s) kept",
                                      target.reseller_id, records_kept=len(target.records))
                results[target.name] = result
                self._audit_outcome(op_id, operation, result, interrupted_after=after)
                raise
            result = TargetResult(target.name, outcome.outcome, outcome.reason,
                                  target.reseller_id, outcome.attempts)
            results[target.name] = result
            try:
                if outcome.outcome in NAME_FREED:
                    lost = await self._remove_records(operation, target, scope.reseller_id,
                                                      result, tracked, clock)
                    if lost:
                        stop_reason.append(lost)
                elif outcome.outcome is not TargetOutcome.SKIPPED:
                    result.records_kept = len(target.records)
                    await self._mark_records(target, outcome.reason, tracked, clock, operation)
                else:
                    result.records_kept = len(target.records)
            finally:
                result.elapsed_s = time.monotonic() - started
                self._audit_outcome(op_id, operation, result)

        # dialing instances first: stopping them makes the server fast again for the rest
        def priority(target: Target) -> int:
            if target.state in (InstanceState.CONNECTING, InstanceState.OPEN):
                return 0
            return 1 if target.state is not None else 2

        ordered = sorted(targets, key=priority)
        tasks = [asyncio.create_task(run(t)) for t in ordered]
        listed = {t.name for t in targets if t.state is not None and not t.skip_reason}
        census = ([asyncio.create_task(self._census(
                      remover, listed, lane * CENSUS_EVERY_S / CENSUS_LANES))
                   for lane in range(CENSUS_LANES)] if len(listed) > 1 else [])
        try:
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            for target, outcome in zip(ordered, outcomes):
                if isinstance(outcome, BaseException) and target.name not in results:
                    results[target.name] = TargetResult(
                        target.name, TargetOutcome.FAILED, f"internal error: {outcome!r}",
                        target.reseller_id, records_kept=len(target.records))
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            summary.cancelled = True
            raise
        finally:
            for lane in census:
                lane.cancel()
            await asyncio.gather(*census, return_exceptions=True)
            if stop_reason:
                summary.notes.append(f"stopped: {stop_reason[0]}")
            # "cancelled" only when the cancellation kept a target from starting
            summary.cancelled = summary.cancelled or bool(
                cancel and cancel.is_set()
                and any(r.outcome is TargetOutcome.SKIPPED and "cancelled" in r.reason
                        for r in results.values()))
            for target in targets:
                summary.targets.append(results.get(target.name) or skipped(
                    target, "not started (operation stopped)"))
            summary.elapsed_s = clock.elapsed()
            self._audit(summary, op_id)
        return summary

    async def _claim(self, target: Target, op_id: str, results: dict[str, TargetResult],
                     skipped: Callable[[Target, str], TargetResult],
                     stop_reason: list[str]) -> bool:
        """Claim the name for this run; a name another live run works on is skipped."""
        owner = claim_owner(op_id)
        try:
            holder = await self.store.claim(target.name, owner, CLAIM_TTL_S)
            if holder is not None and self._stale_claim(holder):
                holder = await self.store.claim(target.name, owner, 0.0)  # take it over
        except StoreError as exc:
            stop_reason.append(f"the database cannot be used ({exc}): no new target started")
            results[target.name] = skipped(target, f"not started: {stop_reason[-1]}")
            return False
        if holder is not None:
            results[target.name] = skipped(
                target, f"another evodash run is working on this name ({holder})")
            return False
        return True

    def _stale_claim(self, holder: str) -> bool:
        """A claim left by a run that is over: on this host, by a process that is gone, or
        by this very process for an operation that has ended."""
        host, _, rest = holder.partition(":")
        pid_text, _, op_id = rest.partition(":")
        if host != socket.gethostname() or not pid_text.isdigit():
            return False
        pid = int(pid_text)
        if pid == os.getpid():
            return op_id not in self._active_ops
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, another user's
        return False

    async def _release(self, name: str, op_id: str) -> None:
        try:
            await asyncio.shield(self.store.release(name, claim_owner(op_id)))
        except (StoreError, asyncio.CancelledError):
            pass  # a claim left behind is stale once this run is over (`_stale_claim`)

    async def _changed_since_plan(self, target: Target, scope: Scope, bulk: bool) -> str:
        """Why this target must not be touched any more ("" when it still may): its records
        re-read right now differ from the plan's, or an orphan instance is still young."""
        fresh = await self.store.find_records(target.name)
        mine = {r.doc_id for r in fresh if scope.is_all or r.reseller_id == scope.reseller_id}
        planned = {r.doc_id for r in target.records}
        others = [r for r in fresh if not (scope.is_all or r.reseller_id == scope.reseller_id)]
        if others:
            return "another reseller's record now uses this name"
        if not planned and mine:
            return "a record appeared for it (the platform linked it): not an orphan any more"
        if planned - mine and not mine:
            return "its record(s) were removed by someone else"
        if planned != mine:
            return "its records changed"
        if bulk and target.kind == "orphan_instance" and self.orphan_grace_s > 0:
            age, how = self.first_seen.age_s(target.name)
            if age < self.orphan_grace_s:
                return (f"young orphan instance ({human_duration(age)} old by {how}; "
                        f"grace {human_duration(self.orphan_grace_s)})")
        return ""

    def _audit_outcome(self, op_id: str, operation: str, result: TargetResult, *,
                       interrupted_after: str = "") -> None:
        try:
            self.audit.outcome(op_id, operation, result, interrupted_after=interrupted_after)
        except AuditError as exc:
            result.record_error = result.record_error or str(exc)

    async def _census(self, remover: InstanceRemover, names: set[str],
                      offset: float = 0.0) -> None:
        """While targets try to stop dialing, list the instances over and over: one request
        samples every instance, so a flapping one shows `connecting` in some lists (and is
        not taken for quiet), and a quiet one collects its `close` samples without a logout
        each (see `DeletePolicy`); it ends once every listed target has enough of them.
        Errors are ignored (the per-target logouts decide anyway)."""
        counts = remover.census_close
        enough = self.policy.quiet_samples
        pending = set(names)  # listed targets not yet seen `enough` times
        await asyncio.sleep(offset)  # lanes staggered: lists at different moments
        while pending:
            if not remover.stopping:
                await asyncio.sleep(CENSUS_IDLE_S)
                continue
            try:
                instances = await self.client.list_instances()
            except EvolutionError:
                await asyncio.sleep(CENSUS_EVERY_S)
                continue
            self.dialing.feed(instances)
            if remover.census_since is None:
                remover.census_since = time.monotonic()
            closed = set()
            for inst in instances:
                if inst.state is InstanceState.CLOSE:
                    closed.add(inst.name)
                    counts[inst.name] = counts.get(inst.name, 0) + 1
            # done with a name once it was seen `close` often enough, or was not `close`
            # (gone, or connecting/open: the first logout lands, no samples needed)
            pending = {n for n in pending if n in closed and counts.get(n, 0) < enough}
            await asyncio.sleep(CENSUS_EVERY_S)

    def _tracking(self, sink: EventSink) -> EventSink:
        """`sink`, also telling the dialing tracker which instances stopped dialing."""
        def tracked(event: StepEvent) -> None:
            if event.outcome is StepOutcome.OK and event.step in (Step.LOGOUT, Step.DELETE):
                self.dialing.forget(event.instance)
            sink(event)
        return tracked

    async def _remove_records(self, operation: str, target: Target, reseller_id: str | None,
                              result: TargetResult, sink: EventSink, clock: Clock) -> str:
        """Remove the target's records; returns why no new target should start ("" if
        none): the store cannot take record changes any more."""
        stop = ""
        for record in target.records:
            try:
                removed = await self.store.delete_record(target.name, reseller_id=reseller_id,
                                                         doc_id=record.doc_id)
            except StoreError as exc:
                result.record_error = f"record not removed: {exc}"
                result.records_kept += 1
                sink(StepEvent(operation, target.name, Step.RECORD, 1, StepOutcome.FAILED,
                               clock.elapsed(), str(exc)))
                if isinstance(exc, StoreUnreachableError):
                    stop = (f"the database is unreachable ({exc}): no new deletion started, "
                            "their records could not be removed")
                continue
            result.records_removed += removed
            sink(StepEvent(operation, target.name, Step.RECORD, 1,
                           StepOutcome.OK if removed else StepOutcome.GONE, clock.elapsed(),
                           "record removed" if removed else "record was already gone"))
        return stop

    async def _mark_records(self, target: Target, reason: str, sink: EventSink, clock: Clock,
                            operation: str) -> None:
        for record in target.records:
            try:
                marked_at = datetime.fromtimestamp(self.now(), UTC).isoformat(timespec="seconds")
                await self.store.mark_record(record.doc_id, evodash_last_error=reason,
                                             evodash_marked_at=marked_at)
                sink(StepEvent(operation, target.name, Step.MARK, 1, StepOutcome.OK,
                               clock.elapsed(), "record kept and marked"))
            except StoreError as exc:
                sink(StepEvent(operation, target.name, Step.MARK, 1, StepOutcome.FAILED,
                               clock.elapsed(), str(exc)))

    # ------------------------------------------------------------------ forget / adopt / re-provision
    async def _forget(self, plan: Plan, sink: EventSink, op_id: str,
                      cancel: asyncio.Event | None = None) -> Summary:
        clock = Clock()
        summary = Summary("forget", str(plan.scope), notes=list(plan.notes))
        try:
            for target in plan.targets:
                result = TargetResult(target.name, _skipped_outcome(target), target.skip_reason,
                                      target.reseller_id, records_kept=len(target.records))
                summary.targets.append(result)
                if cancel is not None and cancel.is_set() and not target.skip_reason:
                    result.reason = "cancelled before it started"
                elif not target.skip_reason:
                    why = self._intent(op_id, "forget", target.name, target.describe())
                    if why:
                        result.reason = f"not started: {why}"
                    else:
                        await self._forget_one(target, result, sink, clock)
                        self._audit_outcome(op_id, "forget", result)
                sink(_done("forget", result, clock))
        finally:
            summary.cancelled = any("cancelled" in t.reason for t in summary.targets)
            summary.elapsed_s = clock.elapsed()
            self._audit(summary, op_id)
        return summary

    async def _forget_one(self, target: Target, result: TargetResult, sink: EventSink,
                          clock: Clock) -> None:
        name = target.name
        try:  # re-checked right before the record goes
            probe = await self.client.probe(name)
        except EvolutionError as exc:
            result.outcome, result.reason = TargetOutcome.FAILED, f"probe failed: {exc}"
            return
        sink(StepEvent("forget", name, Step.PROBE, 1, StepOutcome(probe.state.value),
                       clock.elapsed()))
        if probe.state is not ProbeState.ABSENT:
            result.reason = f"the name is {probe.state.value} on Evolution: use delete"
            return
        result.records_kept = 0
        await self._remove_records("forget", target, self.scope.reseller_id, result, sink, clock)
        if result.record_error is None:
            result.outcome, result.reason = TargetOutcome.FORGOTTEN, ""
        else:
            result.outcome, result.reason = TargetOutcome.FAILED, result.record_error
            result.record_error = None

    async def _adopt(self, plan: Plan, request: AdoptRequest, sink: EventSink,
                     op_id: str) -> Summary:
        clock = Clock()
        name, reseller_id = request.name, request.reseller_id
        summary = Summary("adopt", str(plan.scope))
        [target] = plan.targets
        result = TargetResult(name, _skipped_outcome(target), target.skip_reason, reseller_id)
        summary.targets.append(result)
        try:
            if target.skip_reason:
                if target.kind in ("reserved", "orphan_record"):
                    result.outcome = TargetOutcome.FAILED  # nothing to adopt: an error
                return summary
            result.outcome = TargetOutcome.FAILED
            if await self.store.find_records(name):  # re-checked: linked since the plan?
                result.outcome = TargetOutcome.SKIPPED
                result.reason = "the name already has a record"
                return summary
            try:
                instance = await self.client.fetch_instance(name)
            except EvolutionError as exc:
                result.reason = f"not an Evolution instance: {exc}"
                return summary
            why = self._intent(op_id, "adopt", name, f"insert a record for {reseller_id}")
            if why:
                result.reason = f"not started: {why}"
                return summary
            await self.store.insert_record(
                reseller_id, name, phone_number=instance.owner_number or None,
                status="connected" if instance.state is InstanceState.OPEN else "disconnected")
            sink(StepEvent("adopt", name, Step.INSERT, 1, StepOutcome.OK, clock.elapsed(),
                           f"record created for reseller {reseller_id}"))
            result.outcome, result.reason = TargetOutcome.ADOPTED, ""
        except StoreError as exc:
            result.outcome, result.reason = TargetOutcome.FAILED, str(exc)
        finally:
            summary.elapsed_s = clock.elapsed()
            if result.outcome is not TargetOutcome.SKIPPED and "not started" not in result.reason:
                self._audit_outcome(op_id, "adopt", result)
            self._audit(summary, op_id)
            sink(_done("adopt", result, clock))
        return summary

    async def _reprovision(self, plan: Plan, sink: EventSink,
                           cancel: asyncio.Event | None, op_id: str) -> Summary:
        clock = Clock()
        summary = Summary("reprovision", str(plan.scope), notes=list(plan.notes))
        try:
            for target in plan.targets:
                result = TargetResult(target.name, _skipped_outcome(target), target.skip_reason,
                                      target.reseller_id)
                summary.targets.append(result)
                if cancel is not None and cancel.is_set() and not target.skip_reason:
                    result.reason = "cancelled before it started"
                elif not target.skip_reason:
                    why = self._intent(op_id, "reprovision", target.name, "create the instance")
                    if why:
                        result.reason = f"not started: {why}"
                    else:
                        await self._reprovision_one(target.name, result, sink, clock)
                        self._audit_outcome(op_id, "reprovision", result)
                sink(_done("reprovision", result, clock))
        finally:
            summary.cancelled = bool(cancel and cancel.is_set())
            summary.elapsed_s = clock.elapsed()
            self._audit(summary, op_id)
        return summary

    async def _reprovision_one(self, name: str, result: TargetResult, sink: EventSink,
                               clock: Clock) -> None:
        try:
            probe = await self.client.probe(name)  # re-checked right before the create
            if probe.state is not ProbeState.ABSENT:
                result.reason = f"the name is {probe.state.value} on Evolution"
                return
            await self.client.create(name)
            sink(StepEvent("reprovision", name, Step.CREATE, 1, StepOutcome.OK,
                           clock.elapsed()))
            result.outcome, result.reason = TargetOutcome.REPROVISIONED, ""
        except EvolutionError as exc:
            result.outcome, result.reason = TargetOutcome.FAILED, str(exc)

    # ------------------------------------------------------------------ create
    async def _create(self, reseller_id: str, qr: bool, sink: EventSink, clock: Clock,
                      summary: Summary, max_names: int) -> None:
        def fail(name: str, reason: str) -> None:
            summary.targets.append(TargetResult(name, TargetOutcome.FAILED, reason, reseller_id))

        try:
            reseller = await self.store.get_reseller(reseller_id)
            if reseller is None:
                return fail("", f"unknown reseller {reseller_id}")
            records, _invalid = await self.store.list_records(reseller_id)
            all_records, _ = await self.store.list_records(None)
            instances = await self.client.list_instances()
        except (StoreError, EvolutionError) as exc:
            return fail("", str(exc))
        linked = {r.instance_name for r in all_records}
        listed = {i.name: i for i in instances}
        taken = set(linked) | set(listed)
        remover = InstanceRemover(self.client, self.policy, sink, "create", self.rng)
        name = ""
        for _ in range(max_names):
            name = unique_instance_name(reseller.name, len(records) + 1, int(self.now()), taken)
            taken.add(name)
            try:
                probe = await self.client.probe(name)
            except EvolutionError as exc:
                return fail(name, f"probe failed: {exc}")
            sink(StepEvent("create", name, Step.PROBE, 1, StepOutcome(probe.state.value),
                           clock.elapsed()))
            if probe.state is not ProbeState.ABSENT and not await self._free_orphan(
                    name, probe.instance_state, linked, remover):
                continue
            try:
                created = await self.client.create(name, qrcode=qr)
            except NameInUseError:
                sink(StepEvent("create", name, Step.CREATE, 1, StepOutcome.RETRY, clock.elapsed(),
                               "403 name in use"))
                if not await self._free_orphan(name, None, linked, remover):
                    continue
                try:
                    created = await self.client.create(name, qrcode=qr)
                except EvolutionError as exc:
                    return fail(name, f"create failed: {exc}")
            except EvolutionError as exc:
                return fail(name, f"create failed: {exc}")
            sink(StepEvent("create", name, Step.CREATE, 1, StepOutcome.OK, clock.elapsed()))
            try:
                record = await self._insert_record(reseller_id, name, remover)
            except StoreError as exc:
                sink(StepEvent("create", name, Step.INSERT, 1, StepOutcome.FAILED,
                               clock.elapsed(), str(exc)))
                # no assumed state: the remover probes, so a `connecting` (QR) instance is
                # logged out before its delete
                undo = await remover.remove(name)
                return fail(name, f"record not inserted ({exc}); the new instance was "
                                  f"{undo.outcome.value.replace('_', ' ')} again")
            sink(StepEvent("create", name, Step.INSERT, 1, StepOutcome.OK, clock.elapsed(),
                           "record created"))
            extra: dict[str, object] = {"record_id": record.id}
            if created.qrcode is not None:
                extra["qrcode"] = {"code": created.qrcode.code,
                                   "pairing_code": created.qrcode.pairing_code}
            summary.targets.append(TargetResult(name, TargetOutcome.CREATED, "", reseller_id,
                                                1, extra=extra))
            return
        return fail(name, f"no free name after {max_names} tries")

    async def _insert_record(self, reseller_id: str, name: str,
                             remover: InstanceRemover) -> ConnectionRecord:
        """Insert the record of an instance just created. A cancellation arriving now does
        not leave the instance an orphan: the insert is finished first (or, if it fails, the
        instance removed again), then the cancellation goes on."""
        insert = asyncio.ensure_future(self.store.insert_record(reseller_id, name))
        try:
            return await asyncio.shield(insert)
        except asyncio.CancelledError:
            try:
                await insert
            except StoreError:
                await remover.remove(name)
            raise

    async def _free_orphan(self, name: str, state: InstanceState | None, linked: set[str],
                           remover: InstanceRemover) -> bool:
        """Remove a name that blocks a create, only if it is an unlinked, non-open orphan."""
        if name in linked:
            return False
        try:  # `linked` is from before the create: the platform may have linked it since
            if await self.store.find_records(name):
                return False
        except StoreError:
            return False
        if state is None:
            try:
                state = (await self.client.probe(name)).instance_state
            except EvolutionError:
                return False
        if state is InstanceState.OPEN:
            return False
        result = await remover.remove(name, state)
        return result.outcome in NAME_FREED

    def _audit(self, summary: Summary, op_id: str | None = None) -> None:
        try:
            self.audit.record(summary, op_id)
        except AuditError as exc:
            summary.notes.append(str(exc))

    def _intent(self, op_id: str, operation: str, name: str, what: str) -> str:
        """The audit intent line; returns why the target must not start ("" when written)."""
        try:
            self.audit.intent(op_id, operation, name, what)
        except AuditError as exc:
            return str(exc)
        return ""


def require_reseller_scope(scope: Scope) -> str:
    if scope.reseller_id is None:
        raise LifecycleError("choose a reseller (--reseller ID) for this operation")
    return scope.reseller_id


def claim_owner(op_id: str) -> str:
    """Who holds a claim: `host:pid:operation id` (tells a live run from a dead one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{op_id or 'evodash'}"


def _skipped_outcome(target: Target) -> TargetOutcome:
    return TargetOutcome.NOT_FOUND if target.kind == "not_found" else TargetOutcome.SKIPPED


def _done(operation: str, result: TargetResult, clock: Clock) -> StepEvent:
    """The event that says a target is finished, with its outcome."""
    good = result.ok and result.outcome is not TargetOutcome.SKIPPED
    outcome = (StepOutcome.SKIPPED if result.outcome in (TargetOutcome.SKIPPED,
                                                         TargetOutcome.NOT_FOUND)
               else StepOutcome.OK if good else StepOutcome.FAILED)
    detail = result.outcome.value + (f": {result.reason}" if result.reason else "")
    return StepEvent(operation, result.name, Step.DONE, 0, outcome, clock.elapsed(), detail,
                     done=result.outcome)
