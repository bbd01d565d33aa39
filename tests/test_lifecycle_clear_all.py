"""clear-all per scope, with faults, cancellation and MongoDB going away mid-run.

After every run the invariants of `assert_invariants` are checked (no record removed while its
name is present/reserved, nothing outside the scope touched, every target reported once), and
most tests then prove a re-run converges.
"""

from __future__ import annotations

import asyncio

import pytest
from pymongo import MongoClient

from tests import ops
from tests.fixtures.mongo import CONNECTIONS, RESELLERS, insert_raw
from tests.fixtures.sim import dialect_free, v2_only, v18_only
from tests.test_lifecycle_support import (  # noqa: F401 - client is a fixture
    assert_invariants,
    assert_rerun_converges,
    audit_lines,
    client,
    listed_ghosts,
    make_client,
    make_service,
    names_of,
    outcome_of,
    probe_status,
    seed_world,
    snapshot,
)
from tui.evolution.client import EvolutionClient
from tui.lifecycle.events import NAME_FREED, Step, StepOutcome, TargetOutcome
from tui.lifecycle.planning import UnknownResellerError
from tui.lifecycle.domain import SkipCause
from tui.lifecycle.scope import Scope
from tui.store.mongo import ConnectionStore
from tui.store.wire_server import MongoWireServer


@pytest.fixture
def sim(dialect_sim):
    """Every test here runs on v1.8 and on v2 (`dialect_sim`), unless it says otherwise."""
    return dialect_sim


def planned(plan) -> list[str]:
    return [t.name for t in plan.targets]


async def run_clear(service, scope, **kw):
    plan = await ops.plan_clear_all(service, scope, **{k: v for k, v in kw.items()
                                                  if k in ("orphans_only", "include_attributed", "dry_run")})
    summary = await ops.clear_all(service, scope, plan=plan, **kw)
    return plan, summary


# ---------------------------------------------------------------------------- scopes
async def test_reseller_without_records_touches_nothing(sim, store, mongo_db, client, tmp_path):
    """The seed doc's bug: a reseller without records wiped every tenant's instances."""
    seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    plan, summary = await run_clear(service, Scope.reseller("r3"))
    assert plan.targets == [] and summary.targets == []
    assert any("no records" in note for note in plan.notes)
    assert snapshot(sim, mongo_db) == before
    assert sim.stats()["requests"].get("delete", 0) == 0
    # a reseller id nobody has ever heard of is an error (a typo is not "nothing to do"),
    # in an admin session and in that reseller's own
    for session in (service, make_service(client, store, tmp_path, scope=Scope.reseller("nobody"))):
        with pytest.raises(UnknownResellerError, match="unknown reseller 'nobody'"):
            await ops.plan_clear_all(session, Scope.reseller("nobody"))
    assert snapshot(sim, mongo_db) == before


async def test_reseller_scope_touches_only_that_resellers_names(sim, store, mongo_db, client,
                                                                tmp_path):
    world = seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    plan, summary = await run_clear(service, Scope.reseller("r1"))

    expected = world["r1_linked"] + world["r1_orphan_records"] + world["shared"]
    assert sorted(planned(plan)) == sorted(expected)
    assert_invariants(sim, mongo_db, before, summary, planned(plan))
    for name in world["r1_linked"]:
        assert outcome_of(summary, name) is TargetOutcome.REMOVED
    assert outcome_of(summary, "fabio_4_1700000004") is TargetOutcome.ALREADY_ABSENT
    assert outcome_of(summary, "fabio_5_1700000005") is TargetOutcome.REMOVED  # the ghost
    # shared-name rule: records of two resellers -> skipped in reseller scope, both kept
    assert outcome_of(summary, "shared_1_1700000001") is TargetOutcome.SKIPPED
    assert probe_status(sim, "shared_1_1700000001") == "present"
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "shared_1_1700000001"}) == 2
    # the attributed orphan is not touched without include_attributed
    assert probe_status(sim, "fabio_9_1700000009") == "present"
    stats = summary.stats()
    assert stats == {"deleted_from_evolution": 4, "deleted_from_db": 5, "errors": [],
                     "already_absent": 1, "stuck_reserved": 0, "failed": 0, "skipped": 1,
                     "not_found": 0}
    # other tenants: every instance and record identical
    after = snapshot(sim, mongo_db)
    for name in world["r2_linked"] + world["r2_attributed"] + world["unattributed"]:
        assert after["instances"][name] == before["instances"][name]
    assert [d for d in after["records"].values() if d["reseller_id"] == "r2"] == \
        [d for d in before["records"].values() if d["reseller_id"] == "r2"]
    await assert_rerun_converges(service, sim, mongo_db, Scope.reseller("r1"))


