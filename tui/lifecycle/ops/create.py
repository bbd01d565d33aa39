"""Create: a new connection for a reseller - a unique name, the instance, then the record.

On a 403 "in use" the name is removed first only when it is an unlinked, non-open orphan;
otherwise another name is picked (at most `MAX_NAMES`). If the record cannot be inserted,
the new instance is removed again (verified) so no orphan is left.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from tui.evolution.errors import EvolutionError, NameInUseError
from tui.evolution.models import CreateResult, InstanceState, ProbeState
from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import OperationKind, Step, StepOutcome, TargetOutcome
from tui.lifecycle.events import NAME_FREED, TargetResult
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.operation import Operation
from tui.lifecycle.planning import reseller_of
from tui.lifecycle.plans import Confirmation, CreateRequest, Plan
from tui.lifecycle.removal import InstanceRemover
from tui.lifecycle.scope import Scope
from tui.reconcile.naming import unique_instance_name
from tui.store.errors import StoreError
from tui.store.models import ConnectionRecord

MAX_NAMES = 5  # names tried before the create gives up
STEPS = (Step.PROBE, Step.CREATE, Step.INSERT)


class Create(Operation[CreateRequest]):
    kind: ClassVar[OperationKind] = OperationKind.CREATE
    request_type: ClassVar[type] = CreateRequest

    async def plan(self, ctx: OpContext, request: CreateRequest) -> Plan:
        scope = Scope.reseller(request.reseller_id)
        ctx.scope.require(scope)
        reseller = await reseller_of(ctx, request.reseller_id)
        who = reseller.name or reseller.id
        return Plan(request, scope, [], ["The name is chosen when it runs (unique on both "
                                         "sides); the record is inserted after the instance."],
                    Confirmation("yes", f"Create a connection for reseller {who}?"),
                    f"New connection for {who}", steps=STEPS)

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        assert isinstance(plan.request, CreateRequest)
        rid = plan.request.reseller_id
        why = frame.intent("", f"create a connection for {rid}")
        if why is not None:
            frame.finish(TargetResult("", TargetOutcome.FAILED, why.detail, rid))
            return
        # the intent named no target (the name is chosen now): the outcome is still audited
        frame.finish(await _Creating(frame, rid, plan.request.qr).run(), audited=True)


class _Creating:
    """One create: picks names until one is free (or freed), creates it, inserts the record."""

    def __init__(self, frame: RunFrame, reseller_id: str, qr: bool) -> None:
        self.frame = frame
        self.ctx = frame.ctx
        self.reseller_id = reseller_id
        self.qr = qr
        self.linked: set[str] = set()
        self.remover = InstanceRemover(self.ctx.client, self.ctx.policy, frame.sink,
                                       frame.operation, self.ctx.rng)

    def fail(self, name: str, reason: str) -> TargetResult:
        return TargetResult(name, TargetOutcome.FAILED, reason, self.reseller_id)

    async def run(self) -> TargetResult:
        try:
            reseller = await self.ctx.store.get_reseller(self.reseller_id)
            if reseller is None:
                return self.fail("", f"unknown reseller {self.reseller_id}")
            records, _invalid = await self.ctx.store.list_records(self.reseller_id)
            all_records, _ = await self.ctx.store.list_records(None)
            instances = await self.ctx.client.list_instances()
        except (StoreError, EvolutionError) as exc:
            return self.fail("", str(exc))
        self.linked = {r.instance_name for r in all_records}
        taken = self.linked | {i.name for i in instances}
        name = ""
        for _ in range(MAX_NAMES):
            name = unique_instance_name(reseller.name, len(records) + 1, int(self.ctx.now()),
                                        taken)
            taken.add(name)
            result = await self._try(name)
            if result is not None:
                return result
        return self.fail(name, f"no free name after {MAX_NAMES} tries")

    async def _try(self, name: str) -> TargetResult | None:
        """One name: a result, or None to try another name."""
        frame = self.frame
        try:
            probe = await self.ctx.client.probe(name)
        except EvolutionError as exc:
            return self.fail(name, f"probe failed: {exc}")
        frame.emit(name, Step.PROBE, 1, StepOutcome(probe.state.value))
        if probe.state is not ProbeState.ABSENT and not await self._free_orphan(
                name, probe.instance_state):
            return None
        try:
            created = await self.ctx.client.create(name, qrcode=self.qr)
        except NameInUseError:
            frame.emit(name, Step.CREATE, 1, StepOutcome.RETRY, "403 name in use")
            if not await self._free_orphan(name, None):
                return None
            try:
                created = await self.ctx.client.create(name, qrcode=self.qr)
            except EvolutionError as exc:
                return self.fail(name, f"create failed: {exc}")
        except EvolutionError as exc:
            return self.fail(name, f"create failed: {exc}")
        frame.emit(name, Step.CREATE, 1, StepOutcome.OK)
        return await self._record(name, created)

    async def _record(self, name: str, created: CreateResult) -> TargetResult:
        frame = self.frame
        try:
            record = await self._insert_record(name)
        except StoreError as exc:
            frame.emit(name, Step.INSERT, 1, StepOutcome.FAILED, str(exc))
            # no assumed state: the remover probes, so a `connecting` (QR) instance is
            # logged out before its delete
            undo = await self.remover.remove(name)
            return self.fail(name, f"record not inserted ({exc}); the new instance was "
                                   f"{undo.outcome.value.replace('_', ' ')} again")
        frame.emit(name, Step.INSERT, 1, StepOutcome.OK, "record created")
        extra: dict[str, object] = {"record_id": record.id}
        if created.qrcode is not None:
            extra["qrcode"] = {"code": created.qrcode.code,
                               "pairing_code": created.qrcode.pairing_code}
        return TargetResult(name, TargetOutcome.CREATED, "", self.reseller_id, 1, extra=extra)

    async def _insert_record(self, name: str) -> ConnectionRecord:
        """Insert the record of an instance just created. A cancellation arriving now does
        not leave the instance an orphan: the insert is finished first (or, if it fails, the
        instance removed again), then the cancellation goes on."""
        insert = asyncio.ensure_future(self.ctx.store.insert_record(self.reseller_id, name))
        try:
            return await asyncio.shield(insert)
        except asyncio.CancelledError:
            try:
                await insert
            except StoreError:
                await self.remover.remove(name)
            raise

    async def _free_orphan(self, name: str, state: InstanceState | None) -> bool:
        """Remove a name that blocks a create, only if it is an unlinked, non-open orphan."""
        if name in self.linked:
            return False
        try:  # `linked` is from before the create: the platform may have linked it since
            if await self.ctx.store.find_records(name):
                return False
        except StoreError:
            return False
        if state is None:
            try:
                state = (await self.ctx.client.probe(name)).instance_state
            except EvolutionError:
                return False
        if state is InstanceState.OPEN:
            return False
        result = await self.remover.remove(name, state)
        return result.outcome in NAME_FREED

