"""What an operation is: the only author of its plan and its run.

An operation module (`tui/lifecycle/ops/*.py`) defines one `Operation` subclass for one
request type and registers it in `tui.lifecycle.registry`. `plan` builds the plan from
fresh lookups (each target's kind, the steps its run will take or why it is skipped);
`run` carries it out inside a `RunFrame` (which owns the audit lines, claims, cancellation
and done events); `rule` is the operation's own skip rule on a classified target, which the
dashboard asks too (`LifecycleService.refusal`) so it never repeats it.
"""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import OperationKind, Skip
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.plans import Plan, Request, Target

R = TypeVar("R", bound=Request)


class Operation(Generic[R]):
    kind: ClassVar[OperationKind]
    request_type: ClassVar[type]

    async def plan(self, ctx: OpContext, request: R) -> Plan:
        raise NotImplementedError

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        raise NotImplementedError

    def rule(self, target: Target) -> Skip | None:
        """Why this operation leaves a (classified, in-scope) target alone; None: it acts."""
        return None