async def test_include_attributed_adds_only_own_attributed_orphans(sim, store, mongo_db, client,
                                                                   tmp_path):
    world = seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path, scope=Scope.reseller("r1"))
    before = snapshot(sim, mongo_db)
    plan, summary = await run_clear(service, Scope.reseller("r1"), include_attributed=True)
    assert "fabio_9_1700000009" in planned(plan)
    assert not set(planned(plan)) & set(world["r2_attributed"] + world["unattributed"])
    assert outcome_of(summary, "fabio_9_1700000009") is TargetOutcome.REMOVED
    assert probe_status(sim, "ana_9_1700000009") == "present"
    assert_invariants(sim, mongo_db, before, summary, planned(plan))
    await assert_rerun_converges(service, sim, mongo_db, Scope.reseller("r1"),
                                 include_attributed=True)


async def test_orphans_only_in_reseller_and_all_scope(sim, store, mongo_db, client, tmp_path):
    world = seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    plan, summary = await run_clear(service, Scope.reseller("r1"), orphans_only=True)
    listed = listed_ghosts(sim)  # v2: the ghost row is listed, its record linked: left alone
    assert sorted(planned(plan)) == sorted(set(world["r1_orphan_records"]) - set(listed))
    assert_invariants(sim, mongo_db, before, summary, planned(plan))
    for name in world["r1_linked"]:
        assert probe_status(sim, name) == "present"
    assert all(probe_status(sim, n) == "reserved" for n in listed)

    before = snapshot(sim, mongo_db)
    plan, summary = await run_clear(service, Scope.all(), orphans_only=True)
    expected = (world["r1_attributed"] + world["r2_attributed"] + world["unattributed"]
                + world["r2_orphan_records"])
    assert sorted(planned(plan)) == sorted(expected)
    assert_invariants(sim, mongo_db, before, summary, planned(plan))
    linked = world["r1_linked"] + world["r2_linked"] + world["shared"]
    assert all(probe_status(sim, n) == "present" for n in linked)
    assert mongo_db[CONNECTIONS].count_documents({}) == len(linked) + 1 + len(listed)  # shared: 2
    await assert_rerun_converges(service, sim, mongo_db, Scope.all(), orphans_only=True)


async def test_all_scope_clears_every_instance_and_record(sim, store, mongo_db, client,
                                                         tmp_path):
    world = seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    plan, summary = await run_clear(service, Scope.all())
    assert sorted(planned(plan)) == sorted(sum(world.values(), []))
    assert_invariants(sim, mongo_db, before, summary, planned(plan))
    assert summary.ok and summary.deleted_from_db == 10
    assert sim.state()["instances"] == []
    assert mongo_db[CONNECTIONS].count_documents({}) == 0
    assert mongo_db[RESELLERS].count_documents({}) == 3  # resellers are never touched
    await assert_rerun_converges(service, sim, mongo_db, Scope.all())


async def test_dry_run_changes_nothing_even_read_only(sim, store, mongo_db, client, tmp_path):
    seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path, read_only=True)
    before = snapshot(sim, mongo_db)
    for scope in (Scope.all(), Scope.reseller("r1")):
        plan, summary = await run_clear(service, scope, dry_run=True, include_attributed=True)
        assert summary.dry_run and sorted(names_of(summary)) == sorted(planned(plan))
        assert {t.outcome for t in summary.targets} <= {TargetOutcome.PLANNED,
                                                         TargetOutcome.SKIPPED}
        assert summary.count(TargetOutcome.PLANNED) == len(plan.actionable) > 0
    assert snapshot(sim, mongo_db) == before
    requests = sim.stats()["requests"]
    assert not {"delete", "logout", "create"} & set(requests)
    assert audit_lines(tmp_path) == []


