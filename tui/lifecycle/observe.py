"""Observation: fetch Evolution's instance list and the database together, probe the names of
orphan records (absent vs reserved), and reconcile. This is what the dashboard refreshes and
what every bulk operation plans from.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from tui.evolution.errors import EvolutionError, UnauthorizedError
from tui.evolution.models import Instance, ProbeResult
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.ports import EvolutionPort, StorePort
from tui.reconcile.classify import reconcile, scope as scope_reconciliation
from tui.reconcile.models import Reconciliation
from tui.store.models import ConnectionRecord, InvalidRow, Reseller


@dataclass
class Observation:
    """One consistent picture of both sides, reconciled (over every tenant: `full`) and
    restricted to the session's scope (`view`)."""

    instances: list[Instance]
    records: list[ConnectionRecord]
    invalid: list[InvalidRow]
    resellers: list[Reseller]
    probes: dict[str, ProbeResult]
    full: Reconciliation
    view: Reconciliation
    fetched_at: float = field(default_factory=time.time)
    probe_errors: dict[str, str] = field(default_factory=dict)
    # True when orphan records exist whose names were not probed yet (`probe_orphans=False`):
    # their rows say `unknown` until `complete_probes` gives the probed observation.
    probes_pending: bool = False

    def __post_init__(self) -> None:
        self._instances_by_name: dict[str, Instance] = {}
        for inst in self.instances:
            self._instances_by_name.setdefault(inst.name, inst)
        self._records_by_name: dict[str, list[ConnectionRecord]] = {}
        for record in self.records:
            self._records_by_name.setdefault(record.instance_name, []).append(record)

    def attributed_reseller_id(self, name: str) -> str | None:
        """The reseller an orphan instance is attributed to by its name prefix, if any."""
        if not hasattr(self, "_attributed"):
            self._attributed = {row.name: row.attributed_reseller.id
                                for row in self.full.orphan_instances
                                if row.attributed_reseller is not None}
        return self._attributed.get(name)

    def instance(self, name: str) -> Instance | None:
        return self._instances_by_name.get(name)

    def records_named(self, name: str) -> list[ConnectionRecord]:
        return list(self._records_by_name.get(name, ()))

    def reseller(self, reseller_id: str | None) -> Reseller | None:
        return next((r for r in self.resellers if r.id == reseller_id), None)


async def probe_many(client: EvolutionPort, names: list[str], concurrency: int
                     ) -> tuple[dict[str, ProbeResult], dict[str, str]]:
    """Probe names with bounded concurrency; returns (probes, errors by name)."""
    sem = asyncio.Semaphore(max(1, concurrency))
    probes: dict[str, ProbeResult] = {}
    errors: dict[str, str] = {}

    async def one(name: str) -> None:
        async with sem:
            try:
                probes[name] = await client.locate(name)
            except UnauthorizedError:
                raise
            except EvolutionError as exc:
                errors[name] = str(exc)

    await asyncio.gather(*(one(n) for n in names))
    return probes, errors


async def observe(client: EvolutionPort, store: StorePort, reseller_id: str | None = None, *, probe_orphans: bool = True,
                  probe_concurrency: int = 8, dialing: DialingTracker | None = None
                  ) -> Observation:
    """Fetch, probe and reconcile. Raises the client's or the store's one-line errors."""
    obs = await observe_unprobed(client, store, reseller_id, dialing=dialing)
    if probe_orphans and obs.probes_pending:
        obs = await complete_probes(client, obs, reseller_id, probe_concurrency=probe_concurrency)
    return obs


async def observe_unprobed(client: EvolutionPort, store: StorePort, reseller_id: str | None = None, *,
                           dialing: DialingTracker | None = None) -> Observation:
    """Fetch both sides and reconcile, without probing the orphan records' names: every row
    is known, only the probe column of orphan records waits (`probes_pending`). With a
    `dialing` tracker, instances seen dialing are marked so."""
    instances, snapshot = await asyncio.gather(client.list_instances(), store.load())
    if dialing is not None:
        dialing.feed(instances)
        instances = dialing.mark(instances)
    records, invalid, resellers = snapshot.records, snapshot.invalid, snapshot.resellers
    full = reconcile(instances, records, resellers, None, invalid)
    view = full if reseller_id is None else scope_reconciliation(full, reseller_id)
    pending = full.orphan_records if reseller_id is None else view.orphan_records
    return Observation(instances, records, invalid, resellers, {}, full, view,
                       probes_pending=bool(pending))


async def complete_probes(client: EvolutionPort, obs: Observation, reseller_id: str | None = None, *,
                          probe_concurrency: int = 8) -> Observation:
    """`obs` with the names of its orphan records probed (absent / reserved / present) and
    reconciled again; the fetched lists are shared, not fetched again. In a reseller's scope
    only that reseller's orphan records are probed (the other tenants' are not shown)."""
    if not obs.probes_pending:
        return obs
    rows = obs.full.orphan_records if reseller_id is None else obs.view.orphan_records
    names = sorted({row.name for row in rows})
    probes, errors = await probe_many(client, names, probe_concurrency)
    full = reconcile(obs.instances, obs.records, obs.resellers, probes, obs.invalid)
    view = full if reseller_id is None else scope_reconciliation(full, reseller_id)
    return Observation(obs.instances, obs.records, obs.invalid, obs.resellers, probes, full,
                       view, fetched_at=obs.fetched_at, probe_errors=errors)
