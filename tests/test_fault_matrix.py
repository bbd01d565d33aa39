"""The fault matrix: every lifecycle operation under every fault it can meet, table-driven.

Operations (`OPS`): delete one name, delete several (marked) names, clear-all of a reseller,
clear-all of everything, create. Faults (`FAULTS`): small objects with `inject` (before the run
or, for mid-run faults, on the first event of the run that proves the run is under way),
`lift` and the set of target outcomes they may produce. A fault lists the operations and the
dialects (v1.8, v2) it applies to; cells that make no sense (e.g. "5xx on logout" for create,
or on v2, whose verified delete sends no logout) are never generated. Each cell runs against
the simulator of its dialect (`sim_server` / `sim_server_v2`; a 2.3.7 one for the zombie,
a second v2 server on the same database for another clientName's row). docs/FAULTS.md lists
the cells.

Every cell checks, over real loopback sockets (simulator + nx-27017):
* the invariants of `tests.test_lifecycle_support.assert_invariants` (no record removed while
  its name is present or reserved, nothing outside the plan touched, every target reported
  exactly once; for create: one target, no residue);
* every outcome is in the fault's expected set, and the fault really bit (`must`);
* no reason / note carries a traceback or a second line;
* after the fault is lifted, a re-run converges (`assert_rerun_converges` / a clean create).

A module-level collector counts, per cell, invariant violations and records lost (a record
removed while its name was not verified free) and writes `tests/bench/results/fault_matrix.json`.
A second, smaller table runs cells through the real CLI entry point (`tui.cli.main.main`).
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
import os
from pathlib import Path
from typing import Any, Callable

import pytest
from pymongo import MongoClient

from tests import ops
from tests.fixtures.mongo import CONNECTIONS
from tests.fixtures.sim import API_KEY, SEED, SimHandle
from tests.test_lifecycle_support import (
    FIXED_TS,
    add_record,
    assert_invariants,
    assert_rerun_converges,
    make_service,
    probe_status,
    seed_world,
    snapshot,
)
from tui.evolution.client import EvolutionClient
from tui.evolution.dialect import Dialect
from tui.evolution.errors import EvolutionError
from tui.evolution.models import DetectedBy
from tui.lifecycle.audit import AuditError
from tui.lifecycle.removal import DeletePolicy
from tui.lifecycle.removal.policy import CLEANUP_HINT, ZOMBIE_HINT
from tui.lifecycle.events import NAME_FREED, Step, StepEvent, StepOutcome, Summary, TargetOutcome
from tui.lifecycle.domain import SkipCause
from tui.lifecycle.scope import Scope
from tui.reconcile.naming import instance_name
from tui.simulator.server import ThreadedSimulator
from tui.store.errors import StoreError
from tui.store.mongo import ConnectionStore
from tui.store.wire_server import MongoWireServer

O = TargetOutcome
POLICY = DeletePolicy(verify_timeout_s=0.5, max_attempts=2, first_poll_s=0.01, max_poll_s=0.05,
                      free_hold_s=0.4, quiet_logout_s=0.05, quiet_samples=40, dialing_logout_s=2)
# v2: no name ever came back after its first 404 (recorded), so a short hold (0.2 s, the
# least the settings allow) proves as much there as 0.4 s does on v1.8, and keeps the v2
# cells cheap. A held name is waited for through the whole budget: 0.5 s covers the windows
# of a quiet server (recorded 0.06-0.27 s); `restarted_offline` has its own (every row
# dialing: 1.05-1.24 s recorded, for 10)
POLICY_V2 = DeletePolicy(verify_timeout_s=0.5, max_attempts=2, first_poll_s=0.01,
                         max_poll_s=0.05, free_hold_s=0.2)
POLICY_V2_LOADED = replace(POLICY_V2, verify_timeout_s=1.5)
V18, V2 = "v1.8", "v2"
DIALECTS = (V18, V2)
POLICIES = {V18: POLICY, V2: POLICY_V2}
SIM_FIXTURES = {V18: "sim_server", V2: "sim_server_v2"}
CLIENT_TIMEOUT_S = 0.5
RESULTS = Path(__file__).parent / "bench" / "results" / "fault_matrix.json"
# the name `create("r1")` picks in the seeded world (r1 has 6 records; clock frozen)
CREATE_NAME = instance_name("Fabio", 7, FIXED_TS)
NEXT_CREATE_NAME = instance_name("Fabio", 7, FIXED_TS + 1)
ROTATED_KEY = "rotated-key-after-first-target-0000"


def closed_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fast_client(url: str, api_key: str = API_KEY) -> EvolutionClient:
    return EvolutionClient(url, api_key, timeout_s=CLIENT_TIMEOUT_S, retries=1,
                           backoff_base_s=0.01, backoff_max_s=0.05, rng=random.Random(11))


# ---------------------------------------------------------------------------- the collector
@dataclass
class CellResult:
    cell: str
    operation: str
    fault: str
    dialect: str = V18
    violations: int = 0
    records_lost: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    passed: bool = False


COLLECTED: dict[str, CellResult] = {}


@pytest.fixture(scope="module", autouse=True)
def matrix_summary():
    """Writes the per-cell counters as JSON once the module is done. Under pytest-xdist each
    worker adds its cells to what the other workers of the same run wrote."""
    yield COLLECTED
    if not COLLECTED:
        return
    import fcntl

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cells = {c.cell: dict(c.__dict__) for c in COLLECTED.values()}
        try:
            written = json.loads(RESULTS.read_text())
        except (OSError, ValueError):
            written = {}
        if run and written.get("run") == run:
            for cell in written.get("cells", []):
                cells.setdefault(cell["cell"], cell)
        RESULTS.write_text(json.dumps(matrix_figures(list(cells.values()), run), indent=1,
                                      default=str) + "\n")


def matrix_figures(cells: list[dict], run: str | None) -> dict[str, Any]:
    cells.sort(key=lambda c: (c["dialect"], c["fault"], c["operation"]))
    return {
        "run": run,
        "operations": sorted({c["operation"] for c in cells}),
        "faults": sorted({c["fault"] for c in cells}),
        "dialects": {d: {"cells_run": sum(c["dialect"] == d for c in cells),
                         "faults": sorted({c["fault"] for c in cells if c["dialect"] == d})}
                     for d in DIALECTS},
        "cells_run": len(cells),
        "cells_passed": sum(c["passed"] for c in cells),
        "invariant_violations": sum(c["violations"] for c in cells),
        "records_lost": sum(c["records_lost"] for c in cells),
        "elapsed_s": round(sum(c["elapsed_s"] for c in cells), 2),
        "cells": cells,
    }


# ---------------------------------------------------------------------------- cell context
@dataclass
class Ctx:
    op: str
    sim: SimHandle
    db: Any  # pymongo Database
    store: ConnectionStore
    client: EvolutionClient
    tmp_path: Path
    dialect: str = V18
    request: Any = None  # pytest's request (a fault may need another fixture)
    cancel: asyncio.Event = field(default_factory=asyncio.Event)
    events: list[StepEvent] = field(default_factory=list)  # every step the run reported
    world: dict[str, list[str]] = field(default_factory=dict)
    fired: bool = False
    task: asyncio.Task | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def is_trigger(op: str, event: StepEvent) -> bool:
    """"Mid-run": the first successful DELETE (delete / clear-all) or the first PROBE (create)."""
    if op == "create":
        return event.step is Step.PROBE
    return event.step is Step.DELETE and event.outcome is StepOutcome.OK


# ---------------------------------------------------------------------------- faults
ALL_OPS = ("delete_one", "delete_marked", "clear_reseller", "clear_all", "create")
DELETE_OPS = ALL_OPS[:4]


@dataclass
class Fault:
    """One row of the table. `expected[op or '*']`: outcomes a target may end with;
    `must[op or '*']`: at least one target ends with one of these (the fault bit)."""

    id: str
    ops: tuple[str, ...]
    expected: dict[str, frozenset[TargetOutcome]]
    must: dict[str, frozenset[TargetOutcome]] = field(default_factory=dict)
    mid_run: bool = False  # inject on the trigger event instead of before the run
    record_errors: bool = False  # record removals may fail (store faults)
    dialects: tuple[str, ...] = DIALECTS  # the dialects it can bite on
    # nothing can be done: refused (one line), or every target failed; nothing touched
    refuses: bool = False
    server: str | None = None  # the fixture of the simulator it needs (None: the dialect's)
    # the delete policy by dialect where it is not the matrix' (`POLICIES`)
    policies: dict[str, DeletePolicy] = field(default_factory=dict)

    @staticmethod
    def _pick(table: dict[str, frozenset[TargetOutcome]], op: str, dialect: str
              ) -> frozenset[TargetOutcome]:
        """`table[key]` for the most specific key: `v2:op`, `v2:*`, `op`, `*`."""
        for key in (f"{dialect}:{op}", f"{dialect}:*", op, "*"):
            if key in table:
                return table[key]
        return frozenset()

    def expected_for(self, op: str, dialect: str = V18) -> frozenset[TargetOutcome]:
        return self._pick(self.expected, op, dialect)

    def must_for(self, op: str, dialect: str = V18) -> frozenset[TargetOutcome]:
        return self._pick(self.must, op, dialect)

    def mid(self, op: str) -> bool:
        """Injected mid-run for this operation (else before the run)."""
        return self.mid_run

    def trigger(self, op: str, event: StepEvent) -> bool:
        return is_trigger(op, event)

    def policy(self, dialect: str) -> DeletePolicy:
        return self.policies.get(dialect, POLICIES[dialect])

    def on_event(self, ctx: Ctx, event: StepEvent) -> None:
        """Every event of the run, once the fault is in (e.g. to lift it early)."""

    def seed(self, ctx: Ctx) -> None:  # extra seed data of this fault
        pass

    def inject(self, ctx: Ctx) -> None:
        pass

    def lift(self, ctx: Ctx) -> None:
        """Stop the fault (the state it left stays as it is, for the checks)."""
        ctx.sim.faults()

    async def recover(self, ctx: Ctx) -> None:
        """What an operator does after the fault before re-running (e.g. restart Evolution)."""

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        """Extra work and checks once the operation returned (e.g. a second operator)."""

    def cleanup(self, ctx: Ctx) -> None:
        """Whatever the cell left outside the simulator's reset (always called)."""

    def __str__(self) -> str:
        return self.id


