"""The lifecycle service: every mutation evodash makes goes through here.

It enforces the tenant scope and read-only mode, plans from a fresh observation, runs targets
with bounded concurrency, streams `StepEvent`s to a sink, ends with a `Summary`, writes one
audit line per operation, and never removes a database record unless its instance was
verified gone (`removed` / `already_absent`).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from tui.evolution.errors import EvolutionError, NameInUseError, UnauthorizedError
from tui.evolution.models import InstanceState, ProbeState
from tui.lifecycle.audit import AuditLog
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
from tui.lifecycle.scope import LifecycleError, ReadOnlyError, Scope
from tui.reconcile.naming import unique_instance_name
from tui.store.errors import StoreError
from tui.store.models import ConnectionRecord


# the census of bulk operations (`LifecycleService._census`)
CENSUS_EVERY_S = 0.03
CENSUS_LANES = 3  # lists in flight at once (a slow list must not leave the census blind)
CENSUS_IDLE_S = 0.02


@dataclass
class Target:
    """One name an operation will act on, with what the plan knows of it."""

    name: str
    records: list[ConnectionRecord]
    state: InstanceState | None = None  # from fetchInstances, when listed
    probed: ProbeState | None = None  # from the observation's probe, when not listed
    kind: str = ""  # linked / orphan_instance / orphan_record / unknown
    skip_reason: str = ""

    @property
    def reseller_id(self) -> str | None:
        ids = {r.reseller_id for r in self.records}
        return ids.pop() if len(ids) == 1 else None

    def describe(self) -> str:
        if self.skip_reason:
            return f"skip: {self.skip_reason}"
        steps = []
        if self.state in (InstanceState.OPEN, InstanceState.CONNECTING):
            steps.append("logout")
        if self.state is not None or self.probed is not ProbeState.ABSENT:
            steps.append("delete")
        steps.append("verify")
        if self.records:
            steps.append(f"remove {len(self.records)} record(s)")
        state = self.state.value if self.state else (self.probed.value if self.probed else "?")
        return f"{self.kind} ({state}): " + " → ".join(steps)


@dataclass
class Plan:
    scope: Scope
    targets: list[Target]
    notes: list[str]

    @property
    def actionable(self) -> list[Target]:
        return [t for t in self.targets if not t.skip_reason]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.targets:
            key = "skipped" if t.skip_reason else t.kind
            out[key] = out.get(key, 0) + 1
        return out


class LifecycleService:
    """Verified create / delete / clear-all / forget / adopt / re-provision."""

    def __init__(self, client, store, *, scope: Scope | None = None,
                 policy: DeletePolicy | None = None, concurrency: int = 4,
                 read_only: bool = False, audit: AuditLog | None = None,
                 now=time.time, rng: random.Random | None = None):
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

    async def sample_dialing(self, rounds: int = 6, spacing_s: float = 0.15) -> None:
        """List the instances `rounds` times, `spacing_s` apart, so that the next observation
        can tell dialing instances (they flap: one list mostly says `close`)."""
        for i in range(rounds):
            if i:
                await asyncio.sleep(spacing_s)
            self.dialing.feed(await self.client.list_instances())

    async def complete_probes(self, obs: Observation) -> Observation:
        """`obs` with its orphan records' names probed (nothing is fetched again)."""
        return await complete_probes(self.client, obs, self.scope.reseller_id,
                                     probe_concurrency=self._probe_concurrency())

    def _probe_concurrency(self) -> int:
        return max(4, self.concurrency * 2)

    # ------------------------------------------------------------------ guards
    def authorize(self, operation: str, scope: Scope | None = None) -> None:
        """Raise `ReadOnlyError` / `ScopeError` unless this session may run `operation`."""
        if self.read_only:
            raise ReadOnlyError(operation)
        if scope is not None:
            self.scope.require(scope)

    # ------------------------------------------------------------------ planning
    def _target(self, obs: Observation, name: str, scope: Scope,
                allow_attributed: bool) -> Target:
        records = obs.records_named(name)
        instance = obs.instance(name)
        probe = obs.probes.get(name)
        kind = ("linked" if instance and records else "orphan_instance" if instance
                else "orphan_record" if records else "unknown")
        target = Target(name, records, instance.state if instance else None,
                        probe.state if probe and not instance else None, kind)
        if scope.is_all:
            return target
        mine = [r for r in records if r.reseller_id == scope.reseller_id]
        others = [r for r in records if r.reseller_id != scope.reseller_id]
        target.records = mine
        if others:
            target.skip_reason = "the name is also used by another reseller's record"
        elif not mine:
            attributed = obs.attributed_reseller_id(name) == scope.reseller_id
            if not (attributed and allow_attributed):
                target.skip_reason = f"outside scope {scope}"
        return target

    async def plan_clear_all(self, scope: Scope, *, orphans_only: bool = False,
                             include_attributed: bool = False,
                             obs: Observation | None = None) -> Plan:
        """What a clear-all would touch. Changes nothing."""
        self.scope.require(scope)
        obs = obs or await self.observe()
        full = obs.full
        notes: list[str] = []
        names: list[str] = []
        if scope.is_all:
            if not orphans_only:
                names += [row.name for row in full.linked]
            names += [row.name for row in full.orphan_instances]
            names += [row.name for row in full.orphan_records]
        else:
            rid = scope.reseller_id
            mine = [r for r in obs.records if r.reseller_id == rid]
            if not mine:
                notes.append(f"reseller {rid} has no records: nothing of theirs to clear")
            if not orphans_only:
                names += [row.name for row in full.linked if row.record.reseller_id == rid]
            names += [row.name for row in full.orphan_records if row.record.reseller_id == rid]
            if include_attributed:
                names += [row.name for row in full.orphan_instances
                          if row.attributed_reseller is not None
                          and row.attributed_reseller.id == rid]
        if obs.invalid:
            notes.append(f"{len(obs.invalid)} invalid record(s) left alone (no usable name)")
        unique = sorted(set(names))
        targets = [self._target(obs, n, scope, include_attributed) for n in unique]
        return Plan(scope, targets, notes)

    # ------------------------------------------------------------------ running
    async def _run_targets(self, operation: str, scope: Scope, targets: list[Target],
                           sink: EventSink, cancel: asyncio.Event | None,
                           concurrency: int | None, notes: list[str]) -> Summary:
        clock = Clock()
        summary = Summary(operation, str(scope), notes=list(notes))
        sink = self._tracking(sink)
        remover = InstanceRemover(self.client, self.policy, sink, operation, self.rng,
                                  dialing=self.dialing)
        sem = asyncio.Semaphore(max(1, concurrency or self.concurrency))
        results: dict[str, TargetResult] = {}
        stop_reason: list[str] = []

        def skipped(target: Target, reason: str) -> TargetResult:
            return TargetResult(target.name, TargetOutcome.SKIPPED, reason, target.reseller_id,
                                records_kept=len(target.records))

        async def run(target: Target) -> None:
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
                started = time.monotonic()
                try:
                    outcome = await remover.remove(target.name, target.state, target.probed,
                                                   slot=slot)
                except UnauthorizedError as exc:
                    stop_reason.append(str(exc))
                    results[target.name] = TargetResult(target.name, TargetOutcome.FAILED,
                                                        str(exc), target.reseller_id,
                                                        records_kept=len(target.records))
                    # a failed target's records are kept *and marked*, 401 included
                    await self._mark_records(target, str(exc), sink, clock, operation)
                    return
                result = TargetResult(target.name, outcome.outcome, outcome.reason,
                                      target.reseller_id, outcome.attempts)
                results[target.name] = result
                if outcome.outcome in NAME_FREED:
                    await self._remove_records(operation, target, scope.reseller_id, result,
                                               sink, clock)
                else:
                    result.records_kept = len(target.records)
                    await self._mark_records(target, outcome.reason, sink, clock, operation)
                result.elapsed_s = time.monotonic() - started

        # dialing instances first: stopping them makes the server fast again for the rest
        def priority(target: Target) -> int:
            if target.state in (InstanceState.CONNECTING, InstanceState.OPEN):
                return 0
            return 1 if target.state is not None else 2

        tasks = [asyncio.create_task(run(t)) for t in sorted(targets, key=priority)]
        listed = {t.name for t in targets if t.state is not None and not t.skip_reason}
        census = ([asyncio.create_task(self._census(
                      remover, listed, lane * CENSUS_EVERY_S / CENSUS_LANES))
                   for lane in range(CENSUS_LANES)] if len(listed) > 1 else [])
        try:
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            for target, outcome in zip(targets, outcomes):
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
            summary.cancelled = summary.cancelled or bool(cancel and cancel.is_set())
            for target in targets:
                summary.targets.append(results.get(target.name) or skipped(
                    target, "not reached (operation stopped)"))
            summary.elapsed_s = clock.elapsed()
            self._audit(summary)
        return summary

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
                              result: TargetResult, sink: EventSink, clock: Clock) -> None:
        for record in target.records:
            try:
                removed = await self.store.delete_record(target.name, reseller_id=reseller_id,
                                                         doc_id=record.doc_id)
            except StoreError as exc:
                result.record_error = f"record not removed: {exc}"
                result.records_kept += 1
                sink(StepEvent(operation, target.name, Step.RECORD, 1, StepOutcome.FAILED,
                               clock.elapsed(), str(exc)))
                continue
            result.records_removed += removed
            sink(StepEvent(operation, target.name, Step.RECORD, 1,
                           StepOutcome.OK if removed else StepOutcome.GONE, clock.elapsed(),
                           "record removed" if removed else "record was already gone"))

    async def _mark_records(self, target: Target, reason: str, sink: EventSink, clock: Clock,
                            operation: str) -> None:
        for record in target.records:
            try:
                await self.store.mark_record(record.doc_id, evodash_last_error=reason,
                                             evodash_marked_at=self.now())
                sink(StepEvent(operation, target.name, Step.MARK, 1, StepOutcome.OK,
                               clock.elapsed(), "record kept and marked"))
            except StoreError as exc:
                sink(StepEvent(operation, target.name, Step.MARK, 1, StepOutcome.FAILED,
                               clock.elapsed(), str(exc)))

    # ------------------------------------------------------------------ operations
    async def clear_all(self, scope: Scope, *, orphans_only: bool = False,
                        include_attributed: bool = False, dry_run: bool = False,
                        sink: EventSink = null_sink, cancel: asyncio.Event | None = None,
                        concurrency: int | None = None, plan: Plan | None = None) -> Summary:
        if not dry_run:
            self.authorize("clear-all", scope)
        plan = plan or await self.plan_clear_all(scope, orphans_only=orphans_only,
                                                 include_attributed=include_attributed)
        sink(StepEvent("clear-all", "", Step.PLAN, 0, StepOutcome.OK, 0.0,
                       f"{len(plan.actionable)} to remove, "
                       f"{len(plan.targets) - len(plan.actionable)} skipped"))
        if dry_run:
            summary = Summary("clear-all", str(scope), dry_run=True, notes=plan.notes)
            for t in plan.targets:
                outcome = TargetOutcome.SKIPPED if t.skip_reason else TargetOutcome.PLANNED
                summary.targets.append(TargetResult(t.name, outcome, t.describe(),
                                                    t.reseller_id,
                                                    records_kept=len(t.records)))
            return summary
        return await self._run_targets("clear-all", scope, plan.targets, sink, cancel,
                                       concurrency, plan.notes)

    async def delete(self, names: Iterable[str], *, sink: EventSink = null_sink,
                     cancel: asyncio.Event | None = None, obs: Observation | None = None,
                     concurrency: int | None = None) -> Summary:
        """Verified delete of named instances (and, once gone, their records in scope)."""
        self.authorize("delete")
        names = list(dict.fromkeys(names))
        obs = obs or await self.observe()
        targets = [self._target(obs, n, self.scope, allow_attributed=True) for n in names]
        return await self._run_targets("delete", self.scope, targets, sink, cancel,
                                       concurrency, [])

    async def forget(self, names: Iterable[str], *, sink: EventSink = null_sink) -> Summary:
        """Remove orphan records whose name is verified free on Evolution (database only)."""
        self.authorize("forget")
        clock = Clock()
        summary = Summary("forget", str(self.scope))
        obs = await self.observe(probe_orphans=False)
        try:
            for name in dict.fromkeys(names):
                target = self._target(obs, name, self.scope, allow_attributed=False)
                result = TargetResult(name, TargetOutcome.SKIPPED, reseller_id=target.reseller_id,
                                      records_kept=len(target.records))
                summary.targets.append(result)
                if target.skip_reason:
                    result.reason = target.skip_reason
                elif not target.records:
                    result.reason = "no record with that name"
                elif obs.instance(name) is not None:
                    result.reason = "the instance exists: use delete, not forget"
                else:
                    try:
                        probe = await self.client.probe(name)
                    except EvolutionError as exc:
                        result.outcome, result.reason = TargetOutcome.FAILED, f"probe failed: {exc}"
                        continue
                    sink(StepEvent("forget", name, Step.PROBE, 1, StepOutcome(probe.state.value),
                                   clock.elapsed()))
                    if probe.state is not ProbeState.ABSENT:
                        result.reason = f"the name is {probe.state.value} on Evolution: use delete"
                        continue
                    result.records_kept = 0
                    await self._remove_records("forget", target, self.scope.reseller_id,
                                               result, sink, clock)
                    if result.record_error is None:
                        result.outcome, result.reason = TargetOutcome.FORGOTTEN, ""
                    else:
                        result.outcome, result.reason = TargetOutcome.FAILED, result.record_error
                        result.record_error = None
        finally:
            summary.elapsed_s = clock.elapsed()
            self._audit(summary)
        return summary

    async def adopt(self, name: str, reseller_id: str, *,
                    sink: EventSink = null_sink) -> Summary:
        """Create a record linking an orphan instance to a reseller."""
        scope = Scope.reseller(reseller_id)
        self.authorize("adopt", scope)
        clock = Clock()
        summary = Summary("adopt", str(scope))
        result = TargetResult(name, TargetOutcome.FAILED, reseller_id=reseller_id)
        summary.targets.append(result)
        try:
            reseller = await self.store.get_reseller(reseller_id)
            existing = await self.store.find_records(name)
            if reseller is None:
                result.reason = f"unknown reseller {reseller_id}"
            elif existing:
                result.outcome = TargetOutcome.SKIPPED
                result.reason = "the name already has a record"
            else:
                try:
                    instance = await self.client.fetch_instance(name)
                except EvolutionError as exc:
                    result.reason = f"not an Evolution instance: {exc}"
                    return summary
                await self.store.insert_record(
                    reseller_id, name, phone_number=instance.owner_number or None,
                    status="connected" if instance.state is InstanceState.OPEN else "disconnected")
                sink(StepEvent("adopt", name, Step.INSERT, 1, StepOutcome.OK, clock.elapsed(),
                               f"record created for reseller {reseller_id}"))
                result.outcome, result.reason = TargetOutcome.ADOPTED, ""
        except StoreError as exc:
            result.reason = str(exc)
        finally:
            summary.elapsed_s = clock.elapsed()
            self._audit(summary)
        return summary

    async def reprovision(self, name: str, *, sink: EventSink = null_sink) -> Summary:
        """Create the Evolution instance of an orphan record whose name is free."""
        self.authorize("reprovision")
        clock = Clock()
        summary = Summary("reprovision", str(self.scope))
        obs = await self.observe(probe_orphans=False)
        target = self._target(obs, name, self.scope, allow_attributed=False)
        result = TargetResult(name, TargetOutcome.SKIPPED, reseller_id=target.reseller_id)
        summary.targets.append(result)
        try:
            if target.skip_reason:
                result.reason = target.skip_reason
            elif not target.records:
                result.reason = "no record with that name"
            elif obs.instance(name) is not None:
                result.reason = "the instance already exists"
            else:
                probe = await self.client.probe(name)
                if probe.state is not ProbeState.ABSENT:
                    result.reason = f"the name is {probe.state.value} on Evolution"
                else:
                    await self.client.create(name)
                    sink(StepEvent("reprovision", name, Step.CREATE, 1, StepOutcome.OK,
                                   clock.elapsed()))
                    result.outcome, result.reason = TargetOutcome.REPROVISIONED, ""
        except EvolutionError as exc:
            result.outcome, result.reason = TargetOutcome.FAILED, str(exc)
        finally:
            summary.elapsed_s = clock.elapsed()
            self._audit(summary)
        return summary

    async def create(self, reseller_id: str, *, qr: bool = False,
                     sink: EventSink = null_sink, max_names: int = 5) -> Summary:
        """Create a connection: a unique name, the instance, then the record.

        On 403 "in use" the name is removed first only when it is an unlinked, non-open
        orphan; otherwise another name is picked. If the record cannot be inserted, the new
        instance is removed again (verified) so no orphan is left.
        """
        scope = Scope.reseller(reseller_id)
        self.authorize("create", scope)
        clock = Clock()
        summary = Summary("create", str(scope))
        try:
            await self._create(reseller_id, qr, sink, clock, summary, max_names)
        finally:
            summary.elapsed_s = clock.elapsed()
            self._audit(summary)
        return summary

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
            extra = {"record_id": record.id}
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

    def _audit(self, summary: Summary) -> None:
        try:
            self.audit.record(summary)
        except OSError as exc:
            summary.notes.append(f"audit log not written: {exc.strerror or exc}")


def require_reseller_scope(scope: Scope) -> str:
    if scope.reseller_id is None:
        raise LifecycleError("choose a reseller (--reseller ID) for this operation")
    return scope.reseller_id
