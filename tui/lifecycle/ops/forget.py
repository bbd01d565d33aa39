"""Forget: remove orphan records whose name is verified free on Evolution (database only).
Each name is probed again right before its records go, and must be absent."""

from __future__ import annotations

from typing import ClassVar

from tui.evolution.errors import EvolutionError
from tui.evolution.models import ProbeState
from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import OperationKind, Skip, SkipCause, Step, StepOutcome, TargetOutcome
from tui.lifecycle.events import TargetResult
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.operation import Operation
from tui.lifecycle.ops.records import remove_records
from tui.lifecycle.planning import targets_by_rule
from tui.lifecycle.plans import Confirmation, ForgetRequest, Plan, Target

STEPS = (Step.PROBE, Step.RECORD)


class Forget(Operation[ForgetRequest]):
    kind: ClassVar[OperationKind] = OperationKind.FORGET
    request_type: ClassVar[type] = ForgetRequest

    def rule(self, target: Target) -> Skip | None:
        if target.listed:
            return Skip(SkipCause.INSTANCE_EXISTS, self.kind)
        if not target.records:
            return Skip(SkipCause.NO_RECORD, self.kind)
        if target.probed is not ProbeState.ABSENT:
            return Skip(SkipCause.NAME_NOT_FREE, self.kind,
                        state=target.probed.value if target.probed else "unknown")
        return None

    async def plan(self, ctx: OpContext, request: ForgetRequest) -> Plan:
        names = list(dict.fromkeys(request.names))
        targets = await targets_by_rule(ctx, request.names, self.rule, STEPS)
        return Plan(request, ctx.scope, targets,
                    ["Database only: each name is probed again and must be absent."],
                    Confirmation("yes", f"Forget (database only) {', '.join(names[:5])}?"),
                    f"Forget {len(names)} orphan record(s)?")

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        await frame.one_by_one(plan.targets, "", lambda t: self._forget_one(frame, t))

    async def _forget_one(self, frame: RunFrame, target: Target) -> TargetResult:
        name = target.name
        result = TargetResult(name, TargetOutcome.SKIPPED, reseller_id=target.reseller_id,
                              records_kept=len(target.records))
        try:  # re-checked right before the record goes
            probe = await frame.ctx.client.probe(name)
        except EvolutionError as exc:
            result.outcome, result.reason = TargetOutcome.FAILED, f"probe failed: {exc}"
            return result
        frame.emit(name, Step.PROBE, 1, StepOutcome(probe.state.value))
        if probe.state is not ProbeState.ABSENT:
            return frame.skipped(target, Skip(SkipCause.NAME_NOT_FREE, self.kind,
                                              state=probe.state.value))
        result.records_kept = 0
        await remove_records(frame, target, result)
        if result.record_error is None:
            result.outcome = TargetOutcome.FORGOTTEN
        else:
            result.outcome, result.reason = TargetOutcome.FAILED, result.record_error
            result.record_error = None
        return result
