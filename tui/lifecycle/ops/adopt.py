"""Adopt: a record for an orphan instance, for the reseller the operator chose."""

from __future__ import annotations

from typing import ClassVar

from tui.evolution.errors import EvolutionError
from tui.evolution.models import InstanceState
from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import (
    OperationKind,
    Skip,
    SkipCause,
    Step,
    StepOutcome,
    TargetKind,
    TargetOutcome,
)
from tui.lifecycle.events import TargetResult
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.operation import Operation
from tui.lifecycle.planning import lookup, reseller_of
from tui.lifecycle.plans import AdoptRequest, Confirmation, Plan, Target
from tui.lifecycle.scope import Scope
from tui.reconcile.kinds import kind_of
from tui.store.errors import StoreError

STEPS = (Step.INSERT,)


class Adopt(Operation[AdoptRequest]):
    kind: ClassVar[OperationKind] = OperationKind.ADOPT
    request_type: ClassVar[type] = AdoptRequest

    def rule(self, target: Target) -> Skip | None:
        if target.kind is TargetKind.NOT_FOUND:
            return Skip(SkipCause.NOT_FOUND)
        if not target.listed:
            return Skip(SkipCause.NOT_AN_INSTANCE, self.kind)
        if target.records:
            return Skip(SkipCause.ALREADY_LINKED, self.kind)
        return None

    async def plan(self, ctx: OpContext, request: AdoptRequest) -> Plan:
        scope = Scope.reseller(request.reseller_id)
        ctx.scope.require(scope)
        reseller = await reseller_of(ctx, request.reseller_id)
        lk = (await lookup(ctx, [request.name]))[request.name]
        probed = lk.probe.state if lk.probe else None
        target = Target(request.name, lk.records, lk.instance.state if lk.instance else None,
                        probed, kind_of(lk.instance is not None, bool(lk.records), probed),
                        steps=STEPS)
        target.skip = self.rule(target)
        who = reseller.name or reseller.id
        return Plan(request, scope, [target], [],
                    Confirmation("yes", f"Adopt {request.name} for reseller {who}?"),
                    f"Adopt {request.name}?")

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        [target] = plan.targets
        assert isinstance(plan.request, AdoptRequest)
        reseller_id = plan.request.reseller_id
        if target.skip is not None:
            result = frame.skipped(target, target.skip)
            if target.kind in (TargetKind.RESERVED, TargetKind.ORPHAN_RECORD, TargetKind.UNKNOWN):
                result.outcome = TargetOutcome.FAILED  # nothing to adopt: an error
            result.reseller_id = reseller_id
            frame.finish(result)
            return
        frame.finish(await self._adopt(frame, target, reseller_id))

    async def _adopt(self, frame: RunFrame, target: Target, reseller_id: str) -> TargetResult:
        ctx, name = frame.ctx, target.name
        result = TargetResult(name, TargetOutcome.FAILED, reseller_id=reseller_id)
        try:
            if await ctx.store.find_records(name):  # re-checked: linked since the plan?
                return TargetResult(name, TargetOutcome.SKIPPED, reseller_id=reseller_id,
                                    skip=Skip(SkipCause.ALREADY_LINKED, self.kind))
            try:
                instance = await ctx.client.fetch_instance(name)
            except EvolutionError as exc:
                result.reason = f"not an Evolution instance: {exc}"
                return result
            why = frame.intent(name, f"insert a record for {reseller_id}")
            if why is not None:
                return TargetResult(name, TargetOutcome.SKIPPED, reseller_id=reseller_id,
                                    skip=why)
            await ctx.store.insert_record(
                reseller_id, name, phone_number=instance.owner_number or None,
                status="connected" if instance.state is InstanceState.OPEN else "disconnected")
            frame.emit(name, Step.INSERT, 1, StepOutcome.OK,
                       f"record created for reseller {reseller_id}")
            result.outcome = TargetOutcome.ADOPTED
        except StoreError as exc:
            result.outcome, result.reason = TargetOutcome.FAILED, str(exc)
        return result
