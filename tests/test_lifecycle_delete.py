"""Verified delete of named instances: every outcome, and the record rule (removed exactly for
removed / already_absent, kept and marked otherwise). Real simulator + real Mongo-wire server."""

from __future__ import annotations

import pytest

from tests import ops
from tests.fixtures.mongo import CONNECTIONS
from tests.fixtures.sim import v2_only, v18_only
from tests.test_lifecycle_support import (  # noqa: F401 - client is a fixture
    FAST,
    add_record,
    assert_invariants,
    audit_events,
    audit_lines,
    client,
    make_client,
    make_service,
    outcome_of,
    probe_status,
    seed_resellers,
    snapshot,
)
from tui.lifecycle.removal import RESERVED_HINT, DeletePolicy
from tui.lifecycle.removal.policy import CLEANUP_HINT
from tui.evolution.models import InstanceState
from tui.lifecycle.domain import SkipCause
from tui.lifecycle.events import Step, StepOutcome, TargetOutcome
from tui.lifecycle.plans import DeleteRequest


@pytest.fixture
def sim(dialect_sim):
    """Every test here runs on v1.8 and on v2 (`dialect_sim`), unless it says otherwise."""
    return dialect_sim


@v18_only("logouts before each delete: v1.8 stops the dialing first (v2: see below)")
async def test_delete_removes_open_connecting_and_close_and_their_records(sim, store, mongo_db,
                                                                           client, tmp_path):
    seed_resellers(mongo_db)
    names = ["fabio_1_1", "fabio_2_2", "fabio_3_3"]
    sim.seed([{"name": names[0], "state": "open"}, {"name": names[1], "state": "connecting"},
              {"name": names[2], "state": "close"}, {"name": "bystander", "state": "open"}])
    for name in names + ["bystander"]:
        add_record(mongo_db, "r1", name)
    events = []
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)

    summary = await ops.delete(service, names, sink=events.append)

    assert [outcome_of(summary, n) for n in names] == [TargetOutcome.REMOVED] * 3
    assert summary.deleted_from_evolution == 3 and summary.deleted_from_db == 3
    assert summary.ok and summary.errors == []
    assert_invariants(sim, mongo_db, before, summary, names)
    for name in names:
        assert probe_status(sim, name) == "absent"
        assert mongo_db[CONNECTIONS].count_documents({"instance_name": name}) == 0
    # open / connecting are logged out at once; a `close` one may be dialing (§11): its
    # logout is retried until it has answered 400 often enough to be taken as quiet
    logouts = {e.instance: e for e in events if e.step is Step.LOGOUT}
    assert logouts["fabio_1_1"].outcome is StepOutcome.OK
    assert logouts["fabio_2_2"].outcome is StepOutcome.OK
    assert logouts["fabio_3_3"].outcome is StepOutcome.SKIPPED
    assert "not dialing" in logouts["fabio_3_3"].detail
    assert sim.stats()["requests"]["logout"] >= 2 + FAST.quiet_logouts
    assert {e.instance for e in events if e.step is Step.VERIFY
            and e.outcome is StepOutcome.ABSENT} == set(names)
    assert probe_status(sim, "bystander") == "present"


@v18_only("the logout step re-checks the name on v1.8 (v2 probes it: see below)")
async def test_logout_not_connected_counts_as_skipped(sim, store, mongo_db, client, tmp_path):
    """The plan says `open` but the instance dropped to `close` meanwhile: logout answers
    400 "not connected", which is skipped, and the delete goes on."""
    sim.seed([{"name": "fabio_1_1", "state": "open"}])
    service = make_service(client, store, tmp_path)
    plan = await service.plan(DeleteRequest(("fabio_1_1",)))
    assert plan.targets[0].state is InstanceState.OPEN
    sim.seed([{"name": "fabio_1_1", "state": "close"}])  # re-seeded: now close
    events = []
    summary = await service.run(plan, sink=events.append)
    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.REMOVED
    [logout] = [e for e in events if e.step is Step.LOGOUT]
    assert logout.outcome is StepOutcome.SKIPPED and "not connected" in logout.detail