FREED = frozenset(NAME_FREED)
F = frozenset


class NoFault(Fault):
    pass


class SimFault(Fault):
    """Faults of the simulator's /_sim/faults API."""

    def __init__(self, id, ops, expected, must=None, *, options: dict, create_options=None,
                 mid_run=False, restart_on_lift=False, dialects=DIALECTS, refuses=False,
                 server=None):
        super().__init__(id, ops, expected, must or {}, mid_run=mid_run, dialects=dialects,
                         refuses=refuses, server=server)
        self.options = options
        self.create_options = create_options
        self.restart_on_lift = restart_on_lift

    def mid(self, op: str) -> bool:  # create's trigger is its probe: inject from the start
        return self.mid_run and op != "create"

    def inject(self, ctx: Ctx) -> None:
        options = self.create_options if ctx.op == "create" and self.create_options else self.options
        ctx.sim.faults(**options)

    async def recover(self, ctx: Ctx) -> None:
        if self.restart_on_lift:
            ctx.sim.restart()  # frees reserved names (cleanup lag, orphaned reconnect loops)


class ProbeTimeout(SimFault):
    """Probes hang past the client timeout: mid-run for deletes (the verify), from the start
    for create (its name probe)."""

    def inject(self, ctx: Ctx) -> None:
        ctx.sim.faults(timeout_count=6 if ctx.op != "create" else 2, hang_s=2,
                       routes=["connectionState"])


class Refused(Fault):
    """Connection refused mid-run: the client is pointed at a closed port."""

    def inject(self, ctx: Ctx) -> None:
        ctx.extra["url"] = ctx.client.base_url
        ctx.client.base_url = f"http://127.0.0.1:{closed_port()}"

    def lift(self, ctx: Ctx) -> None:
        ctx.client.base_url = ctx.extra.get("url", ctx.client.base_url)
        ctx.sim.faults()


class KeyRotation(Fault):
    """The global API key is rotated after the first delete: every later call gets 401."""

    def inject(self, ctx: Ctx) -> None:
        ctx.sim.faults(api_key=ROTATED_KEY)


class Residue(Fault):
    """A name left registered by a failed create: reserved on the server (not listed by
    fetchInstances, so create's name choice cannot see it) with no record: it blocks the very
    name create wants; the delete operations meet it as a ghost (a planned name for the
    delete ops, and outside the plan of clear-all, which only sees records and listed ones)."""

    def seed(self, ctx: Ctx) -> None:
        ctx.sim.seed([{"name": CREATE_NAME, "ghost": True}])
        ctx.world["residue"] = ctx.world["targets"] = [CREATE_NAME]