# ---------------------------------------------------------------------------- faults
@v18_only("stuck_reserved from v1.8's orphan re-reservation (v2's counterpart below)")
async def test_mix_of_linked_orphan_ghost_stuck_and_failing_then_rerun(sim, store, mongo_db,
                                                                        client, tmp_path):
    world = seed_world(sim, mongo_db)
    sim.seed([{"name": "fabio_6_1700000006", "state": "close"}])  # linked, reconnect loop
    insert_raw(mongo_db, {"reseller_id": "r1", "instance_name": "fabio_6_1700000006"})
    sim.faults(reconnect_loop=["fabio_6_1700000006"], connecting_share=0, orphan_outcome="reserved",
               dial_cost_ms=0, cleanup_lag_ms=60,
               error_count=4, error_status=502, routes=["delete"])
    service = make_service(client, store, tmp_path, concurrency=1)
    before = snapshot(sim, mongo_db)
    plan, summary = await run_clear(service, Scope.all())

    assert_invariants(sim, mongo_db, before, summary, planned(plan))
    first = sorted(planned(plan))[0]  # the first one started eats the 4 injected 502s
    assert outcome_of(summary, first) is TargetOutcome.FAILED
    assert outcome_of(summary, "fabio_6_1700000006") is TargetOutcome.STUCK_RESERVED
    assert outcome_of(summary, "fabio_5_1700000005") is TargetOutcome.REMOVED  # ghost
    assert outcome_of(summary, "ana_3_1700000003") is TargetOutcome.ALREADY_ABSENT
    stats = summary.stats()
    assert stats["failed"] == 1 and stats["stuck_reserved"] == 1 and len(stats["errors"]) == 2
    assert stats["deleted_from_evolution"] == len(plan.targets) - 4  # minus failed/stuck/absent
    assert probe_status(sim, "fabio_6_1700000006") == "reserved"
    for name in (first, "fabio_6_1700000006"):
        docs = list(mongo_db[CONNECTIONS].find({"instance_name": name}))
        assert docs and all(d.get("evodash_last_error") for d in docs)
    assert mongo_db[CONNECTIONS].count_documents({}) == 2
    [line] = audit_lines(tmp_path)
    assert line["stats"]["failed"] == 1 and sorted(line["targets"]) == sorted(planned(plan))

    sim.restart()  # frees the stuck name; the faults budget is spent
    second = await assert_rerun_converges(service, sim, mongo_db, Scope.all())
    # (`first` was open: logged out before its delete failed, so the restart did not load it)
    assert outcome_of(second, first) in NAME_FREED
    assert outcome_of(second, "fabio_6_1700000006") is TargetOutcome.ALREADY_ABSENT
    assert sim.state()["instances"] == [] and mongo_db[CONNECTIONS].count_documents({}) == 0
    assert world  # seeded


@v2_only("v2: the dialing instance is removed (its orphan never re-reserves the name)")
async def test_v2_mix_of_linked_orphan_ghost_row_dialing_and_failing_then_rerun(
        sim, store, mongo_db, client, tmp_path):
    """The same mix on v2: the dialing instance is deleted without a logout and its name is
    free for good (removed, not stuck), the ghost row (listed, no live instance) is deleted
    and verified, the target that ate the 502s failed with its record kept and marked, and
    a re-run converges without a restart."""
    world = seed_world(sim, mongo_db)
    sim.seed([{"name": "fabio_6_1700000006", "state": "close", "dialing": True}])  # linked
    insert_raw(mongo_db, {"reseller_id": "r1", "instance_name": "fabio_6_1700000006"})
    sim.faults(reconnect_loop=["fabio_6_1700000006"], connecting_share=0, dial_cost_ms=0,
               cleanup_lag_ms=60, error_count=4, error_status=502, routes=["delete"])
    service = make_service(client, store, tmp_path, concurrency=1)
    before = snapshot(sim, mongo_db)
    plan, summary = await run_clear(service, Scope.all())

    assert_invariants(sim, mongo_db, before, summary, planned(plan))
    first = sorted(planned(plan))[0]  # the first one started eats the 4 injected 502s
    assert outcome_of(summary, first) is TargetOutcome.FAILED
    assert outcome_of(summary, "fabio_6_1700000006") is TargetOutcome.REMOVED
    assert outcome_of(summary, "fabio_5_1700000005") is TargetOutcome.REMOVED  # ghost row
    assert outcome_of(summary, "ana_3_1700000003") is TargetOutcome.ALREADY_ABSENT
    stats = summary.stats()
    assert stats["failed"] == 1 and stats["stuck_reserved"] == 0 and len(stats["errors"]) == 1
    assert stats["deleted_from_evolution"] == len(plan.targets) - 3  # minus failed/2 absent
    assert sim.state()["orphan_sockets"] == ["fabio_6_1700000006"]
    assert probe_status(sim, "fabio_6_1700000006") == "absent"
    docs = list(mongo_db[CONNECTIONS].find({"instance_name": first}))
    assert docs and all(d.get("evodash_last_error") for d in docs)
    assert mongo_db[CONNECTIONS].count_documents({}) == 1
    [line] = audit_lines(tmp_path)
    assert line["stats"]["failed"] == 1 and sorted(line["targets"]) == sorted(planned(plan))

    second = await assert_rerun_converges(service, sim, mongo_db, Scope.all())
    assert [t.name for t in second.targets] == [first]
    assert outcome_of(second, first) is TargetOutcome.REMOVED
    assert sim.state()["instances"] == [] and mongo_db[CONNECTIONS].count_documents({}) == 0
    assert world  # seeded