async def test_delete_of_a_free_name_is_already_absent_and_removes_its_record(
        sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    add_record(mongo_db, "r1", "fabio_4_4")  # orphan record, name free on Evolution
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    summary = await ops.delete(service, ["fabio_4_4", "never_existed"])
    assert outcome_of(summary, "fabio_4_4") is TargetOutcome.ALREADY_ABSENT
    assert outcome_of(summary, "never_existed") is TargetOutcome.NOT_FOUND
    assert summary.deleted_from_evolution == 0 and summary.deleted_from_db == 1
    assert summary.stats()["already_absent"] == 1 and summary.stats()["not_found"] == 1
    assert_invariants(sim, mongo_db, before, summary, ["fabio_4_4", "never_existed"])
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


@v18_only("a deleted name is free at once on v1.8 (v2 holds it through its cleanup)")
async def test_delete_404_on_the_delete_itself_is_already_absent(sim, store, mongo_db, tmp_path):
    """The plan saw the instance, someone else deleted it before us: delete answers 404."""
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    async with make_client(sim) as client:
        service = make_service(client, store, tmp_path)
        plan = await service.plan(DeleteRequest(("fabio_1_1",)))
        sim.request("DELETE", "/instance/delete/fabio_1_1")
        summary = await service.run(plan)
    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.ALREADY_ABSENT
    assert summary.deleted_from_db == 1


@v18_only("a landed logout stops v1.8's dialing (v2's delete needs none)")
async def test_dialing_instance_is_logged_out_until_it_stops_then_removed(
        sim, store, mongo_db, client, tmp_path):
    """An instance in a reconnect loop flaps close/connecting (§11): a snapshot says `close`,
    but the logout is retried until one lands, so the delete frees the name for good."""
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(reconnect_loop=["fabio_1_1"], dial_cost_ms=0)
    events = []
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)

    summary = await ops.delete(service, ["fabio_1_1"], sink=events.append)

    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.REMOVED
    [logout] = [e for e in events if e.step is Step.LOGOUT]
    assert logout.outcome is StepOutcome.OK
    assert sim.state()["orphan_sockets"] == [] and probe_status(sim, "fabio_1_1") == "absent"
    assert mongo_db[CONNECTIONS].count_documents({}) == 0
    assert_invariants(sim, mongo_db, before, summary, ["fabio_1_1"])


@v18_only("v1.8's orphaned socket re-reserves the name (v2's never does)")
async def test_unstoppable_dialing_is_stuck_reserved_record_kept_and_marked_then_restart_frees(
        sim, store, mongo_db, client, tmp_path):
    """No logout lands (the instance always looks `close`), the delete orphans its socket and
    the name comes back reserved: never `removed`, the record is kept and marked; a restart
    frees the name and a re-run converges."""
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    doc_id = add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(reconnect_loop=["fabio_1_1"], connecting_share=0, orphan_outcome="came_back",
               dial_cost_ms=0)
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)

    summary = await ops.delete(service, ["fabio_1_1"])

    [target] = summary.targets
    assert target.outcome is TargetOutcome.STUCK_RESERVED
    assert target.reason == RESERVED_HINT and target.attempts == 2
    assert sim.stats()["requests"]["delete"] == 2  # retried up to max_attempts
    assert probe_status(sim, "fabio_1_1") == "reserved"
    kept = mongo_db[CONNECTIONS].find_one({"id": "rec-r1-fabio_1_1"})
    assert kept is not None and str(kept["_id"]) == doc_id
    assert "restart" in kept["evodash_last_error"] and kept["evodash_marked_at"].startswith("20")
    assert summary.stats()["stuck_reserved"] == 1 and summary.errors and not summary.ok
    assert_invariants(sim, mongo_db, before, summary, ["fabio_1_1"])

    sim.restart()  # the orphaned socket dies with the process: the name is free
    again = await ops.delete(service, ["fabio_1_1"])
    assert outcome_of(again, "fabio_1_1") is TargetOutcome.ALREADY_ABSENT
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


