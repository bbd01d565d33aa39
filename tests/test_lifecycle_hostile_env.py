"""Safe in a busy, hostile environment (issue 11), against the simulator and a MongoDB-wire
server: the platform creating and re-provisioning while evodash runs, records that change
under a plan, young orphan instances, the write-ahead audit log (unwritable before and
during a run, interrupted runs), `reseller_id` stored as an ObjectId or an int, and two
operators clearing the same scope at once."""

from __future__ import annotations

import asyncio
import time

import pytest
from bson import ObjectId

from tests.fixtures.mongo import CONNECTIONS, RESELLERS, insert_raw
from tests.test_lifecycle_support import (  # noqa: F401 - client is a fixture
    add_record,
    audit_events,
    client,
    make_client,
    make_service,
    outcome_of,
    probe_status,
    seed_resellers,
    seed_world,
    snapshot,
)
from tui.lifecycle.audit import AuditError
from tui.lifecycle.events import Step, StepOutcome, TargetOutcome
from tui.lifecycle.plans import ClearAllRequest, DeleteRequest
from tui.lifecycle.domain import SkipCause
from tui.lifecycle.scope import Scope
from tui.lifecycle.seen import FirstSeen
from tui.lifecycle.service import LifecycleService

O = TargetOutcome


# ---------------------------------------------------------------------------- stale plans
async def test_an_orphan_instance_linked_after_the_plan_is_not_deleted(sim, store, mongo_db,
                                                                       client, tmp_path):
    """The platform creates an instance, evodash plans a clear-all and sees an orphan; the
    platform inserts its record before the run reaches it: the instance stays, its record
    stays, the target is reported as changed since the plan."""
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_7_1700000007", "state": "open"}])
    service = make_service(client, store, tmp_path)
    plan = await service.plan(ClearAllRequest(Scope.all(), orphans_only=True))
    assert [t.name for t in plan.actionable] == ["fabio_7_1700000007"]
    add_record(mongo_db, "r1", "fabio_7_1700000007")  # the platform finishes its create
    summary = await service.run(plan)
    [target] = summary.targets
    assert target.outcome is O.SKIPPED and "a record appeared" in target.reason
    assert probe_status(sim, "fabio_7_1700000007") == "present"
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "fabio_7_1700000007"}) == 1
    assert sim.stats()["requests"].get("delete", 0) == 0


async def test_an_orphan_record_re_provisioned_during_the_run_is_not_deleted(
        sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    add_record(mongo_db, "r1", "fabio_4_1700000004")  # orphan record, name free
    service = make_service(client, store, tmp_path)
    plan = await service.plan(ClearAllRequest(Scope.reseller("r1")))
    assert [t.kind for t in plan.actionable] == ["orphan_record"]
    sim.seed([{"name": "fabio_4_1700000004", "state": "connecting"}])  # re-provisioned
    summary = await service.run(plan)
    [target] = summary.targets
    assert target.outcome is O.SKIPPED and "an instance appeared" in target.reason
    assert probe_status(sim, "fabio_4_1700000004") == "present"
    assert mongo_db[CONNECTIONS].count_documents({}) == 1
    assert sim.stats()["requests"].get("delete", 0) == 0


async def test_records_changed_or_removed_since_the_plan_are_skipped(sim, store, mongo_db,
                                                                     client, tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1700000001", "state": "close"},
              {"name": "fabio_2_1700000002", "state": "close"}])
    first = add_record(mongo_db, "r1", "fabio_1_1700000001")
    add_record(mongo_db, "r1", "fabio_2_1700000002")
    service = make_service(client, store, tmp_path)
    plan = await service.plan(ClearAllRequest(Scope.reseller("r1")))
    mongo_db[CONNECTIONS].delete_one({"_id": ObjectId(first)})  # someone else's clean-up
    add_record(mongo_db, "r2", "fabio_2_1700000002")  # another tenant now shares this name
    summary = await service.run(plan)
    assert outcome_of(summary, "fabio_1_1700000001") is O.SKIPPED
    assert outcome_of(summary, "fabio_2_1700000002") is O.SKIPPED
    reasons = " ".join(t.reason for t in summary.targets)
    assert "removed by someone else" in reasons and "another reseller's record" in reasons
    assert sim.stats()["requests"].get("delete", 0) == 0


