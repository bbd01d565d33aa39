"""The lifecycle service: the one door to every operation.

`plan(request)` asks the request's operation (`tui.lifecycle.registry`) for a `Plan` from
fresh lookups of just its targets; `run(plan, sink, cancel)` authorizes it (read-only,
tenant scope), opens a `RunFrame` (operation id, write-ahead audit lines, claims,
cancellation, done events) and lets the operation run inside it, returning the `Summary`.
Front ends (the CLI, the dashboard) plan, show, confirm and run: nothing else. The service
also observes both sides for the dashboard and `report`, answers the pairing screen, and
tells the dashboard why an operation would leave a row alone (`refusal`), so the rules live
once. It never removes a database record unless its instance was verified gone.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from tui.evolution.dialect import Dialect
from tui.evolution.models import InstanceState, ProbeResult, ServerProfile
from tui.lifecycle.audit import AuditLog
from tui.lifecycle.context import ActiveOps, OpContext
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.domain import OperationKind, Skip, TargetOutcome
from tui.lifecycle.events import EventSink, Summary, TargetResult, null_sink
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.observe import Observation, complete_probes, observe, observe_unprobed
from tui.lifecycle.ops.pair import Pairing, pairing
from tui.lifecycle.planning import UnknownResellerError
from tui.lifecycle.plans import Plan, Request, Target
from tui.lifecycle.ports import EvolutionPort, StorePort
from tui.lifecycle.registry import operation, operation_for
from tui.lifecycle.removal import DeletePolicy
from tui.lifecycle.scope import ReadOnlyError, Scope
from tui.lifecycle.seen import FirstSeen

__all__ = ["LifecycleService", "Pairing"]


class LifecycleService:
    """Plans and runs the operations of one session (its scope, read-only or not)."""

    def __init__(self, client: EvolutionPort, store: StorePort, *, scope: Scope | None = None,
                 policy: DeletePolicy | None = None, concurrency: int = 4,
                 read_only: bool = False, audit: AuditLog | None = None,
                 now: Callable[[], float] = time.time, rng: random.Random | None = None,
                 first_seen: FirstSeen | None = None, orphan_grace_s: float = 600.0,
                 active_ops: ActiveOps | None = None) -> None:
        self.ctx = OpContext(
            client, store, scope or Scope.all(), policy or DeletePolicy(), audit or AuditLog(None),
            max(1, concurrency), now=now, rng=rng or random.Random(),
            first_seen=first_seen or FirstSeen(None, now=now), orphan_grace_s=orphan_grace_s,
            active_ops=active_ops or ActiveOps.of_process())
        self.read_only = read_only

    # the session, as the front ends read it
    @property
    def client(self) -> EvolutionPort:
        return self.ctx.client

    @property
    def store(self) -> StorePort:
        return self.ctx.store

    @property
    def scope(self) -> Scope:
        return self.ctx.scope

    @property
    def policy(self) -> DeletePolicy:
        return self.ctx.policy

    @property
    def audit(self) -> AuditLog:
        return self.ctx.audit

    @property
    def concurrency(self) -> int:
        return self.ctx.concurrency

    @property
    def dialing(self) -> DialingTracker:
        return self.ctx.dialing

    @property
    def first_seen(self) -> FirstSeen:
        return self.ctx.first_seen

    # ------------------------------------------------------------------ the server
    @property
    def known_profile(self) -> ServerProfile | None:
        """The server's profile once found (None before: nothing is asked for it)."""
        return self.client.known_profile

    async def server_profile(self) -> ServerProfile:
        """Which server this session talks to: dialect (set or detected, and how), version,
        client name. Found at the first call that needs it, then kept by the client."""
        return await self.client.profile()

    async def liveness(self, name: str) -> ProbeResult | None:
        """Whether a listed instance is live. On v2 the list is database rows, so a listed
        name may have no live instance: its probe says (RESERVED: a row only - a "ghost
        row" - which a delete removes). None on v1.8, whose list shows live ones only."""
        if (await self.client.profile()).dialect is not Dialect.V2:
            return None
        return await self.client.probe(name)

    # ------------------------------------------------------------------ observation
    async def observe(self, *, probe_orphans: bool = True) -> Observation:
        return await observe(self.client, self.store, self.scope.reseller_id,
                             probe_orphans=probe_orphans,
                             probe_concurrency=self.ctx.probe_concurrency, dialing=self.dialing)

    async def observe_unprobed(self) -> Observation:
        """Both sides fetched and reconciled; orphan records' names not probed yet."""
        return await observe_unprobed(self.client, self.store, self.scope.reseller_id,
                                      dialing=self.dialing)

    async def complete_probes(self, obs: Observation) -> Observation:
        """`obs` with its orphan records' names in scope probed (nothing is fetched again)."""
        return await complete_probes(self.client, obs, self.scope.reseller_id,
                                     probe_concurrency=self.ctx.probe_concurrency)

    async def sample_dialing(self, rounds: int = 6, spacing_s: float = 0.15) -> None:
        """List the instances `rounds` times, `spacing_s` apart, so that the next observation
        can tell dialing instances (they flap: one list mostly says `close`). Not on a server
        whose list never says `connecting` (v2: the list is its database column)."""
        if not (await self.client.removal_profile()).list_shows_dialing:
            return
        for i in range(rounds):
            if i:
                await asyncio.sleep(spacing_s)
            self.dialing.feed(await self.client.list_instances())

    # ------------------------------------------------------------------ guards
    def authorize(self, operation_kind: str, scope: Scope | None = None) -> None:
        """Raise `ReadOnlyError` / `ScopeError` unless this session may run the operation."""
        if self.read_only:
            raise ReadOnlyError(operation_kind)
        if scope is not None:
            self.scope.require(scope)

    async def check_scope(self) -> None:
        """Raise `UnknownResellerError` when this session's reseller is not in the database:
        a typo in `--reseller` must not look like an empty, consistent tenant."""
        rid = self.scope.reseller_id
        if rid is not None and await self.store.get_reseller(rid) is None:
            raise UnknownResellerError(rid)

    def refusal(self, kind: OperationKind, target: Target) -> Skip | None:
        """Why `kind` would leave `target` (classified by the caller) alone - the same rule
        its plan applies - or None when it would act on it."""
        return operation(kind).rule(target)

    # ------------------------------------------------------------------ plan and run
    async def plan(self, request: Request, *, dry_run: bool = False) -> Plan:
        """What `request` would do, from fresh lookups of just its targets. Changes
        nothing; raises `ReadOnlyError` before any lookup in a read-only session (unless it
        is only a `dry_run`), `ScopeError` / `UnknownResellerError` / the ports' one-line
        errors."""
        if not dry_run and self.read_only:
            raise ReadOnlyError(request.operation)
        return await operation_for(request).plan(self.ctx, request)

    async def run(self, plan: Plan, *, sink: EventSink = null_sink,
                  cancel: asyncio.Event | None = None, concurrency: int | None = None,
                  dry_run: bool = False) -> Summary:
        """Carry out `plan` (each target is re-checked right before it is touched). With
        `dry_run`, the plan as a summary of `planned` / `skipped` targets (no change)."""
        if dry_run:
            return _dry_run(plan)
        self.authorize(plan.operation, plan.scope)
        op = operation_for(plan.request)
        frame = RunFrame(self.ctx, plan, sink, cancel)
        async with frame:
            await op.run(frame, plan, concurrency)
        return frame.summary

    # ------------------------------------------------------------------ pairing
    async def pair(self, name: str, *, number: str | None = None) -> Pairing:
        """The QR code (and pairing code, with `number`) to pair `name` with a phone, or its
        state once it is `open`. Asking dials WhatsApp on the server, so it is refused in
        read-only mode. Call again to follow the server's QR rotation."""
        self.authorize(OperationKind.PAIR)
        return await pairing(self.ctx, name, number)

    async def pairing_state(self, name: str) -> InstanceState | None:
        """The state of `name` now (None: not listed any more)."""
        probe = await self.client.probe(name)
        return probe.instance_state


def _dry_run(plan: Plan) -> Summary:
    summary = Summary(plan.operation, str(plan.scope), dry_run=True, notes=list(plan.notes))
    for t in plan.targets:
        outcome = TargetOutcome.SKIPPED if t.skip is not None else TargetOutcome.PLANNED
        summary.targets.append(TargetResult(t.name, outcome, t.describe(), t.reseller_id,
                                            records_kept=len(t.records), skip=t.skip))
    return summary