async def test_random_5xx_and_timeouts_never_break_the_invariants(sim, store, mongo_db, tmp_path):
    world = seed_world(sim, mongo_db)
    sim.faults(error_rate=0.3, error_status=500, timeout_rate=0.1, hang_s=1,
               routes=["delete", "logout", "connectionState"])
    async with make_client(sim, timeout_s=0.2, retries=1) as client:
        service = make_service(client, store, tmp_path, concurrency=6)
        before = snapshot(sim, mongo_db)
        plan, summary = await run_clear(service, Scope.all())
        sim.faults()  # the checks below probe the simulator themselves
        assert_invariants(sim, mongo_db, before, summary, planned(plan))
        await assert_rerun_converges(service, sim, mongo_db, Scope.all())
    assert sim.state()["instances"] == [] and len(sum(world.values(), [])) == 13


class CountingClient(EvolutionClient):
    """A real client that records how many logouts and deletes are in flight at once (the
    work the concurrency limit is for; the probes of a name that only waits are not)."""

    in_flight = 0
    peak = 0

    async def _counted(self, call, name: str) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await call(name)
        finally:
            self.in_flight -= 1

    async def delete(self, name: str) -> None:
        await self._counted(super().delete, name)

    async def logout(self, name: str) -> None:
        await self._counted(super().logout, name)


@dialect_free("the operation's own limit of deletes and logouts in flight (its slots)")
@pytest.mark.parametrize("concurrency", [1, 3])
async def test_concurrency_is_bounded(sim, store, mongo_db, tmp_path, concurrency):
    sim.seed([{"name": f"fabio_{i}_1", "state": "close"} for i in range(8)])
    sim.faults(latency_ms=25)
    async with CountingClient(sim.url, sim.api_key, timeout_s=2, retries=0) as client:
        service = make_service(client, store, tmp_path, concurrency=8)
        plan = await ops.plan_clear_all(service, Scope.all())
        summary = await ops.clear_all(service, Scope.all(), plan=plan, concurrency=concurrency)
    assert summary.deleted_from_evolution == 8
    assert client.peak == concurrency


# ---------------------------------------------------------------------------- cancellation
@dialect_free("the run frame's cancellation of unstarted targets")
async def test_cancel_event_mid_run_skips_unreached_and_keeps_their_records(
        sim, store, mongo_db, client, tmp_path):
    seed_world(sim, mongo_db)
    sim.faults(latency_ms=15)
    cancel = asyncio.Event()
    service = make_service(client, store, tmp_path, concurrency=1)

    def sink(event):
        if event.step is Step.RECORD and event.outcome is StepOutcome.OK:
            cancel.set()  # the user presses "cancel" after the first target is done

    before = snapshot(sim, mongo_db)
    plan = await ops.plan_clear_all(service, Scope.all())
    summary = await ops.clear_all(service, Scope.all(), plan=plan, sink=sink, cancel=cancel)

    assert summary.cancelled and not summary.ok
    assert_invariants(sim, mongo_db, before, summary, planned(plan))
    # targets already started (one working, others holding their absence) finish; the
    # rest are not started
    done = [t for t in summary.targets if t.outcome is not TargetOutcome.SKIPPED]
    assert 1 <= len(done) < len(plan.targets)
    assert {t.outcome for t in done} <= {TargetOutcome.REMOVED, TargetOutcome.ALREADY_ABSENT}
    skipped = [t for t in summary.targets if t.outcome is TargetOutcome.SKIPPED]
    assert len(skipped) == len(plan.targets) - len(done)
    assert all("cancel" in t.reason for t in skipped)
    removed = sum(t.records_removed for t in done)
    assert mongo_db[CONNECTIONS].count_documents({}) == len(before["records"]) - removed
    line = audit_lines(tmp_path)[-1]
    assert line["cancelled"] is True and sorted(line["targets"]) == sorted(planned(plan))
    cancel.clear()
    await assert_rerun_converges(service, sim, mongo_db, Scope.all())


