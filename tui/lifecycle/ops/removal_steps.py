"""The steps of a verified delete of one target, as its plan names them (and as
`RemovalRun` executes them: a listed instance is re-checked by its first logout, any other
name by a probe)."""

from __future__ import annotations

from tui.evolution.models import ProbeState
from tui.lifecycle.domain import Step
from tui.lifecycle.plans import Target


def removal_steps(target: Target) -> tuple[Step, ...]:
    steps: list[Step] = [Step.LOGOUT] if target.listed else [Step.PROBE]
    if target.listed or target.probed is not ProbeState.ABSENT:
        steps.append(Step.DELETE)
    steps.append(Step.VERIFY)
    if target.records:
        steps.append(Step.RECORD)
    return tuple(steps)


def with_steps(targets: list[Target]) -> list[Target]:
    """`targets`, each given the steps of its removal (shown unless it is skipped)."""
    for target in targets:
        target.steps = removal_steps(target)
    return targets