@v18_only("a name back after its 404 is v1.8's orphan (none came back on v2)")
async def test_a_name_free_for_a_moment_is_not_removed(sim, store, mongo_db, client, tmp_path):
    """The recorded failure: after a delete caught `close` the name answers 404 for a moment
    and is reserved again ~0.1-0.26 s later. One 404 is not "free": the hold sees it back."""
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(reconnect_loop=["fabio_1_1"], connecting_share=0, orphan_outcome="came_back",
               dial_cost_ms=0)
    events = []
    service = make_service(client, store, tmp_path)
    summary = await ops.delete(service, ["fabio_1_1"], sink=events.append)
    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.STUCK_RESERVED
    came_back = [e for e in events if e.step is Step.VERIFY and "came back" in e.detail]
    assert came_back and came_back[0].outcome is StepOutcome.RESERVED
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "fabio_1_1"}) == 1


async def test_delete_errors_exhaust_attempts_failed_record_kept_and_marked(
        sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    # client retries once per call (2 requests) x 2 attempts = 4 failing deletes
    sim.faults(error_count=50, error_status=500, routes=["delete"])
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)

    summary = await ops.delete(service, ["fabio_1_1"])

    [target] = summary.targets
    assert target.outcome is TargetOutcome.FAILED
    assert target.reason.startswith("delete failed") and "500" in target.reason
    assert target.records_kept == 1 and target.records_removed == 0
    assert probe_status(sim, "fabio_1_1") == "present"
    kept = mongo_db[CONNECTIONS].find_one({"instance_name": "fabio_1_1"})
    assert kept["evodash_last_error"].startswith("delete failed")
    assert summary.stats()["failed"] == 1 and summary.stats()["errors"]
    assert sim.stats()["requests"]["delete"] == 4
    assert_invariants(sim, mongo_db, before, summary, ["fabio_1_1"])

    sim.faults()  # errors gone: the re-run finishes the job
    again = await ops.delete(service, ["fabio_1_1"])
    assert outcome_of(again, "fabio_1_1") is TargetOutcome.REMOVED
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