async def test_young_orphan_instances_are_left_to_the_platform_by_bulk_operations(
        sim, store, mongo_db, client, tmp_path):
    """Grace: from the timestamp in the name, or from when evodash first saw it (kept in a
    file, so the next run knows); shown in the plan; a single explicit delete may remove one."""
    seed_resellers(mongo_db)
    now = int(time.time())
    young, old, plain = f"fabio_8_{now - 30}", "fabio_9_1700000009", "someones-bot"
    sim.seed([{"name": n, "state": "close"} for n in (young, old, plain)])
    clock = {"t": time.time()}
    seen = FirstSeen(tmp_path / "state" / "first-seen.json", now=lambda: clock["t"])
    service = make_service(client, store, tmp_path, orphan_grace_s=600, first_seen=seen)
    plan = await service.plan(ClearAllRequest(Scope.all()))
    skipped = {t.name: t.skip_reason for t in plan.targets if t.skip_reason}
    assert set(skipped) == {young, plain}
    assert "its name's timestamp" in skipped[young] and "grace 10 min" in skipped[young]
    assert "first seen by evodash" in skipped[plain]
    assert [t.name for t in plan.actionable] == [old]
    # ten minutes later (a new run reads the same file): the unpatterned one is old enough
    clock["t"] += 601
    later = make_service(client, store, tmp_path, orphan_grace_s=600, first_seen=FirstSeen(
        tmp_path / "state" / "first-seen.json", now=lambda: clock["t"]))
    plan = await later.plan(ClearAllRequest(Scope.all()))
    assert {t.name for t in plan.actionable} == {young, old, plain}
    # an explicit delete of one name is the operator's call, young or not
    summary = await service.run(await service.plan(DeleteRequest((young,))))
    assert outcome_of(summary, young) is O.REMOVED


# ---------------------------------------------------------------------------- audit log
async def test_no_mutation_starts_when_the_audit_log_cannot_be_written(sim, store, mongo_db,
                                                                       client, tmp_path):
    world = seed_world(sim, mongo_db)
    (tmp_path / "audit" / "audit.jsonl").mkdir(parents=True)  # a directory in its place
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    plan = await service.plan(ClearAllRequest(Scope.all()))
    with pytest.raises(AuditError, match="audit log .* cannot be written"):
        await service.run(plan)
    assert snapshot(sim, mongo_db) == before and world
    for op in ("logout", "delete", "create"):
        assert sim.stats()["requests"].get(op, 0) == 0


async def test_the_audit_log_is_written_ahead_and_says_what_was_done(sim, store, mongo_db,
                                                                     client, tmp_path):
    seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    order = []

    def sink(event):
        if event.step in (Step.LOGOUT, Step.DELETE) and event.instance:
            # the intent of this target is already on disk when its first mutation is reported
            intents = {e["target"] for e in audit_events(tmp_path) if e["event"] == "intent"}
            order.append(event.instance in intents)

    plan = await service.plan(ClearAllRequest(Scope.reseller("r1")))
    summary = await service.run(plan, sink=sink)
    assert order and all(order)
    events = audit_events(tmp_path)
    assert [e["event"] for e in events][0] == "start" and events[-1]["event"] == "summary"
    ops = {e["op_id"] for e in events}
    assert len(ops) == 1
    outcomes = {e["target"]: e["outcome"] for e in events if e["event"] == "outcome"}
    started = {t.name for t in summary.targets if t.outcome is not O.SKIPPED}
    assert set(outcomes) == started
    assert all(outcomes[t.name] == t.outcome.value for t in summary.targets if t.name in started)


async def test_an_audit_log_that_fails_mid_run_stops_new_targets(sim, store, mongo_db, client,
                                                                 tmp_path):
    seed_world(sim, mongo_db)
    sim.faults(latency_ms=20)
    path = tmp_path / "audit" / "audit.jsonl"
    service = make_service(client, store, tmp_path, concurrency=1)

    def sink(event):
        if event.step is Step.DONE and path.is_file():
            path.unlink()
            path.mkdir()  # the disk "fills": every later write fails

    plan = await service.plan(ClearAllRequest(Scope.all()))
    summary = await service.run(plan, sink=sink)
    done = [t for t in summary.targets if t.outcome is not O.SKIPPED]
    not_started = [t for t in summary.targets
                   if t.skip is not None and t.skip.cause is SkipCause.NOT_STARTED]
    assert all("audit log" in t.reason for t in not_started)
    assert not_started and len(done) < len(plan.actionable)
    assert all(t.outcome is O.SKIPPED for t in not_started)
    assert any("audit log" in note for note in summary.notes)


async def test_an_interrupted_run_logs_how_far_each_target_got(sim, store, mongo_db, client,
                                                               tmp_path):
    seed_world(sim, mongo_db)
    sim.faults(latency_ms=40)
    service = make_service(client, store, tmp_path, concurrency=3)
    plan = await service.plan(ClearAllRequest(Scope.all()))
    task = asyncio.ensure_future(service.run(plan))

    deleted = []
    while not deleted:
        await asyncio.sleep(0.02)
        deleted = [e for e in audit_events(tmp_path) if e["event"] == "intent"]
    await asyncio.sleep(0.15)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    events = audit_events(tmp_path)
    intents = {e["target"] for e in events if e["event"] == "intent"}
    outcomes = {e["target"]: e for e in events if e["event"] == "outcome"}
    assert intents and set(outcomes) == intents  # every started target has its outcome line
    interrupted = [e for e in outcomes.values() if "interrupted_after" in e]
    for entry in interrupted:
        assert entry["outcome"] == "failed" and entry["records_kept"] >= 0
    [summary] = [e for e in events if e["event"] == "summary"]
    assert summary["cancelled"] is True
    # no target that was deleted is logged as skipped
    for name, outcome in summary["outcomes"].items():
        if outcome == "skipped":
            assert name not in intents