class ReconnectLoop(Fault):
    """Names whose WhatsApp connection is in a reconnect loop (§6 case 2, §11): they flap
    `close`/`connecting`; `knobs` make it worse (no logout ever lands, and a delete caught
    `close` orphans the socket, which re-reserves the name a moment later)."""

    NAMES = {"delete_one": ["fabio_1_1700000001"],
             "delete_marked": ["fabio_1_1700000001", "fabio_3_1700000003"],
             "clear_reseller": ["fabio_3_1700000003"],
             "clear_all": ["fabio_3_1700000003", "zed_leftover", "ana_2_1700000002"],
             "create": [CREATE_NAME]}

    def __init__(self, *args, knobs: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.knobs = knobs or {}

    def inject(self, ctx: Ctx) -> None:
        ctx.sim.faults(reconnect_loop=self.NAMES[ctx.op], dial_cost_ms=1, **self.knobs)

    async def recover(self, ctx: Ctx) -> None:
        ctx.sim.restart()


class Restarted(Fault):
    """Evolution was restarted with WhatsApp unreachable just before the operation: every
    persisted instance dials (§11.5), so the operation meets only flapping instances."""

    def seed(self, ctx: Ctx) -> None:
        ctx.sim.faults(offline=True, dial_cost_ms=1)
        ctx.sim.restart()

    def lift(self, ctx: Ctx) -> None:
        """Nothing to lift: the server stays as it is (offline), the re-run meets it so."""


class PlatformCreateRace(Fault):
    """The platform creates an instance and inserts its record a moment later: evodash planned
    while it looked like an orphan, the record lands after the plan and before the run
    reaches it. The instance and its record must both survive."""

    NAME = "fabio_21_1700000021"

    def seed(self, ctx: Ctx) -> None:
        ctx.sim.seed([{"name": self.NAME, "state": "close"}])

    def trigger(self, op: str, event: StepEvent) -> bool:
        return event.step is Step.PLAN and not event.instance  # the run starts

    def inject(self, ctx: Ctx) -> None:
        add_record(ctx.db, "r1", self.NAME)

    def lift(self, ctx: Ctx) -> None:
        ctx.sim.faults()

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        if ctx.db[CONNECTIONS].count_documents({"instance_name": self.NAME}):
            assert probe_status(ctx.sim, self.NAME) == "present", \
                "a record was left pointing at a deleted instance"
        if run.summary is not None and self.NAME in run.planned:
            target = next(t for t in run.summary.targets if t.name == self.NAME)
            assert target.outcome is O.SKIPPED and target.skip is not None \
                and target.skip.changed, target.reason


class AuditUnwritable(Fault):
    """The audit log cannot be written (a directory in its place, as a full or read-only
    disk would do): no mutation may start, and the refusal is one line."""

    def seed(self, ctx: Ctx) -> None:
        (ctx.tmp_path / "audit" / "audit.jsonl").mkdir(parents=True, exist_ok=True)

    async def recover(self, ctx: Ctx) -> None:
        (ctx.tmp_path / "audit" / "audit.jsonl").rmdir()


class TwoOperators(Fault):
    """A second operator runs the same operation at the same time (another evodash, its own
    client): between them every name is handled once - nothing removed twice, nothing lost."""

    def trigger(self, op: str, event: StepEvent) -> bool:
        return event.step is Step.PLAN and not event.instance

    def inject(self, ctx: Ctx) -> None:
        other = make_service(fast_client(ctx.sim.url), ctx.store, ctx.tmp_path / "second",
                             policy=POLICIES[ctx.dialect], now=lambda: FIXED_TS)
        other_ctx = Ctx(ctx.op, ctx.sim, ctx.db, ctx.store, other.client, ctx.tmp_path,
                        ctx.dialect)
        ctx.extra["second_client"] = other.client
        ctx.extra["second"] = asyncio.ensure_future(run_op(other_ctx, other, lambda e: None))

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        second: Run = await ctx.extra["second"]
        await ctx.extra["second_client"].aclose()
        if run.summary is None or second.summary is None:
            return
        removed = [t.name for s in (run.summary, second.summary) for t in s.targets
                   if t.outcome is O.REMOVED]
        assert len(removed) == len(set(removed)), f"removed twice: {removed}"
        assert run.summary.deleted_from_db + second.summary.deleted_from_db <= \
            len(set(run.planned) | set(second.planned)) + 1  # (a shared name: 2 records)
        # the invariants are checked on what the two did together: a name the other run held
        # takes the other run's outcome
        theirs = {t.name: t for t in second.summary.targets}
        # (held: claimed by it; or it got there first: changed since this run's plan)
        run.summary.targets = [
            theirs.get(t.name, t) if t.skip is not None
            and (t.skip.cause is SkipCause.CLAIMED or t.skip.changed) else t
            for t in run.summary.targets]


class MongoStopped(Fault):
    """The MongoDB-wire server stops mid-run (after the first record removal / the create) and
    comes back (same port, same data dir) when lifted."""

    def trigger(self, op: str, event: StepEvent) -> bool:
        if op == "create":
            return event.step is Step.CREATE and event.outcome is StepOutcome.OK
        return is_trigger(op, event)

    def inject(self, ctx: Ctx) -> None:
        ctx.extra["server"].stop()

    def lift(self, ctx: Ctx) -> None:
        server = ctx.extra["server"]
        if not server.running:
            server.start()
        ctx.sim.faults()


class _PoisonedCollection:
    """Proxy of the connections collection whose writes the real server rejects:
    `delete_many` (and each delete of a `bulk_write`) gets an operator nx-27017 refuses
    (server-side WriteError), `insert_one` an
    `_id` that already exists (server-side DuplicateKeyError). Reads go through untouched."""

    def __init__(self, real, existing_id):
        self._real = real
        self._existing_id = existing_id

    def __getattr__(self, name):
        return getattr(self._real, name)

    async def delete_many(self, query, *a, **kw):
        return await self._real.delete_many({**query, "$where": "true"}, *a, **kw)

    async def bulk_write(self, requests, *a, **kw):
        from pymongo import DeleteMany
        poisoned = [DeleteMany({**r._filter, "$where": "true"}) for r in requests]
        return await self._real.bulk_write(poisoned, *a, **kw)

    async def insert_one(self, doc, *a, **kw):
        return await self._real.insert_one({**doc, "_id": self._existing_id}, *a, **kw)


class MongoWriteError(Fault):
    def inject(self, ctx: Ctx) -> None:
        existing = ctx.db[CONNECTIONS].find_one()["_id"]
        ctx.extra["collection"] = ctx.store._connections
        ctx.store._connections = _PoisonedCollection(ctx.store._connections, existing)

    def lift(self, ctx: Ctx) -> None:
        if "collection" in ctx.extra:
            ctx.store._connections = ctx.extra.pop("collection")
        ctx.sim.faults()


class Cancellation(Fault):
    """Cancelled mid-run: the cancel event for delete / clear-all (targets not started are
    skipped), a task cancel for create (right after the instance was created)."""

    def trigger(self, op: str, event: StepEvent) -> bool:
        if op == "create":
            return event.step is Step.CREATE and event.outcome is StepOutcome.OK
        return is_trigger(op, event)

    def inject(self, ctx: Ctx) -> None:
        ctx.cancel.set()
        if ctx.op == "create":
            assert ctx.task is not None
            ctx.task.cancel()


# ---------------------------------------------------------------------------- faults of v2
def target_of(run: Run, name: str):
    assert run.summary is not None
    [target] = [t for t in run.summary.targets if t.name == name]
    return target


def deletes_of(ctx: Ctx, name: str) -> int:
    """DELETE requests the run sent for `name` (from its step events)."""
    return sum(1 for e in ctx.events if e.instance == name and e.step is Step.DELETE
               and e.outcome in (StepOutcome.OK, StepOutcome.RETRY, StepOutcome.FAILED))


class Detection(SimFault):
    """A fault on the oracles of dialect detection (`GET /`, `POST /verify-creds`, the list),
    which the client asks at its first call that needs the dialect. Either a later oracle
    still tells (`detected_by`: which one may; `/` asked `asks` times) and the run goes on as
    the control cell's, or (`refuses`) nothing answers: one line, nothing touched."""

    def __init__(self, *args, detected_by: frozenset[DetectedBy] = frozenset(),
                 asks: int = 2, says: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.detected_by = detected_by
        self.asks = asks  # `GET /` requests of one detection (a timeout is not retried)
        self.says = says  # what the one line says when nothing could be done

    def inject(self, ctx: Ctx) -> None:
        ctx.extra["asked"] = ctx.sim.stats()["requests"].get("root", 0)
        super().inject(ctx)

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        profile = ctx.client.known_profile
        if profile is not None:  # whatever was detected is the server's dialect
            assert profile.dialect is Dialect(ctx.dialect), profile
        if self.refuses:  # nothing could be done: refused, or its targets failed (one line)
            lines = [run.refused] if run.refused else [t.reason for t in run.summary.targets
                                                       if t.outcome is O.FAILED]
            assert lines and len(lines) == len(run.summary.targets if run.summary else lines)
            for line in lines:
                one_line(line)
                assert self.says in line and "(GET /instance/fetchInstances)" in line, line
            return
        asked = ctx.sim.stats()["requests"].get("root", 0) - ctx.extra["asked"]
        assert asked == self.asks, asked  # the fault met detection (once)
        assert profile is not None and profile.detected_by in self.detected_by, profile


class Recheck(SimFault):
    """v2 re-checks every name with a probe right before its delete: the probes fail from
    the moment the run starts (after a clean plan). No name may be deleted blind. `brief`:
    the fault is lifted once a re-check has failed (the targets already probing fail too,
    the later ones go through)."""

    def __init__(self, *args, brief: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.brief = brief

    def trigger(self, op: str, event: StepEvent) -> bool:
        return event.step is Step.PLAN and not event.instance  # the run starts

    def inject(self, ctx: Ctx) -> None:
        ctx.extra["deletes"] = ctx.sim.stats()["requests"].get("delete", 0)
        super().inject(ctx)

    def on_event(self, ctx: Ctx, event: StepEvent) -> None:
        if self.brief and event.step is Step.PROBE and event.outcome is StepOutcome.FAILED \
                and not ctx.extra.get("lifted"):
            ctx.extra["lifted"] = True
            ctx.sim.faults()

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        sent = ctx.sim.stats()["requests"].get("delete", 0) - ctx.extra["deletes"]
        reported = sum(deletes_of(ctx, name) for name in run.planned)
        assert sent == reported, (sent, reported)  # every delete the server saw is reported
        assert run.summary is not None
        for t in run.summary.targets:
            if t.outcome is O.FAILED:
                assert t.reason.startswith("probe failed: "), t.reason
                assert deletes_of(ctx, t.name) == 0, f"{t.name} deleted without its re-check"
        if not self.brief:
            assert sent == 0, "a name was deleted without its re-check"


class DeleteWindow(SimFault):
    """v2's delete -> 403 window (`delete_window_ms`) longer than the verification budget:
    every deleted name is still held at its end - stuck, with the cleanup reason, after one
    delete (a held name is waited for, not deleted again)."""

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        assert run.summary is not None
        for t in run.summary.targets:
            if t.outcome is O.STUCK_RESERVED:
                assert t.reason == CLEANUP_HINT, t.reason
                assert deletes_of(ctx, t.name) == 1, (t.name, deletes_of(ctx, t.name))


class Zombie237(Fault):
    """Evolution API 2.3.7: instances whose socket died stay loaded, and 2.3.7 refuses their
    delete (400: the awaited logout fails). Retried, then failed with the zombie's reason;
    records kept and marked; a restart of Evolution frees them."""

    NAMES = {"delete_one": ["fabio_1_1700000001"],
             "delete_marked": ["fabio_1_1700000001", "fabio_2_1700000002"],
             "clear_reseller": ["fabio_1_1700000001", "fabio_2_1700000002"],
             "clear_all": ["fabio_1_1700000001", "ana_1_1700000001"]}

    def inject(self, ctx: Ctx) -> None:
        ctx.sim.zombies(self.NAMES[ctx.op])

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        for name in self.NAMES[ctx.op]:
            target = target_of(run, name)
            assert target.outcome is O.FAILED and target.reason.endswith(ZOMBIE_HINT), target
            assert deletes_of(ctx, name) == POLICY_V2.max_attempts, name  # retried
            assert probe_status(ctx.sim, name) == "present"

    async def recover(self, ctx: Ctx) -> None:
        ctx.sim.restart()


class OtherClientRow(Fault):
    """A second v2 server (clientName `evo_b`) on the same database owns a name: this
    server does not list it, yet holds it (a probe says reserved) and its DELETE would destroy
    the other server's row. Skipped (OTHER_SERVER), never deleted, its record kept. The
    operator removes it on its own server (evodash pointed at it); then the re-run here
    converges. Delete operations: a name of r1 with a record; create: the very name create
    wants (create must take the next one)."""

    NAME = "fabio_8_1700000008"

    def name(self, ctx: Ctx) -> str:
        return CREATE_NAME if ctx.op == "create" else self.NAME

    def seed(self, ctx: Ctx) -> None:
        other: SimHandle = ctx.request.getfixturevalue("sim_other_v2")
        other.reset()
        ctx.extra["other"] = other
        made = other.request("POST", "/instance/create", json={
            "instanceName": self.name(ctx), "integration": "WHATSAPP-BAILEYS", "qrcode": False})
        assert made.status_code == 201, made.text
        if ctx.op != "create":
            add_record(ctx.db, "r1", self.NAME)
            ctx.world["targets"] = [self.NAME]

    def _still_theirs(self, ctx: Ctx) -> None:
        other: SimHandle = ctx.extra["other"]
        rows = {r["name"]: r for r in other.state()["rows"]}
        assert rows.get(self.name(ctx), {}).get("client_name") == "evo_b", "their row was deleted"
        assert probe_status(other, self.name(ctx)) == "present", "their instance was touched"

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        self._still_theirs(ctx)
        if ctx.op == "create":
            return
        target = target_of(run, self.NAME)
        assert target.outcome is O.SKIPPED and target.skip is not None \
            and target.skip.cause is SkipCause.OTHER_SERVER, target
        assert deletes_of(ctx, self.NAME) == 0
        assert ctx.db[CONNECTIONS].count_documents({"instance_name": self.NAME}) == 1

    async def recover(self, ctx: Ctx) -> None:
        other: SimHandle = ctx.extra["other"]
        async with fast_client(other.url) as client:
            service = make_service(client, ctx.store, ctx.tmp_path / "other",
                                   policy=POLICY_V2, now=lambda: FIXED_TS)
            done = await ops.delete(service, [self.name(ctx)])
        assert [t.outcome for t in done.targets] == [O.REMOVED], done.targets

    def cleanup(self, ctx: Ctx) -> None:
        if "other" in ctx.extra:  # this server's reset leaves the other's rows
            ctx.extra["other"].reset()


class GhostRow(Fault):
    """A database row of this server with no live instance (recorded `ghost_row`: listed
    `open`, a probe says reserved, connect answers `[object Object]`): deleted, verified free,
    its record removed."""

    NAME = "fabio_6_1700000006"

    def seed(self, ctx: Ctx) -> None:
        ctx.sim.seed([{"name": self.NAME, "ghost": True, "state": "open"}])
        add_record(ctx.db, "r1", self.NAME)
        ctx.world["targets"] = [self.NAME]
        assert probe_status(ctx.sim, self.NAME) == "reserved"

    async def after_run(self, ctx: Ctx, run: Run) -> None:
        target = target_of(run, self.NAME)
        assert target.outcome is O.REMOVED, target
        assert any(e.instance == self.NAME and e.step is Step.VERIFY
                   and e.outcome is StepOutcome.ABSENT for e in ctx.events), "not verified"
        assert self.NAME not in snapshot(ctx.sim, ctx.db)["instances"], "its row is left"
        assert ctx.db[CONNECTIONS].count_documents({"instance_name": self.NAME}) == 0


ANY_DELETE = F({O.REMOVED, O.ALREADY_ABSENT, O.FAILED, O.STUCK_RESERVED})
CONTROL = {"*": FREED, "create": F({O.CREATED})}
CONTROL_MUST = {"*": F({O.REMOVED}), "create": F({O.CREATED})}
FALLBACK = F({DetectedBy.VERIFY_CREDS, DetectedBy.LIST_SHAPE})
FAULTS: list[Fault] = [
    NoFault("none", ALL_OPS, {"*": FREED, "create": F({O.CREATED})}),
    SimFault("5xx_delete", DELETE_OPS, {"*": F({O.FAILED, O.ALREADY_ABSENT})},
             {"*": F({O.FAILED})},
             options={"error_rate": 1.0, "error_status": 503, "routes": ["delete"]}),
    # (v2's verified delete sends no logout)
    SimFault("5xx_logout", ("delete_one", "delete_marked", "clear_reseller", "clear_all"),
             {"*": FREED}, {"*": F({O.REMOVED})},
             options={"error_rate": 1.0, "error_status": 500, "routes": ["logout"]},
             dialects=(V18,)),
    SimFault("5xx_create", ("create",), {"*": F({O.FAILED})}, {"*": F({O.FAILED})},
             options={"error_rate": 1.0, "error_status": 502, "routes": ["create"]}),
    ProbeTimeout("probe_timeout", ALL_OPS,
                 {"*": F({O.REMOVED, O.ALREADY_ABSENT, O.FAILED}), "create": F({O.FAILED})},
                 {"create": F({O.FAILED})}, mid_run=True, options={}),
    Refused("refused_mid_run", ALL_OPS,
            {"*": F({O.REMOVED, O.ALREADY_ABSENT, O.FAILED}), "create": F({O.FAILED})},
            {"*": F({O.FAILED})}, mid_run=True),
    KeyRotation("401_mid_run", ALL_OPS,
                {"*": F({O.REMOVED, O.ALREADY_ABSENT, O.FAILED, O.SKIPPED}),
                 "create": F({O.FAILED})},
                # v1.8 frees a logged-out name at once: its probe meets the 404 that comes
                # before the key check; v2's name is held a moment (the key check answers)
                {"delete_one": FREED, "*": F({O.FAILED}), "v2:*": F({O.FAILED})}, mid_run=True),
    SimFault("429", ALL_OPS, {"*": F({O.REMOVED, O.ALREADY_ABSENT, O.FAILED}),
                              "create": F({O.CREATED, O.FAILED})},
             options={"error_rate": 0.5, "error_status": 429,
                      "routes": ["delete", "logout", "connectionState", "create"]}),
    # open / connecting names are logged out first (auth state gone): only `close` ones lag.
    # (v2: the lag is the delete window, `delete_window` below)
    SimFault("cleanup_lag", DELETE_OPS, {"*": ANY_DELETE - {O.FAILED}},
             {"*": F({O.STUCK_RESERVED}), "delete_one": F({O.REMOVED})}, options={"cleanup_lag_ms": 3000},
             restart_on_lift=True, dialects=(V18,)),
    ReconnectLoop("reconnect_loop", ALL_OPS,
                  {"*": ANY_DELETE - {O.FAILED}, "create": F({O.CREATED})},
                  {"*": F({O.REMOVED}), "create": F({O.CREATED})}),
    ReconnectLoop("dialing_unstoppable", ALL_OPS,
                  {"*": ANY_DELETE - {O.FAILED}, "create": F({O.CREATED})},
                  {"*": F({O.STUCK_RESERVED}), "create": F({O.CREATED})},
                  knobs={"connecting_share": 0, "orphan_outcome": "came_back"},
                  dialects=(V18,)),  # v2 stops no dialing, and its orphans never come back
    # (a logout that never lands in its budget is rare but possible: stuck, record kept)
    PlatformCreateRace("platform_create_race", ("clear_reseller", "clear_all"),
                       {"*": ANY_DELETE - {O.FAILED} | {O.SKIPPED}}, {"*": FREED}, mid_run=True),
    AuditUnwritable("audit_unwritable", ALL_OPS, {"*": F()}),
    TwoOperators("two_operators", ("delete_marked", "clear_reseller", "clear_all"),
                 {"*": FREED | {O.SKIPPED, O.NOT_FOUND}}, mid_run=True),
    Restarted("restarted_offline", ALL_OPS,
              {"*": ANY_DELETE - {O.FAILED}, "create": F({O.CREATED})},
              {"*": F({O.REMOVED}), "create": F({O.CREATED})},
              policies={V2: POLICY_V2_LOADED}),
    # (v2 rolls a failed create back; a name held but not listed there is another server's:
    # `other_client_row`)
    Residue("create_residue", ALL_OPS, {"*": FREED, "create": F({O.CREATED})},
            {"create": F({O.CREATED})}, dialects=(V18,)),
    SimFault("malformed_json", ALL_OPS,
             {"*": F({O.REMOVED, O.ALREADY_ABSENT, O.FAILED}), "create": F({O.FAILED})},
             {"*": F({O.FAILED})},
             options={"malformed_rate": 1.0, "routes": ["delete"]},
             create_options={"malformed_count": 1, "routes": ["create"]}),
    MongoStopped("mongo_stopped", ALL_OPS,
                 {"*": FREED, "create": F({O.FAILED})}, {"create": F({O.FAILED})},
                 mid_run=True, record_errors=True),
    MongoWriteError("mongo_write_error", ALL_OPS, {"*": FREED, "create": F({O.FAILED})},
                    {"create": F({O.FAILED})}, record_errors=True),
    Cancellation("cancel_mid_run", ALL_OPS, {"*": F({O.REMOVED, O.ALREADY_ABSENT, O.SKIPPED})},
                 {"clear_all": F({O.SKIPPED})}, mid_run=True),
    # -- detection (the client's first call). Each kind of failure meets one of the three
    # first calls that differ (a delete's lookup, clear-all's list, create's list in its run),
    # each group meets all three. `GET /` fails: the next oracle tells, the run goes on
    Detection("detect_root_5xx", ("delete_one",), CONTROL, CONTROL_MUST,
              options={"error_rate": 1.0, "error_status": 503, "routes": ["root"]},
              detected_by=FALLBACK),
    Detection("detect_root_timeout", ("clear_all",), CONTROL, CONTROL_MUST,
              options={"timeout_rate": 1.0, "hang_s": 0.6, "routes": ["root"]},
              detected_by=FALLBACK, asks=1),
    Detection("detect_root_html", ("create",), CONTROL, CONTROL_MUST,
              options={"malformed_rate": 1.0, "routes": ["root"]}, detected_by=FALLBACK,
              asks=1),  # (a malformed answer is not retried)
    Detection("verify_creds_5xx", ("delete_one", "clear_all", "create"), CONTROL, CONTROL_MUST,
              options={"error_rate": 1.0, "error_status": 503, "routes": ["root", "verifyCreds"]},
              detected_by=F({DetectedBy.LIST_SHAPE}), dialects=(V2,)),
    # every request fails while the client detects (a proxy in front of a dead server)
    # (the first call is the list, which fails before anything needs the dialect: its line)
    Detection("detect_down_5xx", ("clear_all",), {"*": F({O.FAILED})},
              options={"error_rate": 1.0, "error_status": 502}, refuses=True,
              says="server error (502 Bad Gateway)"),
    Detection("detect_down_timeout", ("create",), {"*": F({O.FAILED})},
              options={"timeout_rate": 1.0, "hang_s": 0.6}, refuses=True,
              says="no answer within 0.5 s"),
    Detection("detect_down_html", ("delete_one",), {"*": F({O.FAILED})},
              options={"malformed_rate": 1.0}, refuses=True,
              says="malformed response: expected JSON, got text/html"),
    # -- v2 only
    Recheck("recheck_5xx", DELETE_OPS, {"*": F({O.FAILED})}, {"*": F({O.FAILED})}, mid_run=True,
            options={"error_rate": 1.0, "error_status": 503, "routes": ["connectionState"]},
            dialects=(V2,)),
    Recheck("recheck_timeout", DELETE_OPS, {"*": FREED | {O.FAILED}}, {"*": F({O.FAILED})},
            mid_run=True, options={"timeout_rate": 1.0, "hang_s": 0.6,
                                   "routes": ["connectionState"]}, dialects=(V2,), brief=True),
    DeleteWindow("delete_window", DELETE_OPS, {"*": F({O.STUCK_RESERVED, O.ALREADY_ABSENT})},
                 {"*": F({O.STUCK_RESERVED})}, options={"delete_window_ms": 1000},
                 restart_on_lift=True, dialects=(V2,)),
    Zombie237("zombie_237", DELETE_OPS, {"*": FREED | {O.FAILED}}, {"*": F({O.FAILED})},
              dialects=(V2,), server="sim_server_v237"),
    OtherClientRow("other_client_row", ALL_OPS, {"*": FREED, "create": F({O.CREATED})},
                   {"create": F({O.CREATED})}, dialects=(V2,)),
    GhostRow("ghost_row", DELETE_OPS, {"*": FREED}, {"*": F({O.REMOVED})}, dialects=(V2,)),
]
CELLS = [pytest.param(op, fault, dialect, id=f"{dialect}-{op}-{fault.id}")
         for fault in FAULTS for dialect in fault.dialects for op in fault.ops]


# ---------------------------------------------------------------------------- operations
@dataclass
class Run:
    planned: list[str]
    summary: Summary | None
    scope: Scope
    kw: dict[str, Any] = field(default_factory=dict)
    cancelled_task: bool = False
    refused: str = ""  # the operation refused to start (e.g. the audit log is unwritable)


DELETE_ONE = ["fabio_1_1700000001"]
DELETE_MARKED = ["fabio_1_1700000001", "fabio_2_1700000002", "fabio_3_1700000003",
                 "fabio_4_1700000004", "fabio_5_1700000005", "fabio_9_1700000009"]


def delete_names(ctx: Ctx) -> list[str]:
    """The names of the delete operations; a fault's own name (`world["targets"]`) replaces
    the one of delete_one and is added to delete_marked's."""
    if ctx.op == "delete_one":
        return list(ctx.world.get("targets", DELETE_ONE))
    return DELETE_MARKED + ctx.world.get("targets", [])


async def run_op(ctx: Ctx, service, sink) -> Run:
    """The operation; one that refuses to start (the audit log, the plan's first call to
    Evolution API or MongoDB) comes back as `refused` with the error's text."""
    try:
        return await _run_op(ctx, service, sink)
    except (AuditError, EvolutionError, StoreError) as exc:
        scope = Scope.reseller("r1") if ctx.op in ("clear_reseller", "create") else Scope.all()
        return Run([], None, scope, refused=str(exc))


async def _run_op(ctx: Ctx, service, sink) -> Run:
    if ctx.op in ("delete_one", "delete_marked"):
        names = delete_names(ctx)
        return Run(names, await ops.delete(service, names, sink=sink, cancel=ctx.cancel), Scope.all())
    if ctx.op in ("clear_reseller", "clear_all"):
        scope = Scope.reseller("r1") if ctx.op == "clear_reseller" else Scope.all()
        plan = await ops.plan_clear_all(service, scope)
        summary = await ops.clear_all(service, scope, plan=plan, sink=sink, cancel=ctx.cancel)
        return Run([t.name for t in plan.targets], summary, scope)
    ctx.task = asyncio.current_task()
    try:
        return Run([], await ops.create(service, "r1", sink=sink), Scope.reseller("r1"))
    except asyncio.CancelledError:
        asyncio.current_task().uncancel()
        return Run([], None, Scope.reseller("r1"), cancelled_task=True)


# ---------------------------------------------------------------------------- checks
def one_line(text: str | None) -> None:
    if text:
        assert "\n" not in text and "Traceback" not in text, f"not one line: {text!r}"


def records_lost(sim, before: dict, after: dict) -> int:
    lost = 0
    for doc_id, doc in before["records"].items():
        if doc_id not in after["records"] and probe_status(sim, doc["instance_name"]) != "absent":
            lost += 1
    return lost


def check_delete_cell(ctx: Ctx, fault: Fault, before: dict, run: Run) -> None:
    summary = run.summary
    assert summary is not None
    assert_invariants(ctx.sim, ctx.db, before, summary, run.planned)
    allowed = fault.expected_for(ctx.op, ctx.dialect) | {O.SKIPPED}
    for target in summary.targets:
        if target.outcome is O.SKIPPED and target.skip is not None \
                and not target.skip.not_started:
            continue  # a scope / shared-name / changed / claimed skip: legal under any fault
        assert target.outcome in allowed, (target.name, target.outcome, target.reason)
        one_line(target.reason)
        one_line(target.record_error)
        if target.record_error:
            assert fault.record_errors, (target.name, target.record_error)
            assert target.outcome in NAME_FREED and target.name in " ".join(summary.errors)
    for note in summary.notes:
        one_line(note)
    must = fault.must_for(ctx.op, ctx.dialect)
    if must:
        assert any(t.outcome in must for t in summary.targets), \
            [(t.name, t.outcome.value, t.reason) for t in summary.targets]
    if fault.record_errors and ctx.op != "create" and ctx.fired:
        assert any(t.record_error for t in summary.targets), "the store fault did not bite"
    if ctx.op.startswith("clear"):  # a ghost without a record is outside clear-all's plan
        for name in ctx.world.get("residue", []):
            assert probe_status(ctx.sim, name) == "reserved", f"{name} outside the plan removed"


def check_create_cell(ctx: Ctx, fault: Fault, before: dict, run: Run) -> None:
    after = snapshot(ctx.sim, ctx.db)
    # nothing that existed before was touched, except a blocking orphan create may free
    new_records = {k: v for k, v in after["records"].items() if k not in before["records"]}
    for doc_id, doc in before["records"].items():
        assert after["records"].get(doc_id) == doc, f"record {doc_id} changed by create"
    for name, state in before["instances"].items():
        if name != CREATE_NAME:  # the residue create may free (verified) and reuse
            assert after["instances"].get(name) == state, f"{name} touched by create"
    if run.cancelled_task:
        # cancelled after the instance was created: no orphan may be left behind
        for doc in new_records.values():
            assert probe_status(ctx.sim, doc["instance_name"]) == "present"
        made = [n for n in after["instances"] if n not in before["instances"]]
        linked = {d["instance_name"] for d in after["records"].values()}
        assert all(n in linked for n in made), f"cancelled create left an orphan: {made}"
        return
    summary = run.summary
    assert summary is not None and len(summary.targets) == 1, summary
    [target] = summary.targets
    one_line(target.reason)
    assert target.outcome in fault.expected_for("create", ctx.dialect), \
        (target.outcome, target.reason)
    must = fault.must_for("create", ctx.dialect)
    assert not must or target.outcome in must, (target.outcome, target.reason)
    made = [n for n, (_, in_memory, _, _) in after["instances"].items()  # newly registered
            if in_memory and not (n in before["instances"] and before["instances"][n][1])]
    if target.outcome is O.CREATED:
        [doc] = new_records.values()
        assert doc["instance_name"] == target.name and doc["reseller_id"] == "r1"
        assert probe_status(ctx.sim, target.name) == "present"
        assert made == [target.name], (made, target.name)
        if isinstance(fault, Residue):  # the residue was freed (verified) and the name used
            assert target.name == CREATE_NAME
    else:
        assert new_records == {}, f"failed create left a record: {new_records}"
        assert made == [], f"failed create left an instance: {made}"


async def check_convergence(ctx: Ctx, fault: Fault, service, run: Run) -> None:
    if ctx.op == "create":
        again = await ops.create(service, "r1")
        [target] = again.targets
        assert target.outcome is O.CREATED, target.reason
        await assert_rerun_converges(service, ctx.sim, ctx.db, Scope.all())
        return
    if ctx.op in ("delete_one", "delete_marked"):
        before = snapshot(ctx.sim, ctx.db)
        names = run.planned
        again = await ops.delete(service, names)
        assert_invariants(ctx.sim, ctx.db, before, again, names)
        for target in again.targets:  # freed now, or nothing of it is left at all
            assert target.outcome in (*NAME_FREED, O.NOT_FOUND), target
            assert target.record_error is None, target
        return
    await assert_rerun_converges(service, ctx.sim, ctx.db, run.scope)
    assert (await ops.plan_clear_all(service, run.scope)).actionable == []


# ---------------------------------------------------------------------------- the cells
@pytest.fixture
def dialect() -> str:
    """The dialect of a test that is not parametrized over it."""
    return V18


@pytest.fixture
def sim(request, dialect) -> SimHandle:
    """The simulator of the test's dialect (reset first): every cell runs on v1.8 and v2."""
    handle: SimHandle = request.getfixturevalue(SIM_FIXTURES[dialect])
    handle.reset()
    return handle


def _v2_server(**options) -> tuple[ThreadedSimulator, SimHandle]:
    server = ThreadedSimulator(host="127.0.0.1", port=0, api_key=API_KEY, seed=SEED,
                               dialect="v2", **options).start()
    return server, SimHandle(server.url, API_KEY, V2, server)


@pytest.fixture(scope="module")
def sim_server_v237():
    """A v2 server of version 2.3.7 (its delete of a zombie fails)."""
    server, handle = _v2_server(version="2.3.7")
    yield handle
    handle.close()
    server.stop()


@pytest.fixture(scope="module")
def sim_other_v2(sim_server_v2):
    """A second v2 server (clientName `evo_b`) on the database of `sim_server_v2`."""
    server, handle = _v2_server(client_name="evo_b",
                                database=sim_server_v2.server.database)
    yield handle
    handle.reset()
    handle.close()
    server.stop()


@pytest.fixture(scope="module")
def nx_restartable(tmp_path_factory):
    """A MongoDB-wire server with a data dir: survives stop/start (mongo_stopped cells)."""
    server = MongoWireServer(data_dir=tmp_path_factory.mktemp("nx-fault-matrix")).start()
    yield server
    server.stop()


@pytest.mark.parametrize("op,fault,dialect", CELLS)
async def test_fault_cell(op: str, fault: Fault, dialect: str, mongo_db, store_settings,
                          tmp_path, request):
    started = time.monotonic()
    cell = CellResult(f"{dialect}-{op}-{fault.id}", op, fault.id, dialect)
    COLLECTED[cell.cell] = cell
    sim: SimHandle = request.getfixturevalue(fault.server or SIM_FIXTURES[dialect])
    sim.reset()
    own_server = None
    if isinstance(fault, MongoStopped):
        own_server = request.getfixturevalue("nx_restartable")
        if not own_server.running:
            own_server.start()
        sync = MongoClient(own_server.uri, serverSelectionTimeoutMS=2000)
        db_name = f"fault_{op}"
        sync.drop_database(db_name)
        db = sync[db_name]
        store = ConnectionStore(own_server.uri, db_name, timeout_ms=300)
    else:
        sync = None
        db = mongo_db
        store = ConnectionStore(store_settings.uri.get_secret_value(), store_settings.database,
                                timeout_ms=2000)
    client = fast_client(sim.url)
    ctx = Ctx(op, sim, db, store, client, tmp_path, dialect, request)
    if own_server is not None:
        ctx.extra["server"] = own_server
    try:
        ctx.world = seed_world(sim, db)
        fault.seed(ctx)
        service = make_service(client, store, tmp_path, policy=fault.policy(dialect),
                               now=lambda: FIXED_TS)
        before = snapshot(sim, db)

        mid_run = fault.mid(op)

        def sink(event: StepEvent) -> None:
            ctx.events.append(event)
            if mid_run and not ctx.fired and fault.trigger(op, event):
                ctx.fired = True
                fault.inject(ctx)
            elif ctx.fired:
                fault.on_event(ctx, event)

        if not mid_run:
            fault.inject(ctx)
            ctx.fired = True
        run = await run_op(ctx, service, sink)
        await fault.after_run(ctx, run)
        if run.refused:
            assert fault.refuses or isinstance(fault, AuditUnwritable), run.refused
            one_line(run.refused)
            fault.lift(ctx)
            assert snapshot(sim, db) == before, "a refused operation changed something"
            assert not isinstance(fault, AuditUnwritable) or "audit log" in run.refused
            await fault.recover(ctx)
            await check_convergence(ctx, fault, service, run)
            cell.passed = True
            return
        assert not isinstance(fault, AuditUnwritable), "it ran without an audit log"
        if run.summary is not None:
            for t in run.summary.targets:
                cell.outcomes[t.outcome.value] = cell.outcomes.get(t.outcome.value, 0) + 1
        fault.lift(ctx)  # the fault stops; what it left behind is checked as it is
        after = snapshot(sim, db)
        cell.records_lost = records_lost(sim, before, after)
        try:
            if op == "create":
                check_create_cell(ctx, fault, before, run)
            else:
                check_delete_cell(ctx, fault, before, run)
            if fault.refuses:  # it could do nothing: nothing was touched
                assert after == before, "an operation that could do nothing changed something"
        except AssertionError:
            cell.violations += 1
            raise
        assert cell.records_lost == 0
        await fault.recover(ctx)
        await check_convergence(ctx, fault, service, run)
        cell.passed = True
    finally:
        fault.lift(ctx)
        fault.cleanup(ctx)
        await client.aclose()
        store.close()
        if sync is not None:
            sync.close()
        cell.elapsed_s = round(time.monotonic() - started, 3)


def test_matrix_has_every_fault_and_operation():
    """The table generates the documented cells: the not-applicable pairs of each dialect are
    exactly the documented ones, the faults that cannot bite on v2 are not generated there
    and v2's own cells replace them."""
    ids = {(d, op, f.id) for f in FAULTS for d in f.dialects for op in f.ops}
    detection = {f.id: f.ops for f in FAULTS if isinstance(f, Detection)}
    # detection: each kind of failure at one of the three first calls that differ, each
    # group (`GET /` down, everything down) at all three
    assert detection == {"detect_root_5xx": ("delete_one",), "detect_root_timeout": ("clear_all",),
                         "detect_root_html": ("create",),
                         "verify_creds_5xx": ("delete_one", "clear_all", "create"),
                         "detect_down_5xx": ("clear_all",), "detect_down_timeout": ("create",),
                         "detect_down_html": ("delete_one",)}
    for dialect in DIALECTS:
        faults = [f for f in FAULTS if dialect in f.dialects and f.id not in detection]
        missing = {(op, f.id) for f in faults for op in ALL_OPS} - {
            (op, fid) for d, op, fid in ids if d == dialect}
        common = {("delete_one", "5xx_create"), ("delete_marked", "5xx_create"),
                  ("clear_reseller", "5xx_create"), ("clear_all", "5xx_create"),
                  ("create", "5xx_delete"),
                  # a race with a plan only bulk operations make; a second operator
                  # needs more than one name to compete for
                  ("delete_one", "platform_create_race"),
                  ("delete_marked", "platform_create_race"),
                  ("create", "platform_create_race"), ("delete_one", "two_operators"),
                  ("create", "two_operators")}
        if dialect == V18:
            assert missing == common | {("create", "5xx_logout"), ("create", "cleanup_lag")}
        else:  # create deletes nothing of its own: no re-check, window, zombie or ghost
            assert missing == common | {("create", fid) for fid in (
                "recheck_5xx", "recheck_timeout", "delete_window", "zombie_237", "ghost_row")}
    v18 = {f.id for f in FAULTS if V18 in f.dialects}
    v2 = {f.id for f in FAULTS if V2 in f.dialects}
    assert v18 - v2 == {"5xx_logout", "cleanup_lag", "dialing_unstoppable", "create_residue"}
    assert v2 - v18 == {"verify_creds_5xx", "recheck_5xx", "recheck_timeout", "delete_window",
                        "zombie_237", "other_client_row", "ghost_row"}
    assert len(CELLS) == len(ids)
    assert sum(d == V18 for d, _, _ in ids) == 94
    assert sum(d == V2 for d, _, _ in ids) == 104


# ---------------------------------------------------------------------------- CLI cells
def write_settings(path: Path, url: str, uri: str, database: str, api_key: str = API_KEY,
                   dialect: str = V18, concurrency: int = 4) -> Path:
    """The CLI's settings for a cell: the budgets of the matrix' policy of `dialect`."""
    policy = POLICIES[dialect]
    path.write_text(json.dumps({
        "evolution": {"url": url, "api_key": api_key, "timeout_s": 0.5},
        "mongo": {"uri": uri, "database": database},
        "cleanup": {"verify_timeout_s": policy.verify_timeout_s, "max_delete_attempts": 2,
                    "concurrency": concurrency, "free_hold_s": policy.free_hold_s,
                    "orphan_grace_s": 0},
        "audit_log": str(path.parent / "audit.jsonl"),
    }))
    path.chmod(0o600)
    return path


CLI_OPS = {
    "delete_one": ["delete", "fabio_1_1700000001", "--yes"],
    "clear_reseller": ["clear-all", "--reseller", "r1", "--yes"],
    "create": ["create", "--reseller", "r1", "--yes"],
}


@dataclass(frozen=True)
class CliFault:
    id: str
    setup: Callable[..., dict]  # (sim, settings kwargs) -> settings overrides
    exit_codes: frozenset[int]
    stderr_has: str = ""


def _cli_5xx(sim, kw):
    sim.faults(error_rate=1.0, error_status=500, routes=["delete", "create"])
    return kw


def _cli_malformed(sim, kw):
    sim.faults(malformed_rate=1.0, routes=["fetchInstances"])
    return kw


CLI_FAULTS = [
    CliFault("5xx", _cli_5xx, F({1})),  # per-target failures: exit 1, summary on stdout
    CliFault("401", lambda sim, kw: kw | {"api_key": "wrong-key-0000000000000"}, F({2}),
             "rejected the API key"),
    CliFault("refused", lambda sim, kw: kw | {"url": f"http://127.0.0.1:{closed_port()}"},
             F({2}), "connection refused"),
    CliFault("mongo_down", lambda sim, kw: kw | {
        "uri": f"mongodb://127.0.0.1:{closed_port()}/?serverSelectionTimeoutMS=300"},
        F({2}), "MongoDB"),
    CliFault("malformed", _cli_malformed, F({2}), "malformed response"),
]


# MongoDB down costs the product's 5 s server-selection timeout: one operation only
CLI_CELLS = [pytest.param(op, f, dialect, id=f"{dialect}-{op}-{f.id}")
             for dialect in DIALECTS for f in CLI_FAULTS for op in CLI_OPS
             if f.id != "mongo_down" or op == "delete_one"]


@pytest.mark.parametrize("op,fault,dialect", CLI_CELLS)
def test_cli_cell(op, fault, dialect, sim, mongo_db, mongo_uri, mongo_database, tmp_path,
                  capsys):
    from tui.cli.main import main

    seed_world(sim, mongo_db)
    before = snapshot(sim, mongo_db)
    kw = fault.setup(sim, {"url": sim.url, "uri": mongo_uri, "database": mongo_database})
    settings = write_settings(tmp_path / "settings.json", **kw, dialect=dialect)
    code = main(["--settings", str(settings), *CLI_OPS[op], "--json"])
    out, err = capsys.readouterr()
    sim.faults()
    assert code in fault.exit_codes, (code, out, err)
    assert "Traceback" not in out + err and API_KEY not in out + err
    assert "wrong-key-0000000000000" not in out + err
    if code == 2:
        assert len(err.strip().splitlines()) == 1 and err.startswith("evodash: "), err
        assert fault.stderr_has in err, err
        assert snapshot(sim, mongo_db) == before  # refused before any change
    else:
        lines = [json.loads(line) for line in out.splitlines()]
        [summary] = [line for line in lines if line["type"] == "summary"]
        names = [t["name"] for t in summary["targets"]]
        assert len(names) == len(set(names)) and summary["failed"] >= 1
        for t in summary["targets"]:
            assert "\n" not in t.get("reason", "")
        for doc_id, doc in before["records"].items():  # no record of a live name removed
            if doc_id not in snapshot(sim, mongo_db)["records"]:
                assert probe_status(sim, doc["instance_name"]) == "absent"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_cli_subprocess_bad_key_is_one_line_exit_2(dialect, sim, mongo_db, mongo_uri,
                                                   mongo_database, tmp_path):
    """The real process: stderr is one line, exit 2, no traceback, no secret."""
    seed_world(sim, mongo_db)
    settings = write_settings(tmp_path / "settings.json", sim.url, mongo_uri, mongo_database,
                              api_key="wrong-key-0000000000000", dialect=dialect)
    proc = subprocess.run([sys.executable, "-m", "tui", "--settings", str(settings),
                           "clear-all", "--all", "--yes"], capture_output=True, text=True,
                          timeout=60, cwd=Path(__file__).parent.parent)
    assert proc.returncode == 2, proc
    assert proc.stderr.count("\n") == 1 and "401" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "wrong-key-0000000000000" not in proc.stderr


# ---------------------------------------------------------------------------- signals
SIGNAL_OPS = {
    "delete_marked": ["delete", *DELETE_MARKED, "--yes", "--json"],
    "clear_all": ["clear-all", "--all", "--yes", "--json"],
}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
@pytest.mark.parametrize("op", sorted(SIGNAL_OPS))
def test_signal_mid_run_cell(op, signame, dialect, sim, mongo_db, mongo_uri, mongo_database,
                             tmp_path, capsys):
    """A signal in the middle of a CLI mutation (an operator's ctrl+c, an SSH drop, a kill):
    no new target starts, the started ones finish, the summary and the audit log say what was
    done, the exit code is 128 + the signal, no record of a live name is removed, and a
    re-run converges (the CLI's entry point in this process: what it leaves is the same, and
    a second interpreter costs more than the run)."""
    import signal
    import subprocess
    import sys

    from tui.cli.main import main

    seed_world(sim, mongo_db)
    # slow enough that a signal lands mid-run (v2's targets make fewer requests: half as slow)
    sim.faults(latency_ms=60 if dialect == V2 else 120)
    before = snapshot(sim, mongo_db)
    # v2 gives a target's slot up once its delete is answered, so the next targets start at
    # once: two slots leave targets unstarted when the first delete line brings the signal
    settings = write_settings(tmp_path / "settings.json", sim.url, mongo_uri, mongo_database,
                              dialect=dialect, concurrency=2 if dialect == V2 else 4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODASH_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    proc = subprocess.Popen([sys.executable, "-m", "tui", "--settings", str(settings),
                             *SIGNAL_OPS[op]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, env=env)
    lines = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if '"step": "delete"' in line or '"step": "logout"' in line:
            proc.send_signal(getattr(signal, signame))
            break
    out, err = proc.communicate(timeout=90)
    lines += out.splitlines()
    sim.faults()
    assert proc.returncode == 128 + getattr(signal, signame), (proc.returncode, err)
    assert "Traceback" not in err
    [summary] = [json.loads(x) for x in lines if x.strip() and '"type": "summary"' in x]
    assert summary["skipped"] >= 1  # targets that were not started
    after = snapshot(sim, mongo_db)
    for doc_id, doc in before["records"].items():  # no record of a live name removed
        if doc_id not in after["records"]:
            assert probe_status(sim, doc["instance_name"]) == "absent"
    events = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    intents = {e["target"] for e in events if e["event"] == "intent"}
    outcomes = {e["target"] for e in events if e["event"] == "outcome"}
    assert intents == outcomes and events[-1]["event"] == "summary"
    capsys.readouterr()
    main(["--settings", str(settings), *SIGNAL_OPS[op]])
    again = capsys.readouterr().out
    final = json.loads([x for x in again.splitlines() if '"type": "summary"' in x][0])
    assert final["failed"] == 0 and final["stuck_reserved"] == 0, final



# ---------------------------------------------------------------------------- signals: --demo
# The operator's stop as it really arrives, sent to real `evodash --demo` processes (each cell
# keeps its demo world in its own directory): Ctrl+C's SIGINT and `kill -- -PGID`'s SIGTERM
# reach the whole foreground process group, an SSH drop takes the terminal away and SIGHUP
# follows; in the dashboard Ctrl+C is a key (the terminal is raw) and `q` `y` quits mid-run.
# Every cell: exit 128 + n (a quit: 1); every audit intent has its outcome and no target was
# cut off; a summary line says the run was cancelled; no record of a live name was removed
# (the database outlived the last target); the demo stopped its database server at its end;
# a re-run converges. (tests/demo_support.py: the pty, the world's audit, database, state.)
DEMO_CLI_STOPS = {"ctrl_c": 130, "sigterm": 143, "ssh_drop": 129}
# (a SIGINT from `kill` takes the dashboard's SIGTERM path with its own code: in process,
# tests/test_app_signals.py; a terminal's Ctrl+C is a key there)
DEMO_DASHBOARD_STOPS = {"ssh_drop": 129, "sigterm": 143, "ctrl_c": 130, "quit": 1}


@pytest.mark.parametrize("how", sorted(DEMO_CLI_STOPS))
def test_demo_cli_signal_cell(how, tmp_path):
    """`evodash --demo clear-all --all` on a terminal, stopped mid-run: Ctrl+C typed (the
    headline: it used to reach the demo's database first - every instance deleted, every
    record kept), SIGTERM to its process group, the terminal hung up."""
    import signal

    from tests.demo_support import (
        PtyTerminal, assert_database_server_gone, assert_no_live_record_removed,
        assert_removed_means_records_removed, assert_rerun_converges,
        assert_run_stopped_cleanly, wait_for_intents)

    world = tmp_path / "demo"
    started = time.monotonic()
    term = PtyTerminal(world, "--demo", "clear-all", "--all", "--yes")
    try:
        wait_for_intents(world, 1, proc=term.proc)
        if how == "ctrl_c":
            term.keys("\x03")  # the line discipline: SIGINT to the foreground group
        elif how == "sigterm":
            os.killpg(term.proc.pid, signal.SIGTERM)
        else:
            term.hang_up()
        code = term.wait(90)
        shown = term.text()
    finally:
        term.close()
    expected = DEMO_CLI_STOPS[how]
    assert code == expected, (code, shown[-2000:])
    assert "Traceback" not in shown
    if how != "ssh_drop":
        name = {"ctrl_c": "SIGINT", "sigterm": "SIGTERM"}[how]
        assert f"note: stopped by {name} after the targets in progress" in shown, shown[-2000:]
    assert_run_stopped_cleanly(world)
    assert_database_server_gone(world)
    assert_removed_means_records_removed(world)
    assert_no_live_record_removed(world)
    assert_rerun_converges(world)
    print(f"demo cli {how}: {time.monotonic() - started:.1f} s")


@pytest.mark.parametrize("how", sorted(DEMO_DASHBOARD_STOPS))
def test_demo_dashboard_signal_cell(how, tmp_path):
    """The dashboard's clear-all of the demo on an 80x24 terminal, stopped mid-run."""
    import signal

    from tests.demo_support import (
        PtyTerminal, assert_database_server_gone, assert_no_live_record_removed,
        assert_removed_means_records_removed, assert_rerun_converges,
        assert_run_stopped_cleanly, set_cleanup_lag, wait_for_intents)

    world = tmp_path / "demo"
    started = time.monotonic()
    keys = how in ("ctrl_c", "quit")
    if keys:  # a slower world (a deleted name is freed 0.8 s later): the run outlasts keys
        set_cleanup_lag(world, 800)
    term = PtyTerminal(world, "--demo")
    try:
        term.wait_for("inst 36 · rec 34")  # the first refresh is on the screen
        term.keys("X")
        term.wait_for("to confirm")
        term.keys("ALL\r")
        wait_for_intents(world, 1, proc=term.proc)
        if how == "ssh_drop":
            term.hang_up()
        elif how == "sigterm":
            term.proc.send_signal(signal.SIGTERM)
        elif how == "ctrl_c":
            term.keys("\x03")
            term.wait_for("ctrl+c: stopping clear-all")  # it says what it does
        else:
            term.keys("q")
            term.wait_for("Quit while clear-all runs?")
            term.keys("y")
        code = term.wait(90)
        shown = term.text()
    finally:
        term.close()
    expected = DEMO_DASHBOARD_STOPS[how]
    assert code == expected, (code, shown[-2000:])
    assert "Traceback" not in shown
    if how != "ssh_drop":  # once the screen is gone, the terminal still says what happened
        tail = shown[shown.rfind("clear-all · all resellers (cancelled"):]
        assert "not started" in tail and f"exit {expected}" in tail, shown[-2000:]
    if keys:
        set_cleanup_lag(world, 300)  # the demo's own
    assert_run_stopped_cleanly(world)
    assert_database_server_gone(world)
    assert_removed_means_records_removed(world)
    assert_no_live_record_removed(world)
    assert_rerun_converges(world)
    print(f"demo dashboard {how}: {time.monotonic() - started:.1f} s")
