"""Clear-all: everything of a scope - linked names and orphan records (and, with
`include_attributed`, the orphan instances whose name points at the reseller) - removed by
the same verified delete as `delete`, after a typed confirmation.

A reseller's clear-all reads that reseller's records, lists the instances once and probes
only the names of its orphan records; a clear-all of everything (the admin scope) observes
the whole world, because everything is its scope.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import OperationKind
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.observe import Observation, observe
from tui.lifecycle.operation import Operation
from tui.lifecycle.ops.removal_run import RemovalRun
from tui.lifecycle.ops.removal_steps import with_steps
from tui.lifecycle.planning import classify, probe_all, reseller_of, skip_young
from tui.lifecycle.plans import ClearAllRequest, Confirmation, Plan
from tui.reconcile.classify import reconcile
from tui.store.models import Reseller


class ClearAll(Operation[ClearAllRequest]):
    kind: ClassVar[OperationKind] = OperationKind.CLEAR_ALL
    request_type: ClassVar[type] = ClearAllRequest

    async def plan(self, ctx: OpContext, request: ClearAllRequest) -> Plan:
        scope = request.scope
        ctx.scope.require(scope)
        reseller: Reseller | None = None
        notes: list[str]
        word: tuple[str, ...]
        if scope.is_all:
            obs = await observe(ctx.client, ctx.store, None, dialing=ctx.dialing,
                                probe_concurrency=ctx.probe_concurrency)
            names, notes, word = _all_names(obs, request), [], ("ALL",)
        else:
            obs, names, notes, reseller = await _reseller_world(ctx, request)
            word = (scope.reseller_id or "", reseller.name)
        if obs.invalid:
            notes.append(f"{len(obs.invalid)} invalid record(s) left alone (no usable name)")
        ctx.first_seen.note(i.name for i in obs.instances)
        targets = [classify(obs, n, scope, allow_attributed=request.include_attributed)
                   for n in sorted(set(names))]
        skip_young(ctx, targets)
        with_steps(targets, await ctx.client.removal_profile())
        label = "ALL" if scope.is_all else (reseller.name if reseller and reseller.name
                                            else str(scope))
        what = "orphans" if request.orphans_only else "everything"
        count = len([t for t in targets if t.skip is None])
        confirmation = Confirmation(
            "type", f"Clear {count} name(s) in scope {scope} ({what})?", tuple(word))
        return Plan(request, scope, targets, notes, confirmation,
                    f"Clear all: {label}" + (" · orphans only" if request.orphans_only else ""))

    async def run(self, frame: RunFrame, plan: Plan, concurrency: int | None) -> None:
        await RemovalRun(frame, plan, bulk=True, concurrency=concurrency).run()


def _all_names(obs: Observation, request: ClearAllRequest) -> list[str]:
    full = obs.full
    names: list[str] = []
    if not request.orphans_only:
        names += [row.name for row in full.linked]
    names += [row.name for row in full.orphan_instances]
    names += [row.name for row in full.orphan_records]
    return names


async def _reseller_world(ctx: OpContext, request: ClearAllRequest
                          ) -> tuple[Observation, list[str], list[str], Reseller]:
    """A reseller's records, the instance list once, probes of only its orphan records'
    names, and the other tenants' records that share those names."""
    rid = request.scope.reseller_id
    assert rid is not None
    reseller = await reseller_of(ctx, rid)
    (mine, invalid), instances = await asyncio.gather(
        ctx.store.list_records(rid), ctx.client.list_instances())
    ctx.dialing.feed(instances)
    instances = ctx.dialing.mark(instances)
    listed = {i.name for i in instances}
    own_names = sorted({r.instance_name for r in mine})
    unlisted = [n for n in own_names if n not in listed]
    resellers = await ctx.store.list_resellers() if request.include_attributed else [reseller]
    records, probes = await asyncio.gather(
        ctx.store.find_records_named(own_names), probe_all(ctx, unlisted))
    recon = reconcile(instances, records, resellers, probes)
    obs = Observation(instances, records, invalid, resellers, probes, recon, recon)
    notes = [f"reseller {rid} has no records: nothing of theirs to clear"] if not mine else []
    names: list[str] = []
    owns = request.scope.owns
    if not request.orphans_only:
        names += [row.name for row in recon.linked if owns(row.record.reseller_id)]
    names += [row.name for row in recon.orphan_records if owns(row.record.reseller_id)]
    if request.include_attributed:
        names += [row.name for row in recon.orphan_instances
                  if row.attributed_reseller is not None and row.attributed_reseller.id == rid]
    return obs, names, notes, reseller