async def test_transient_5xx_is_recovered_by_a_retry(sim, store, mongo_db, client, tmp_path):
    sim.seed([{"name": "fabio_1_1", "state": "open"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(error_count=3, error_status=503, routes=["delete", "logout"])
    summary = await ops.delete(make_service(client, store, tmp_path), ["fabio_1_1"])
    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.REMOVED
    assert probe_status(sim, "fabio_1_1") == "absent"
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


async def test_probe_timeouts_during_verify_fail_and_keep_the_record(sim, store, mongo_db,
                                                                     tmp_path):
    """Small client timeout + a server that hangs on every probe: the delete went through, but
    nothing can verify the name is free, so the record must stay."""
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    policy = DeletePolicy(verify_timeout_s=0.4, max_attempts=1, first_poll_s=0.01,
                          max_poll_s=0.05, free_hold_s=0.4, quiet_logout_s=0.05)

    def sink(event) -> None:  # every probe hangs from the moment the delete went through
        if event.step is Step.DELETE and event.outcome is StepOutcome.OK:
            sim.faults(timeout_rate=1.0, hang_s=2, routes=["connectionState"])

    async with make_client(sim, timeout_s=0.15, retries=0) as client:
        service = make_service(client, store, tmp_path, policy=policy)
        summary = await ops.delete(service, ["fabio_1_1"], sink=sink)
    [target] = summary.targets
    assert target.outcome is TargetOutcome.FAILED and "could not verify" in target.reason
    kept = mongo_db[CONNECTIONS].find_one({"instance_name": "fabio_1_1"})
    assert kept is not None and kept["evodash_last_error"] == target.reason
    sim.faults()
    assert probe_status(sim, "fabio_1_1") == "absent"  # the delete itself did happen
    assert summary.elapsed_s < 1.5


async def test_delete_timeouts_fail_then_rerun_converges(sim, store, mongo_db, tmp_path):
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(timeout_count=10, hang_s=2, routes=["delete"])
    async with make_client(sim, timeout_s=0.1, retries=0) as client:
        service = make_service(client, store, tmp_path)
        summary = await ops.delete(service, ["fabio_1_1"])
        [target] = summary.targets
        assert target.outcome is TargetOutcome.FAILED and target.attempts == 2
        assert mongo_db[CONNECTIONS].count_documents({}) == 1
        sim.faults()
        again = await ops.delete(service, ["fabio_1_1"])
    assert outcome_of(again, "fabio_1_1") is TargetOutcome.REMOVED
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


async def test_cleanup_lag_reserved_for_a_while_then_removed(sim, store, mongo_db, client,
                                                            tmp_path):
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(cleanup_lag_ms=120)
    events = []
    service = make_service(client, store, tmp_path)
    summary = await ops.delete(service, ["fabio_1_1"], sink=events.append)
    [target] = summary.targets
    assert target.outcome is TargetOutcome.REMOVED and target.attempts == 1
    # the record went only after the probe said absent, not on the (earlier) 200 of delete
    assert sim.stats()["requests"]["connectionState"] >= 2
    order = [(e.step, e.outcome) for e in events]
    assert order.index((Step.VERIFY, StepOutcome.ABSENT)) < order.index((Step.RECORD,
                                                                         StepOutcome.OK))
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


async def test_cleanup_lag_longer_than_the_budget_is_stuck_reserved(sim, store, mongo_db,
                                                                    client, tmp_path):
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(cleanup_lag_ms=5000)
    summary = await ops.delete(make_service(client, store, tmp_path), ["fabio_1_1"])
    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.STUCK_RESERVED
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "fabio_1_1"}) == 1
    assert audit_lines(tmp_path)[-1]["outcomes"] == {"fabio_1_1": "stuck_reserved"}


async def test_admin_delete_of_a_shared_name_removes_both_records(sim, store, mongo_db, client,
                                                                 tmp_path):
    sim.seed([{"name": "shared_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "shared_1_1")
    add_record(mongo_db, "r2", "shared_1_1")
    summary = await ops.delete(make_service(client, store, tmp_path), ["shared_1_1", "shared_1_1"])
    assert [t.name for t in summary.targets] == ["shared_1_1"]
    assert summary.deleted_from_db == 2 and summary.deleted_from_evolution == 1


async def test_verification_learns_the_cleanup_lag_and_probes_less(sim, store, mongo_db,
                                                                   client, tmp_path):
    """Closed instances stay reserved for the server's cleanup lag after the delete: the
    first targets poll through it, later ones wait about that long and need ~1-2 probes.
    When the lag disappears mid-run the estimate shrinks; every verdict is a probe's. (v2,
    which waits without its slot, deletes the next targets meanwhile instead.)"""
    seed_resellers(mongo_db)
    names = [f"fabio_{i}_{i}" for i in range(10, 40)]
    sim.seed([{"name": n, "state": "close"} for n in names])
    for name in names:
        add_record(mongo_db, "r1", name)
    # v2's own delete window (55-115 ms, random) made 0: the lag is the fixed 150 ms on both
    sim.faults(cleanup_lag_ms=150, **({"delete_window_ms": 0} if sim.dialect == "v2" else {}))
    events = []

    def first_free(event) -> bool:  # the probe phase's verdict (then the absence is held)
        return event.step is Step.VERIFY and "free after" in event.detail

    def sink(event) -> None:
        events.append(event)
        if event.step is Step.VERIFY and sum(first_free(e) for e in events) == 16:
            sim.faults(cleanup_lag_ms=0)  # the server got fast in the middle of the run

    service = make_service(client, store, tmp_path, concurrency=1)
    summary = await ops.delete(service, names, sink=sink)

    assert [outcome_of(summary, n) for n in names] == [TargetOutcome.REMOVED] * len(names)
    verify = [e for e in events if first_free(e)]
    # one target at a time on v1.8; v2 gives the slot up while it waits for its cleanup, so
    # the next target starts meanwhile
    assert sorted(e.instance for e in verify) == sorted(names)
    if sim.dialect != "v2":
        assert [e.instance for e in verify] == names
    assert all(e.outcome is StepOutcome.ABSENT for e in verify)

    def probes(event) -> int:
        return int(event.detail.split("(")[1].split()[0])

    def seconds(event) -> float:
        return float(event.detail.split(" after ")[1].split()[0])

    lagged, fast = verify[:16], verify[16:]
    assert min(seconds(e) for e in lagged) >= 0.1  # never claimed absent early
    if sim.dialect == "v2":
        # v2 gives the slot up while it waits for its cleanup: the next targets were deleted
        # meanwhile (their waits overlap; with nothing finished, nothing learnt to wait for).
        # With the slot held through the wait only the first target's delete would come
        # before its name is free; how many more fit in the 150 ms depends on the load.
        deleted_first = {e.instance for e in events[:events.index(verify[0])]
                         if e.step is Step.DELETE and e.outcome is StepOutcome.OK}
        assert len(deleted_first) >= 2
    else:
        assert probes(lagged[0]) >= 3  # polled through the 150 ms lag: 0, ~20, ~50, ... ms
        assert max(probes(e) for e in lagged[-6:]) <= 3  # waited about the learnt lag instead
        assert sum(probes(e) for e in lagged[-6:]) < sum(probes(e) for e in lagged[:6])
        assert seconds(fast[-1]) < seconds(fast[0])  # without the lag the wait shrinks
    for name in names:
        assert probe_status(sim, name) == "absent"
        assert mongo_db[CONNECTIONS].count_documents({"instance_name": name}) == 0


# ---------------------------------------------------------------------------- v2's own
@v2_only("v2 deletes without a logout: its plan and run re-check each name by a probe")
async def test_v2_deletes_open_connecting_and_close_without_a_logout(sim, store, mongo_db,
                                                                      client, tmp_path):
    """v2 logs a connected instance out itself on delete: each target is re-checked by a
    probe (a stale plan too: planned `open`, now `close`), deleted, verified and held free."""
    seed_resellers(mongo_db)
    names = ["fabio_1_1", "fabio_2_2", "fabio_3_3"]
    sim.seed([{"name": names[0], "state": "open"}, {"name": names[1], "state": "connecting"},
              {"name": names[2], "state": "open"}, {"name": "bystander", "state": "open"}])
    for name in names + ["bystander"]:
        add_record(mongo_db, "r1", name)
    service = make_service(client, store, tmp_path)
    plan = await service.plan(DeleteRequest(tuple(names)))
    assert {t.name: t.steps for t in plan.targets} == {
        n: (Step.PROBE, Step.DELETE, Step.VERIFY, Step.RECORD) for n in names}
    sim.seed([{"name": names[2], "state": "close"}])  # dropped to close since the plan
    before = snapshot(sim, mongo_db)
    events = []

    summary = await service.run(plan, sink=events.append)

    assert [outcome_of(summary, n) for n in names] == [TargetOutcome.REMOVED] * 3
    assert summary.deleted_from_evolution == 3 and summary.deleted_from_db == 3 and summary.ok
    assert_invariants(sim, mongo_db, before, summary, names)
    assert not [e for e in events if e.step is Step.LOGOUT]
    assert sim.stats()["requests"].get("logout", 0) == 0
    probes = {e.instance: e for e in events if e.step is Step.PROBE}
    assert {n: (probes[n].outcome, probes[n].detail) for n in names} == {
        names[0]: (StepOutcome.PRESENT, "open"), names[1]: (StepOutcome.PRESENT, "connecting"),
        names[2]: (StepOutcome.PRESENT, "close")}
    for name in names:
        assert probe_status(sim, name) == "absent"
        assert mongo_db[CONNECTIONS].count_documents({"instance_name": name}) == 0
    assert probe_status(sim, "bystander") == "present"


@v2_only("v2 holds a deleted name through its cleanup: a second delete meanwhile is a 200")
async def test_v2_a_name_someone_else_deleted(sim, store, mongo_db, tmp_path):
    """The plan saw the instance, someone else deleted it: while the server's cleanup still
    holds the name, evodash's probe finds it held and its delete answers 200 (the cleanup runs
    again): removed once verified free; once the name is free, the probe says so and no
    delete is sent: already absent. Either way the record goes only when the name is free."""
    sim.seed([{"name": "fabio_1_1", "state": "close"}, {"name": "fabio_2_2", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    add_record(mongo_db, "r1", "fabio_2_2")
    sim.faults(delete_window_ms=300)
    async with make_client(sim) as client:
        service = make_service(client, store, tmp_path)
        held = await service.plan(DeleteRequest(("fabio_1_1",)))
        sim.request("DELETE", "/instance/delete/fabio_1_1")
        assert probe_status(sim, "fabio_1_1") != "absent"
        summary = await service.run(held)
        assert outcome_of(summary, "fabio_1_1") is TargetOutcome.REMOVED
        assert summary.deleted_from_db == 1 and probe_status(sim, "fabio_1_1") == "absent"

        sim.faults(delete_window_ms=0)
        freed = await service.plan(DeleteRequest(("fabio_2_2",)))
        sim.request("DELETE", "/instance/delete/fabio_2_2")
        deletes = sim.stats()["requests"]["delete"]
        summary = await service.run(freed)
    assert outcome_of(summary, "fabio_2_2") is TargetOutcome.ALREADY_ABSENT
    assert sim.stats()["requests"]["delete"] == deletes  # the probe found it free: no delete
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


@v2_only("v2's orphaned sockets never re-reserve a name (recorded: delete_dialing_close)")
async def test_v2_a_dialing_instance_is_deleted_without_a_logout_and_stays_free(
        sim, store, mongo_db, client, tmp_path):
    """A dialing instance that is never caught `connecting` (v1.8: unstoppable, stuck): v2
    deletes it without a logout, its orphaned socket goes on dialing, the name stays free."""
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close", "dialing": True}])
    add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(reconnect_loop=["fabio_1_1"], connecting_share=0, dial_cost_ms=0)
    events = []
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    assert before["instances"]["fabio_1_1"][0] == "dialing"

    summary = await ops.delete(service, ["fabio_1_1"], sink=events.append)

    [target] = summary.targets
    assert target.outcome is TargetOutcome.REMOVED and target.attempts == 1
    assert not [e for e in events if e.step is Step.LOGOUT]
    assert not [e for e in events if "came back" in e.detail]
    assert sim.stats()["requests"]["delete"] == 1
    assert sim.state()["orphan_sockets"] == ["fabio_1_1"]  # still dialing, unseen
    assert probe_status(sim, "fabio_1_1") == "absent"  # and the name is free for good
    assert mongo_db[CONNECTIONS].count_documents({}) == 0
    assert_invariants(sim, mongo_db, before, summary, ["fabio_1_1"])


@v2_only("v2's stuck name is its cleanup pending, with its own reason")
async def test_v2_a_name_held_past_the_budget_is_stuck_with_the_cleanup_reason(
        sim, store, mongo_db, client, tmp_path):
    """A cleanup longer than the verification budget: waited through the whole budget (not
    deleted again), stuck_reserved with the cleanup reason, the record kept and marked."""
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    sim.faults(cleanup_lag_ms=5000)
    summary = await ops.delete(make_service(client, store, tmp_path), ["fabio_1_1"])
    [target] = summary.targets
    assert target.outcome is TargetOutcome.STUCK_RESERVED and target.reason == CLEANUP_HINT
    assert target.attempts == 1 and sim.stats()["requests"]["delete"] == 1
    assert summary.elapsed_s >= FAST.verify_timeout_s
    kept = mongo_db[CONNECTIONS].find_one({"instance_name": "fabio_1_1"})
    assert kept["evodash_last_error"] == CLEANUP_HINT


async def test_names_are_claimed_ahead_of_their_slot_at_most_concurrency_ahead(
        sim, store, mongo_db, client, tmp_path):
    """While the first targets work, the next ones in line already hold their claims - as
    many as there are slots, no more - and every claim is gone when the run is over."""
    from tui.store.mongo import CLAIMS_COLLECTION

    seed_resellers(mongo_db)
    names = [f"fabio_{i}_{i}" for i in range(1, 9)]
    sim.seed([{"name": n, "state": "close"} for n in names])
    for name in names:
        add_record(mongo_db, "r1", name)
    claimed_at_first_delete: list[int] = []

    def sink(event) -> None:
        if event.step is Step.DELETE and not claimed_at_first_delete:
            claimed_at_first_delete.append(mongo_db[CLAIMS_COLLECTION].count_documents({}))

    service = make_service(client, store, tmp_path, concurrency=2)
    summary = await ops.delete(service, names, sink=sink)

    assert [outcome_of(summary, n) for n in names] == [TargetOutcome.REMOVED] * len(names)
    assert claimed_at_first_delete == [4]  # 2 working + 2 waiting for a slot, of 8
    assert mongo_db[CLAIMS_COLLECTION].count_documents({}) == 0


@v2_only("v1.8 re-checks a listed name by its first logout, a change: no probe before it")
async def test_a_record_changed_while_the_name_is_rechecked_leaves_the_target_untouched(
        sim, store, mongo_db, client, tmp_path, monkeypatch):
    """The records are re-read beside the name's re-check probe: a record that appears for
    the target meanwhile still stops it before its first change (no delete, no intent)."""
    seed_resellers(mongo_db)
    sim.seed([{"name": "stray_1", "state": "close"}])
    service = make_service(client, store, tmp_path)
    plan = await service.plan(DeleteRequest(("stray_1",)))
    real_probe = client.probe

    async def probe_then_link(name):
        add_record(mongo_db, "r1", name)  # linked by the platform during the re-check
        return await real_probe(name)

    monkeypatch.setattr(client, "probe", probe_then_link)
    summary = await ops.run(service, plan)

    [target] = summary.targets
    assert target.outcome is TargetOutcome.SKIPPED
    assert target.skip is not None and target.skip.cause is SkipCause.RECORD_APPEARED
    assert probe_status(sim, "stray_1") == "present"
    assert sim.stats()["requests"].get("delete", 0) == 0
    assert [e["event"] for e in audit_events(tmp_path)] == ["start", "summary"]


async def test_a_record_gone_while_its_free_name_is_held_is_reported_not_removed_again(
        sim, store, mongo_db, client, tmp_path, monkeypatch):
    """An orphan record's name is probed (and its absence held) beside the records re-read:
    when the platform removed the record meanwhile, the run says so and changes nothing."""
    seed_resellers(mongo_db)
    doc_id = add_record(mongo_db, "r1", "lost_1")
    service = make_service(client, store, tmp_path)
    plan = await service.plan(DeleteRequest(("lost_1",)))
    real_probe = client.probe

    async def probe_then_unlink(name):
        mongo_db[CONNECTIONS].delete_many({"instance_name": name})  # the platform's cleanup
        return await real_probe(name)

    monkeypatch.setattr(client, "probe", probe_then_unlink)
    summary = await ops.run(service, plan)

    [target] = summary.targets
    assert target.outcome is TargetOutcome.SKIPPED, target
    assert target.skip is not None and target.skip.cause is SkipCause.RECORDS_REMOVED
    assert target.records_removed == 0 and doc_id
    assert [e["event"] for e in audit_events(tmp_path)] == ["start", "summary"]


async def test_the_hold_probes_twice_where_a_name_that_comes_back_is_retried(
        sim, store, mongo_db, client, tmp_path):
    """v1.8 retries a name that comes back within its hold, so it probes early (30 %) and
    at the end; v2 does not (a name held there is stuck), so its hold is one probe."""
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    events = []
    summary = await ops.delete(make_service(client, store, tmp_path), ["fabio_1_1"],
                               sink=events.append)

    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.REMOVED
    [held] = [e for e in events if e.step is Step.VERIFY and "free for" in e.detail]
    assert held.detail.endswith("(1 probes)" if sim.dialect == "v2" else "(2 probes)")


@v2_only("a patient verification is v2's: its target waits without its slot")
async def test_a_patient_verification_learns_to_probe_once(sim, store, mongo_db, client,
                                                           tmp_path):
    """On v2 a target waits for its name without its slot, so waiting longer costs nothing
    but its own latency: once the window is learnt, most names are free at the first probe
    (a median wait would miss about half), never before the window is over."""
    seed_resellers(mongo_db)
    names = [f"fabio_{i}_{i}" for i in range(10, 60)]
    sim.seed([{"name": n, "state": "close"} for n in names])
    for name in names:
        add_record(mongo_db, "r1", name)
    # 20 ms a request: the deletes of 50 names at 2 take ~1 s, the window (150 ms) is learnt
    # from the first few targets and the rest can use it
    sim.faults(cleanup_lag_ms=150, delete_window_ms=0, latency_ms=20)
    events = []
    summary = await ops.delete(make_service(client, store, tmp_path, concurrency=2), names,
                               sink=events.append)

    assert [outcome_of(summary, n) for n in names] == [TargetOutcome.REMOVED] * len(names)
    verify = [e for e in events if e.step is Step.VERIFY and "free after" in e.detail]
    probes = [int(e.detail.split("(")[1].split()[0]) for e in verify]
    seconds = [float(e.detail.split(" after ")[1].split()[0]) for e in verify]
    assert min(seconds) >= 0.1  # never claimed absent early
    assert probes[-15:].count(1) >= 11, probes
    assert sum(probes[-15:]) < sum(probes[:15]), probes
