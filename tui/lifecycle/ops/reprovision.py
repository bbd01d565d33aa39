"""Re-provision: the Evolution instance of orphan records whose name is free, created again
under the same name (probed absent right before); the records are kept. Pair it next."""

from __future__ import annotations

from typing import ClassVar

from tui.evolution.errors import EvolutionError
from tui.evolution.models import ProbeState
from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import OperationKind, Skip, SkipCause, Step, StepOutcome, TargetOutcome
from tui.lifecycle.events import TargetResult
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.operation import Operation
from tui.lifecycle.planning import targets_by_rule
from tui.lifecycle.plans import Confirmation, Plan, ReprovisionRequest, Target

STEPS = (Step.PROBE, Step.CREATE)


class Reprovision(Operation[ReprovisionRequest]):
    kind: ClassVar[OperationKind] = OperationKind.REPROVISION
    request_type: ClassVar[type] = ReprovisionRequest

    def rule(self, target: Target) -> Skip | None:
        if not target.records:
            return Skip(SkipCause.NO_RECORD, self.kind)
        if target.listed:
            return Skip(SkipCause.INSTANCE_EXISTS, self.kind)
        if target.probed is not ProbeState.ABSENT:
            return Skip(SkipCause.NAME_NOT_FREE, self.kind,
                        state=target.probed.value if target.probed else "unknown")
        return None

    async def plan(self, ctx: OpContext, request: ReprovisionRequest) -> Plan:
        names = list(dict.fromkeys(request.names))
        targets = await targets_by_rule(ctx, request.names, self.rule, STEPS)
        title = (f"Re-provision {names[0]}?" if len(names) == 1
                 else f"Re-provision {len(names)} orphan records?")
        return Plan(request, ctx.scope, targets,
                    ["Creates the Evolution instance again under the same name (probed "
                     "absent first); the record is kept. Scan its QR code to pair it."],
                    Confirmation("yes", f"Re-create the Evolution instance of "
                                        f"{', '.join(names[:5])}?"), title)

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        await frame.one_by_one(plan.targets, "create the instance",
                               lambda t: self._one(frame, t))

    async def _one(self, frame: RunFrame, target: Target) -> TargetResult:
        name = target.name
        result = TargetResult(name, TargetOutcome.SKIPPED, reseller_id=target.reseller_id)
        try:
            probe = await frame.ctx.client.probe(name)  # re-checked right before the create
            frame.emit(name, Step.PROBE, 1, StepOutcome(probe.state.value))
            if probe.state is not ProbeState.ABSENT:
                return frame.skipped(target, Skip(SkipCause.NAME_NOT_FREE, self.kind,
                                                  state=probe.state.value))
            await frame.ctx.client.create(name)
            frame.emit(name, Step.CREATE, 1, StepOutcome.OK)
            result.outcome = TargetOutcome.REPROVISIONED
        except EvolutionError as exc:
            result.outcome, result.reason = TargetOutcome.FAILED, str(exc)
        return result