# ---------------------------------------------------------------------------- records
@pytest.mark.parametrize("kind", ["objectid", "int"])
async def test_reseller_ids_stored_as_objectid_or_int_are_matched_everywhere(
        sim, store, mongo_db, client, tmp_path, kind):
    """Find, count and delete match the scope whatever type `reseller_id` holds; a re-run
    converges (nothing left, nothing reported gone that is still there)."""
    rid = str(ObjectId()) if kind == "objectid" else "4242"
    stored = ObjectId(rid) if kind == "objectid" else 4242
    insert_raw(mongo_db, {"id": rid, "name": "Typed"}, collection=RESELLERS)
    names = ["typed_1_1700000001", "typed_2_1700000002"]
    sim.seed([{"name": names[0], "state": "close"}])
    for name in names:
        insert_raw(mongo_db, {"reseller_id": stored, "instance_name": name})
    service = make_service(client, store, tmp_path)
    plan = await service.plan(ClearAllRequest(Scope.reseller(rid)))
    assert sorted(t.name for t in plan.actionable) == names
    summary = await service.run(plan)
    assert summary.deleted_from_db == 2 and summary.ok
    assert mongo_db[CONNECTIONS].count_documents({}) == 0
    again = await service.plan(ClearAllRequest(Scope.reseller(rid)))
    assert again.targets == []


async def test_a_record_the_scope_filter_misses_is_never_reported_gone(sim, store, mongo_db,
                                                                       client, tmp_path):
    """The store refuses to call a record gone when it is still there (e.g. its reseller_id
    changed type or value under the plan)."""
    from tui.store.errors import StoreError

    seed_resellers(mongo_db)
    doc_id = add_record(mongo_db, "r1", "fabio_4_1700000004")
    mongo_db[CONNECTIONS].update_one({"_id": ObjectId(doc_id)}, {"$set": {"reseller_id": "r9"}})
    with pytest.raises(StoreError, match="was not removed"):
        await store.delete_record("fabio_4_1700000004", reseller_id="r1", doc_id=doc_id)
    assert mongo_db[CONNECTIONS].count_documents({}) == 1


# ---------------------------------------------------------------------------- operators
async def test_two_operators_clearing_at_once_never_double_count(sim, store, mongo_db,
                                                                 tmp_path):
    seed_world(sim, mongo_db)
    sim.faults(latency_ms=15)
    async with make_client(sim) as one, make_client(sim) as two:
        first = make_service(one, store, tmp_path / "a", concurrency=3)
        second = make_service(two, store, tmp_path / "b", concurrency=3)
        plans = await asyncio.gather(first.plan(ClearAllRequest(Scope.all())),
                                     second.plan(ClearAllRequest(Scope.all())))
        a, b = await asyncio.gather(first.run(plans[0]), second.run(plans[1]))
    removed = [t.name for s in (a, b) for t in s.targets if t.outcome is O.REMOVED]
    assert len(removed) == len(set(removed))  # each instance removed by exactly one of them
    assert a.deleted_from_db + b.deleted_from_db <= len(plans[0].targets) + 1
    held = [t for s in (a, b) for t in s.targets
            if t.skip is not None and t.skip.cause is SkipCause.CLAIMED]
    assert held or not (set(t.name for t in a.targets if t.outcome is O.REMOVED)
                        & set(t.name for t in b.targets))
    # together they converge: a third run has nothing left but what is not theirs to clear
    async with make_client(sim) as three:
        third = make_service(three, store, tmp_path / "c")
        assert (await third.plan(ClearAllRequest(Scope.all()))).actionable == []


def test_claims_of_a_dead_run_are_taken_over_and_live_ones_are_not(tmp_path):
    from tui.lifecycle.claims import claim_owner, is_stale
    from tui.lifecycle.context import ActiveOps

    active = ActiveOps()
    mine = claim_owner("abc")
    host = mine.split(":")[0]
    assert is_stale(mine, active)  # this process, an operation that is not running
    active.add("abc")
    assert not is_stale(mine, active)
    active.discard("abc")
    assert is_stale(f"{host}:999999999:x", active)  # a process that is gone
    assert not is_stale(f"another-host:1:x", active)  # cannot tell: assume alive