@dialect_free("the run frame's audit line on a task cancel")
async def test_task_cancel_mid_run_still_writes_the_audit_line(sim, store, mongo_db, client,
                                                              tmp_path):
    seed_world(sim, mongo_db)
    sim.faults(latency_ms=40)
    service = make_service(client, store, tmp_path, concurrency=2)
    started = asyncio.Event()

    def sink(event):
        if event.step is Step.DELETE:
            started.set()

    before = snapshot(sim, mongo_db)
    plan = await ops.plan_clear_all(service, Scope.all())
    task = asyncio.create_task(ops.clear_all(service, Scope.all(), plan=plan, sink=sink))
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    [line] = audit_lines(tmp_path)
    assert line["operation"] == "clear-all" and line["cancelled"] is True
    assert sorted(line["targets"]) == sorted(planned(plan))
    assert len(line["targets"]) == len(set(line["targets"]))
    after = snapshot(sim, mongo_db)
    # no record removed for a name that is not free
    for doc_id, doc in before["records"].items():
        if doc_id not in after["records"]:
            assert probe_status(sim, doc["instance_name"]) == "absent"
    assert len(after["records"]) > 0  # it really was interrupted
    await assert_rerun_converges(service, sim, mongo_db, Scope.all())


# ---------------------------------------------------------------------------- mongo down
@dialect_free("MongoDB going away mid-run: the store's side of the record rule")
async def test_mongodb_stopping_mid_run_loses_no_record(sim, client, tmp_path):
    data_dir = tmp_path / "nx-data"
    server = MongoWireServer(data_dir=data_dir).start()
    try:
        sync = MongoClient(server.uri, serverSelectionTimeoutMS=2000)
        db = sync["evodash_mid_run"]
        world = seed_world(sim, db)
        sync.close()
        before = snapshot(sim, MongoClient(server.uri)["evodash_mid_run"])
        sim.faults(latency_ms=30)
        store = ConnectionStore(server.uri, "evodash_mid_run", timeout_ms=200)
        service = make_service(client, store, tmp_path, concurrency=2)
        plan = await ops.plan_clear_all(service, Scope.all())
        removed_records = []

        def sink(event):
            if event.step is Step.RECORD and event.outcome is StepOutcome.OK:
                removed_records.append(event.instance)
                if len(removed_records) == 2:
                    server.stop()  # MongoDB goes away in the middle of the run

        summary = await ops.clear_all(service, Scope.all(), plan=plan, sink=sink)
        store.close()
        assert not server.running
        # in-flight targets could not remove their record (reported); once the store is
        # gone no new deletion starts, and the summary says why in one line
        broken = [t for t in summary.targets if t.record_error]
        assert all(t.name in " ".join(summary.errors) for t in broken)
        not_started = [t for t in summary.targets if t.outcome is TargetOutcome.SKIPPED
                       and t.skip is not None and t.skip.cause is SkipCause.NOT_STARTED]
        assert broken or not_started
        assert any("database" in note for note in summary.notes), summary.notes
        assert len(removed_records) + len(broken) + len(not_started) >= len(planned(plan)) - 2
        assert sorted(names_of(summary)) == sorted(planned(plan))

        server.start()  # same port, same data dir
        db = MongoClient(server.uri)["evodash_mid_run"]
        after = snapshot(sim, db)
        for doc_id, doc in before["records"].items():
            if probe_status(sim, doc["instance_name"]) != "absent":
                assert doc_id in after["records"], f"record of live {doc['instance_name']} lost"
            if doc_id not in after["records"]:
                assert doc["instance_name"] in removed_records
        assert len(after["records"]) > 0

        store = ConnectionStore(server.uri, "evodash_mid_run", timeout_ms=2000)
        service = make_service(client, store, tmp_path, concurrency=2)
        sim.faults()
        await assert_rerun_converges(service, sim, db, Scope.all())
        assert db[CONNECTIONS].count_documents({}) == 0 and world
        store.close()
    finally:
        server.stop()

