"""Planning: from a `Request` to a `Plan`, by fresh lookups of just its targets.

A delete, forget, adopt or re-provision of N names looks up exactly those names: one
`fetchInstances?instanceName=` each (plus a `connectionState` probe when it is not listed) and
one database query for their records. A reseller's clear-all reads that reseller's records,
lists the instances once and probes only the names of its orphan records. Only a clear-all of
everything (the admin scope) observes the whole world, because everything is its scope.

The rules of what a target is and why it is skipped (another tenant's record on the same
name, outside the session's scope, not an instance nor a record) live here and nowhere else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tui.evolution.errors import (
    EvolutionError,
    MalformedResponseError,
    NotFoundError,
    UnauthorizedError,
    UnreachableError,
)
from tui.evolution.models import Instance, ProbeResult, ProbeState
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.observe import Observation, observe
from tui.lifecycle.plans import (
    AdoptRequest,
    ClearAllRequest,
    Confirmation,
    CreateRequest,
    DeleteRequest,
    ForgetRequest,
    Plan,
    ReprovisionRequest,
    Request,
    Target,
)
from tui.lifecycle.ports import EvolutionPort, StorePort
from tui.lifecycle.scope import LifecycleError, Scope
from tui.lifecycle.seen import FirstSeen, human_duration
from tui.reconcile.classify import reconcile
from tui.store.models import ConnectionRecord, Reseller

NOT_FOUND = "not found: neither an Evolution instance nor a database record"
# errors that no plan can work around (a wrong key, a server that is not there or answers
# garbage): raised;
# any other failure of one name's lookup leaves that name unknown (the run looks again)
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


class Planner:
    """Builds plans for one session (its scope) from the ports."""

    def __init__(self, client: EvolutionPort, store: StorePort, session: Scope,
                 dialing: DialingTracker, concurrency: int = 8, *,
                 first_seen: FirstSeen | None = None, orphan_grace_s: float = 0.0):
        self.client = client
        self.store = store
        self.session = session
        self.dialing = dialing
        self.concurrency = max(1, concurrency)
        self.first_seen = first_seen or FirstSeen(None)
        self.orphan_grace_s = orphan_grace_s

    def _young(self, targets: list[Target]) -> None:
        """A bulk operation leaves young orphan instances alone (the platform may still be
        inserting their record); the plan says so, with the age and how it is known."""
        if self.orphan_grace_s <= 0:
            return
        for target in targets:
            if target.kind == "orphan_instance" and not target.skip_reason:
                age, how = self.first_seen.age_s(target.name)
                if age < self.orphan_grace_s:
                    target.skip_reason = (
                        f"young orphan instance ({human_duration(age)} old by {how}; grace "
                        f"{human_duration(self.orphan_grace_s)}): its record may be on its way")

    async def plan(self, request: Request) -> Plan:
        if isinstance(request, DeleteRequest):
            return await self._delete(request)
        if isinstance(request, ClearAllRequest):
            return await self._clear_all(request)
        if isinstance(request, ForgetRequest):
            return await self._forget(request)
        if isinstance(request, AdoptRequest):
            return await self._adopt(request)
        if isinstance(request, ReprovisionRequest):
            return await self._reprovision(request)
        if isinstance(request, CreateRequest):
            return await self._create(request)
        raise LifecycleError(f"unknown request {request!r}")

    # ------------------------------------------------------------------ lookups
    async def lookup(self, names: list[str]) -> dict[str, Lookup]:
        """Fresh facts about just `names`: instance (or probe) and every record."""
        names = list(dict.fromkeys(names))
        sem = asyncio.Semaphore(self.concurrency)

        async def one(name: str) -> tuple[Instance | None, ProbeResult | None]:
            """(instance, None) when listed; (None, probe) when not; (None, None) when the
            server did not say (the run looks again before it touches the name)."""
            async with sem:
                try:
                    return await self.client.fetch_instance(name), None
                except NotFoundError:
                    pass
                except FATAL:
                    raise
                except EvolutionError:
                    return None, None
                try:
                    return None, await self.client.probe(name)
                except FATAL:
                    raise
                except EvolutionError:
                    return None, None

        records, found = await asyncio.gather(
            self.store.find_records_named(names),
            asyncio.gather(*(one(n) for n in names)))
        by_name: dict[str, list[ConnectionRecord]] = {}
        for record in records:
            by_name.setdefault(record.instance_name, []).append(record)
        instances = [i for i, _ in found if i is not None]
        self.first_seen.note(i.name for i in instances)
        self.dialing.feed(instances)
        marked = {i.name: i for i in self.dialing.mark(instances)}
        return {n: Lookup(n, marked.get(n), probe, by_name.get(n, []))
                for n, (_, probe) in zip(names, found)}

    async def _resellers_if_needed(self, lookups: dict[str, Lookup]) -> list[Reseller]:
        """Resellers are read only when attribution matters (an orphan instance in a
        reseller's session)."""
        if self.session.is_all or not any(lk.instance and not lk.records for lk in lookups.values()):
            return []
        return await self.store.list_resellers()

    def _observation(self, lookups: dict[str, Lookup], resellers: list[Reseller]) -> Observation:
        """The lookups as an observation of just these names (what `target()` reads)."""
        instances = [lk.instance for lk in lookups.values() if lk.instance is not None]
        records = [r for lk in lookups.values() for r in lk.records]
        probes = {lk.name: lk.probe for lk in lookups.values() if lk.probe is not None}
        recon = reconcile(instances, records, resellers, probes)
        return Observation(instances, records, [], resellers, probes, recon, recon)

    def target(self, obs: Observation, name: str, scope: Scope, *,
               allow_attributed: bool) -> Target:
        """A target of `name` in `scope`: its kind, and why it is skipped if it is."""
        records = obs.records_named(name)
        instance = obs.instance(name)
        probe = obs.probes.get(name)
        probed = probe.state if probe and not instance else None
        if instance and records:
            kind = "linked"
        elif instance:
            kind = "orphan_instance"
        elif records:
            kind = "orphan_record"
        elif probed is ProbeState.ABSENT:
            kind = "not_found"
        else:
            kind = "reserved" if probed is ProbeState.RESERVED else "unknown"
        target = Target(name, records, instance.state if instance else None, probed, kind,
                        dialing=bool(instance and instance.dialing))
        if kind == "not_found":
            target.skip_reason = NOT_FOUND
            return target
        if scope.is_all:
            return target
        mine = [r for r in records if r.reseller_id == scope.reseller_id]
        others = [r for r in records if r.reseller_id != scope.reseller_id]
        target.records = mine
        if others:
            target.skip_reason = "the name is also used by another reseller's record"
        elif not mine:
            attributed = obs.attributed_reseller_id(name) == scope.reseller_id
            if not (attributed and allow_attributed):
                target.skip_reason = f"outside scope {scope}"
        return target

    # ------------------------------------------------------------------ requests
    async def _delete(self, request: DeleteRequest) -> Plan:
        names = list(dict.fromkeys(request.names))
        lookups = await self.lookup(names)
        obs = self._observation(lookups, await self._resellers_if_needed(lookups))
        targets = [self.target(obs, n, self.session, allow_attributed=True) for n in names]
        if len(targets) > 1:
            self._young(targets)  # several names: a bulk operation
        count = len([t for t in targets if not t.skip_reason])
        title = (f"Delete {names[0]}?" if len(names) == 1 else
                 f"Delete {len(names)} connections?")
        question = (f"Delete {count} instance(s) in scope {self.session} (logout → delete → "
                    f"verify → remove record): {', '.join(names[:5])}"
                    + (" …" if len(names) > 5 else "") + "?")
        return Plan(request, self.session, targets,
                    ["The record is removed only once the name is verified free."],
                    Confirmation("yes", question), title)

    async def _clear_all(self, request: ClearAllRequest) -> Plan:
        scope = request.scope
        self.session.require(scope)
        notes: list[str]
        word: tuple[str, ...]
        reseller: Reseller | None
        if scope.is_all:
            obs = await observe(self.client, self.store, None, dialing=self.dialing,
                                probe_concurrency=self.concurrency)
            names, notes, word = self._all_names(obs, request), [], ("ALL",)
            reseller = None
        else:
            obs, names, notes, reseller = await self._reseller_world(request)
            word = (scope.reseller_id or "", reseller.name)
        if obs.invalid:
            notes.append(f"{len(obs.invalid)} invalid record(s) left alone (no usable name)")
        self.first_seen.note(i.name for i in obs.instances)
        targets = [self.target(obs, n, scope, allow_attributed=request.include_attributed)
                   for n in sorted(set(names))]
        self._young(targets)
        label = "ALL" if scope.is_all else (reseller.name if reseller and reseller.name
                                            else str(scope))
        what = "orphans" if request.orphans_only else "everything"
        count = len([t for t in targets if not t.skip_reason])
        confirmation = Confirmation(
            "type", f"Clear {count} name(s) in scope {scope} ({what})?", tuple(word))
        return Plan(request, scope, targets, notes, confirmation,
                    f"Clear all: {label}" + (" · orphans only" if request.orphans_only else ""))

    @staticmethod
    def _all_names(obs: Observation, request: ClearAllRequest) -> list[str]:
        full = obs.full
        names: list[str] = []
        if not request.orphans_only:
            names += [row.name for row in full.linked]
        names += [row.name for row in full.orphan_instances]
        names += [row.name for row in full.orphan_records]
        return names

    async def _reseller_world(self, request: ClearAllRequest
                              ) -> tuple[Observation, list[str], list[str], Reseller]:
        """A reseller's records, the instance list once, probes of only its orphan records'
        names, and the other tenants' records that share those names."""
        rid = request.scope.reseller_id
        assert rid is not None
        reseller = await self.store.get_reseller(rid)
        if reseller is None:
            raise UnknownResellerError(rid)
        (mine, invalid), instances = await asyncio.gather(
            self.store.list_records(rid), self.client.list_instances())
        self.dialing.feed(instances)
        instances = self.dialing.mark(instances)
        listed = {i.name for i in instances}
        own_names = sorted({r.instance_name for r in mine})
        unlisted = [n for n in own_names if n not in listed]
        resellers = await self.store.list_resellers() if request.include_attributed else [reseller]
        records, probes = await asyncio.gather(
            self.store.find_records_named(own_names), self._probe_all(unlisted))
        recon = reconcile(instances, records, resellers, probes)
        obs = Observation(instances, records, invalid, resellers, probes, recon, recon)
        notes = []
        if not mine:
            notes.append(f"reseller {rid} has no records: nothing of theirs to clear")
        names = []
        if not request.orphans_only:
            names += [row.name for row in recon.linked if row.record.reseller_id == rid]
        names += [row.name for row in recon.orphan_records if row.record.reseller_id == rid]
        if request.include_attributed:
            names += [row.name for row in recon.orphan_instances
                      if row.attributed_reseller is not None and row.attributed_reseller.id == rid]
        return obs, names, notes, reseller

    async def _probe_all(self, names: list[str]) -> dict[str, ProbeResult]:
        sem = asyncio.Semaphore(self.concurrency)
        out: dict[str, ProbeResult] = {}

        async def one(name: str) -> None:
            async with sem:
                try:
                    out[name] = await self.client.probe(name)
                except UnauthorizedError:
                    raise
                except EvolutionError:
                    pass  # unknown: the run probes it again before touching it

        await asyncio.gather(*(one(n) for n in names))
        return out

    async def _forget(self, request: ForgetRequest) -> Plan:
        names = list(dict.fromkeys(request.names))
        lookups = await self.lookup(names)
        obs = self._observation(lookups, [])
        targets = []
        for name in names:
            target = self.target(obs, name, self.session, allow_attributed=False)
            if not target.skip_reason:
                if target.listed:
                    target.skip_reason = "the instance exists: use delete, not forget"
                elif not target.records:
                    target.skip_reason = "no record with that name"
                elif target.probed is not ProbeState.ABSENT:
                    state = target.probed.value if target.probed else "unknown"
                    target.skip_reason = f"the name is {state} on Evolution: use delete"
            targets.append(target)
        return Plan(request, self.session, targets,
                    ["Database only: each name is probed again and must be absent."],
                    Confirmation("yes", f"Forget (database only) {', '.join(names[:5])}?"),
                    f"Forget {len(names)} orphan record(s)?")

    async def _adopt(self, request: AdoptRequest) -> Plan:
        scope = Scope.reseller(request.reseller_id)
        self.session.require(scope)
        reseller = await self.store.get_reseller(request.reseller_id)
        if reseller is None:
            raise UnknownResellerError(request.reseller_id)
        lookups = await self.lookup([request.name])
        lk = lookups[request.name]
        target = Target(request.name, lk.records, lk.instance.state if lk.instance else None,
                        lk.probe.state if lk.probe else None,
                        "orphan_instance" if lk.instance and not lk.records else "")
        if lk.instance is None:
            target.kind = "not_found" if not lk.records and target.probed is ProbeState.ABSENT \
                else "orphan_record" if lk.records else "reserved"
            target.skip_reason = (NOT_FOUND if target.kind == "not_found"
                                  else "not an Evolution instance (nothing to adopt)")
        elif lk.records:
            target.kind = "linked"
            target.skip_reason = "the name already has a record"
        who = reseller.name or reseller.id
        return Plan(request, scope, [target], [],
                    Confirmation("yes", f"Adopt {request.name} for reseller {who}?"),
                    f"Adopt {request.name}?")

    async def _reprovision(self, request: ReprovisionRequest) -> Plan:
        names = list(dict.fromkeys(request.names))
        lookups = await self.lookup(names)
        obs = self._observation(lookups, [])
        targets = []
        for name in names:
            target = self.target(obs, name, self.session, allow_attributed=False)
            if not target.skip_reason:
                if not target.records:
                    target.skip_reason = "no record with that name"
                elif target.listed:
                    target.skip_reason = "the instance already exists"
                elif target.probed is not ProbeState.ABSENT:
                    state = target.probed.value if target.probed else "unknown"
                    target.skip_reason = f"the name is {state} on Evolution"
            targets.append(target)
        title = (f"Re-provision {names[0]}?" if len(names) == 1
                 else f"Re-provision {len(names)} orphan records?")
        return Plan(request, self.session, targets,
                    ["Creates the Evolution instance again under the same name (probed "
                     "absent first); the record is kept. Scan its QR code to pair it."],
                    Confirmation("yes", f"Re-create the Evolution instance of "
                                        f"{', '.join(names[:5])}?"), title)

    async def _create(self, request: CreateRequest) -> Plan:
        scope = Scope.reseller(request.reseller_id)
        self.session.require(scope)
        reseller = await self.store.get_reseller(request.reseller_id)
        if reseller is None:
            raise UnknownResellerError(request.reseller_id)
        who = reseller.name or reseller.id
        return Plan(request, scope, [], ["The name is chosen when it runs (unique on both "
                                         "sides); the record is inserted after the instance."],
                    Confirmation("yes", f"Create a connection for reseller {who}?"),
                    f"New connection for {who}")

