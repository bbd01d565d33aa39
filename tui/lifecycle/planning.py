"""What every plan looks up, and the rules every operation shares.

A plan of N names looks up exactly those names: one `fetchInstances?instanceName=` each
(plus a `connectionState` probe when it is not listed) and one database query for their
records (`lookup`). `classify` turns what was found into a `Target` in a scope: its kind
(`tui.reconcile.kinds.kind_of`) and the skips every operation shares (not found, another
tenant's record on the name, outside the session's scope). Each operation adds its own rule
(`Operation.rule`), and the dashboard asks the same rules (`LifecycleService.refusal`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from tui.evolution.errors import (
    EvolutionError,
    MalformedResponseError,
    NotFoundError,
    UnauthorizedError,
    UnreachableError,
)
from tui.evolution.models import Instance, ProbeResult, ProbeState
from tui.lifecycle.context import OpContext
from tui.lifecycle.domain import Skip, SkipCause, Step, TargetKind
from tui.lifecycle.observe import Observation
from tui.lifecycle.plans import Target
from tui.lifecycle.scope import LifecycleError, Scope
from tui.lifecycle.seen import young_orphan
from tui.reconcile.classify import reconcile
from tui.reconcile.kinds import kind_of
from tui.store.models import ConnectionRecord, Reseller

# errors that no plan can work around (a wrong key, a server that is not there or answers
# garbage): raised; any other failure of one name's lookup leaves that name unknown (the
# run looks again)
FATAL = (UnauthorizedError, UnreachableError, MalformedResponseError)


class UnknownResellerError(LifecycleError):
    def __init__(self, reseller_id: str):
        super().__init__(f"unknown reseller {reseller_id!r}: no reseller has that id")


@dataclass
class Lookup:
    """What a fresh lookup found for one name."""

    name: str
    instance: Instance | None
    probe: ProbeResult | None  # only when not listed
    records: list[ConnectionRecord]


async def _one(ctx: OpContext, sem: asyncio.Semaphore, name: str
               ) -> tuple[Instance | None, ProbeResult | None]:
    """(instance, None) when listed; (None, probe) when not; (None, None) when the server
    did not say (the run looks again before it touches the name)."""
    async with sem:
        try:
            return await ctx.client.fetch_instance(name), None
        except NotFoundError:
            pass
        except FATAL:
            raise
        except EvolutionError:
            return None, None
        try:
            return None, await ctx.client.locate(name)
        except FATAL:
            raise
        except EvolutionError:
            return None, None


async def lookup(ctx: OpContext, names: list[str]) -> dict[str, Lookup]:
    """Fresh facts about just `names`: instance (or probe) and every record."""
    names = list(dict.fromkeys(names))
    sem = asyncio.Semaphore(ctx.probe_concurrency)
    records, found = await asyncio.gather(
        ctx.store.find_records_named(names),
        asyncio.gather(*(_one(ctx, sem, n) for n in names)))
    by_name: dict[str, list[ConnectionRecord]] = {}
    for record in records:
        by_name.setdefault(record.instance_name, []).append(record)
    instances = [i for i, _ in found if i is not None]
    ctx.first_seen.note(i.name for i in instances)
    ctx.dialing.feed(instances)
    marked = {i.name: i for i in ctx.dialing.mark(instances)}
    return {n: Lookup(n, marked.get(n), probe, by_name.get(n, []))
            for n, (_, probe) in zip(names, found)}


async def probe_all(ctx: OpContext, names: list[str]) -> dict[str, ProbeResult]:
    """Probes of `names`; a name whose probe failed is left out (unknown)."""
    sem = asyncio.Semaphore(ctx.probe_concurrency)
    out: dict[str, ProbeResult] = {}

    async def one(name: str) -> None:
        async with sem:
            try:
                out[name] = await ctx.client.locate(name)
            except UnauthorizedError:
                raise
            except EvolutionError:
                pass  # unknown: the run probes it again before touching it

    await asyncio.gather(*(one(n) for n in names))
    return out


async def resellers_if_needed(ctx: OpContext, lookups: dict[str, Lookup]) -> list[Reseller]:
    """Resellers are read only when attribution matters (an orphan instance in a reseller's
    session)."""
    if ctx.scope.is_all or not any(lk.instance and not lk.records for lk in lookups.values()):
        return []
    return await ctx.store.list_resellers()


def observation(lookups: dict[str, Lookup], resellers: list[Reseller]) -> Observation:
    """The lookups as an observation of just these names (what `classify` reads)."""
    instances = [lk.instance for lk in lookups.values() if lk.instance is not None]
    records = [r for lk in lookups.values() for r in lk.records]
    probes = {lk.name: lk.probe for lk in lookups.values() if lk.probe is not None}
    recon = reconcile(instances, records, resellers, probes)
    return Observation(instances, records, [], resellers, probes, recon, recon)


def classify(obs: Observation, name: str, scope: Scope, *, allow_attributed: bool) -> Target:
    """A target of `name` in `scope`: its kind, and why it is skipped if it is."""
    records = obs.records_named(name)
    instance = obs.instance(name)
    probe = obs.probes.get(name)
    probed = probe.state if probe and not instance else None
    kind = kind_of(instance is not None, bool(records), probed)
    target = Target(name, records, instance.state if instance else None, probed, kind,
                    dialing=bool(instance and instance.dialing))
    if kind is TargetKind.NOT_FOUND:
        target.skip = Skip(SkipCause.NOT_FOUND)
        return target
    if probed is ProbeState.FOREIGN:  # another server's name: never touched, whoever asks
        target.skip = Skip(SkipCause.OTHER_SERVER, state=probed.value)
        return target
    if scope.is_all:
        return target
    target.records = [r for r in records if scope.owns(r.reseller_id)]
    if target.records and len(target.records) < len(records):
        target.skip = Skip(SkipCause.OTHER_RESELLER)  # shared with another tenant
    elif records and not target.records:
        target.skip = Skip(SkipCause.OUT_OF_SCOPE, scope=str(scope))  # another tenant's
    elif not target.records:
        attributed = obs.attributed_reseller_id(name) == scope.reseller_id
        if not (attributed and allow_attributed):
            target.skip = Skip(SkipCause.OUT_OF_SCOPE, scope=str(scope))
    return target


async def targets_by_rule(ctx: OpContext, names: tuple[str, ...],
                          rule: Callable[[Target], Skip | None],
                          steps: tuple[Step, ...]) -> list[Target]:
    """Each named target in the session's scope (no attribution), skipped by the shared
    rules or else by the operation's `rule`, with the steps its run takes."""
    names_ = list(dict.fromkeys(names))
    obs = observation(await lookup(ctx, names_), [])
    targets = []
    for name in names_:
        target = classify(obs, name, ctx.scope, allow_attributed=False)
        target.skip = target.skip or rule(target)
        target.steps = steps
        targets.append(target)
    return targets


def skip_young(ctx: OpContext, targets: list[Target]) -> None:
    """A bulk operation leaves young orphan instances alone (the platform may still be
    inserting their record); the plan says so, with the age and how it is known."""
    for target in targets:
        if target.kind is TargetKind.ORPHAN_INSTANCE and target.skip is None:
            target.skip = young_orphan(ctx.first_seen, ctx.orphan_grace_s, target.name)


async def reseller_of(ctx: OpContext, reseller_id: str) -> Reseller:
    """The reseller with that id (`UnknownResellerError` when there is none)."""
    reseller = await ctx.store.get_reseller(reseller_id)
    if reseller is None:
        raise UnknownResellerError(reseller_id)
    return reseller


def unlisted_and_free(target: Target) -> bool:
    """Not listed, and its probe said the name is free."""
    return not target.listed and target.probed is ProbeState.ABSENT
