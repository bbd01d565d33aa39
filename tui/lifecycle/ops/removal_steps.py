"""The steps of a verified delete of one target, as its plan names them (and as
`RemovalRun` executes them: a listed instance is re-checked by its first logout where the
server's removal profile stops the dialing first (v1.8), any other name - and every name on
a server that needs no dialing stop (v2) - by a probe)."""

from __future__ import annotations

from tui.evolution.models import ProbeState
from tui.evolution.wire import RemovalProfile
from tui.lifecycle.domain import Step
from tui.lifecycle.plans import Target


def removal_steps(target: Target, profile: RemovalProfile) -> tuple[Step, ...]:
    logout_first = target.listed and profile.stop_dialing_first
    steps: list[Step] = [Step.LOGOUT] if logout_first else [Step.PROBE]
    if target.listed or target.probed is not ProbeState.ABSENT:
        steps.append(Step.DELETE)
    steps.append(Step.VERIFY)
    if target.records:
        steps.append(Step.RECORD)
    return tuple(steps)


def with_steps(targets: list[Target], profile: RemovalProfile) -> list[Target]:
    """`targets`, each given the steps of its removal on a server with `profile` (shown
    unless it is skipped)."""
    for target in targets:
        target.steps = removal_steps(target, profile)
    return targets
