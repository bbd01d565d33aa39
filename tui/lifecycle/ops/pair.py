"""Pair: the QR code (or, with a number, the pairing code) of an existing instance that is
not `open`. Asking dials WhatsApp on the server (a `close` instance starts its socket), so it
is a mutation: refused in read-only mode. `pairing` is asked again and again while a pairing
screen is open (the server rotates the code); `Pair.run` is the audited, one-shot form.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from tui.lifecycle.planning import classify, lookup, observation
from tui.lifecycle.plans import Confirmation, PairRequest, Plan, Target
from tui.lifecycle.scope import LifecycleError
from tui.lifecycle.words import skip_text

STEPS = (Step.CONNECT,)


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


class Pair(Operation[PairRequest]):
    kind: ClassVar[OperationKind] = OperationKind.PAIR
    request_type: ClassVar[type] = PairRequest

    def rule(self, target: Target) -> Skip | None:
        if not target.listed:
            return Skip(SkipCause.NOT_AN_INSTANCE, self.kind, state=target.kind.value)
        if target.state is InstanceState.OPEN:
            return Skip(SkipCause.ALREADY_OPEN, self.kind)
        return None

    async def plan(self, ctx: OpContext, request: PairRequest) -> Plan:
        target = await _target(ctx, request.name)
        target.skip = target.skip or self.rule(target)
        target.steps = STEPS
        how = f"the pairing code for {request.number}" if request.number else "its QR code"
        return Plan(request, ctx.scope, [target], [],
                    Confirmation("yes", f"Pair {request.name}: ask the server for {how}?"),
                    f"Pair {request.name}")

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        [target] = plan.targets
        assert isinstance(plan.request, PairRequest)
        why = target.skip or frame.gate() or frame.intent(target.name, "ask for a QR code")
        if why is not None:
            frame.finish(frame.skipped(target, why))
            return
        result = TargetResult(target.name, TargetOutcome.FAILED,
                              reseller_id=target.reseller_id)
        try:
            pairing = await connect(frame.ctx, target.name, plan.request.number)
        except EvolutionError as exc:
            result.reason = str(exc)
        else:
            frame.emit(target.name, Step.CONNECT, 1, StepOutcome.OK, pairing.state.value)
            result.outcome = TargetOutcome.PAIRING
            result.extra = {"state": pairing.state.value, "code": pairing.code,
                            "pairing_code": pairing.pairing_code}
        frame.finish(result)


async def _target(ctx: OpContext, name: str) -> Target:
    obs = observation(await lookup(ctx, [name]), [])
    return classify(obs, name, ctx.scope, allow_attributed=False)


async def pairing(ctx: OpContext, name: str, number: str | None) -> Pairing:
    """The pairing state of `name` now (asked again to follow the QR rotation); one-line
    `LifecycleError` when it is not an instance, or outside the session's scope."""
    target = await _target(ctx, name)
    if not target.listed:
        what = ("reserved" if target.kind is TargetKind.RESERVED
                else "not an Evolution instance")
        raise LifecycleError(f"{name}: {what}: nothing to pair")
    if target.skip is not None:  # none of its records is in the session's scope
        raise LifecycleError(f"{name}: {skip_text(Skip(SkipCause.OUT_OF_SCOPE, scope=str(ctx.scope)))}")
    if target.state is InstanceState.OPEN:
        return Pairing(name, InstanceState.OPEN)
    return await connect(ctx, name, number)


async def connect(ctx: OpContext, name: str, number: str | None) -> Pairing:
    result = await ctx.client.connect(name, number=number)
    if result.state is InstanceState.OPEN:
        return Pairing(name, InstanceState.OPEN)
    qr = result.qrcode
    return Pairing(name, InstanceState.CONNECTING, code=qr.code if qr else None,
                   pairing_code=qr.pairing_code if qr else None, count=qr.count if qr else 0)
