"""Pair: the QR code (or, with a number, the pairing code) of an existing instance that is
not `open`. Asking dials WhatsApp on the server (a `close` instance starts its socket), so it
is a mutation: refused in read-only mode. `pairing` is asked again and again while a pairing
screen is open (the server rotates the code); `Pair.run` is the audited, one-shot form.

On a server whose dialing instances must be stopped before they are deleted (v1.8), `Pair.run`
first stops any dialing of the instance (`DialingStopper`: logouts until one lands, or the
instance proves quiet): 1.8.6 answers a connect that lands while a dialing instance flaps
`close` with a second socket, and of two sockets one logout stops one - a delete of the
instance later (a `create --qr`, then `pair`, then `delete`) then left its name reserved on
the real server. The follow-up asks (`pairing`) do not: an instance waiting for its phone
stays `connecting`, and a connect then only returns its QR code.
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
from tui.lifecycle.removal.dialing_stop import CensusBoard, DialingStopper
from tui.lifecycle.removal.policy import Emit
from tui.lifecycle.plans import Confirmation, PairRequest, Plan, Target
from tui.lifecycle.scope import LifecycleError
from tui.lifecycle.words import skip_text

STEPS = (Step.CONNECT,)
STOP_THEN_CONNECT = (Step.LOGOUT, Step.CONNECT)  # where the dialing is stopped first (v1.8)


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
        target.steps = STOP_THEN_CONNECT if await _stops_dialing(ctx) else STEPS
        how = f"the pairing code for {request.number}" if request.number else "its QR code"
        return Plan(request, ctx.scope, [target], [],
                    Confirmation("yes", f"Pair {request.name}: ask the server for {how}?"),
                    f"Pair {request.name}")

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        [target] = plan.targets
        assert isinstance(plan.request, PairRequest)
        why = target.skip or frame.gate() or frame.intent(target.name, target.describe())
        if why is not None:
            frame.finish(frame.skipped(target, why))
            return
        result = TargetResult(target.name, TargetOutcome.FAILED,
                              reseller_id=target.reseller_id)

        def emit(step: Step, outcome: StepOutcome, detail: str = "") -> None:
            frame.emit(target.name, step, 1, outcome, detail)

        try:
            if Step.LOGOUT in target.steps:
                await _stop_dialing(frame.ctx, target.name, emit)
            pairing = await connect(frame.ctx, target.name, plan.request.number)
        except EvolutionError as exc:
            result.reason = str(exc)
        else:
            frame.emit(target.name, Step.CONNECT, 1, StepOutcome.OK, pairing.state.value)
            result.outcome = TargetOutcome.PAIRING
            result.extra = {"state": pairing.state.value, "code": pairing.code,
                            "pairing_code": pairing.pairing_code}
        frame.finish(result)


async def _stops_dialing(ctx: OpContext) -> bool:
    return (await ctx.client.removal_profile()).stop_dialing_first


async def _stop_dialing(ctx: OpContext, name: str, emit: Emit) -> None:
    """No socket of `name` left dialing (one landed logout, or seen quiet long enough)."""
    profile = await ctx.client.removal_profile()
    stopper = DialingStopper(ctx.client, ctx.policy.for_server(profile), ctx.rng, ctx.dialing,
                             CensusBoard())
    await stopper.stop(name, emit)


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
