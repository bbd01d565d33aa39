"""Delete: the verified delete of named instances (one name, several, the marked rows) and,
once each name is verified free, its records in the session's scope."""

from __future__ import annotations

from typing import ClassVar

from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import OperationKind
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.operation import Operation
from tui.lifecycle.ops.removal_run import RemovalRun
from tui.lifecycle.ops.removal_steps import with_steps
from tui.lifecycle.planning import classify, lookup, observation, resellers_if_needed, skip_young
from tui.lifecycle.plans import Confirmation, DeleteRequest, Plan


class Delete(Operation[DeleteRequest]):
    kind: ClassVar[OperationKind] = OperationKind.DELETE
    request_type: ClassVar[type] = DeleteRequest

    async def plan(self, ctx: OpContext, request: DeleteRequest) -> Plan:
        names = list(dict.fromkeys(request.names))
        lookups = await lookup(ctx, names)
        obs = observation(lookups, await resellers_if_needed(ctx, lookups))
        targets = [classify(obs, n, ctx.scope, allow_attributed=True) for n in names]
        if len(targets) > 1:
            skip_young(ctx, targets)  # several names: a bulk operation
        with_steps(targets, await ctx.client.removal_profile())
        count = len([t for t in targets if t.skip is None])
        title = (f"Delete {names[0]}?" if len(names) == 1 else
                 f"Delete {len(names)} connections?")
        question = (f"Delete {count} instance(s) in scope {ctx.scope} (logout → delete → "
                    f"verify → remove record): {', '.join(names[:5])}"
                    + (" …" if len(names) > 5 else "") + "?")
        notes = (["The record is removed only once the name is verified free."]
                 if any(t.records for t in targets) else [])
        return Plan(request, ctx.scope, targets, notes, Confirmation("yes", question), title)

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        await RemovalRun(frame, plan, bulk=len(plan.targets) > 1,
                         concurrency=concurrency).run()
