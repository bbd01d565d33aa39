"""What only a v2 server does, through the lifecycle (issue 17): a ghost row, a name another
server on the same database holds, 2.3.7's zombie, 2.4.0's idempotent logout, the delete ->
403 window under load and past the budget, and a server upgraded in place from v1.8.

Real simulators over loopback (two v2 servers may share one database, as `evo_a` and
`evo_b`), the real MongoDB-wire store; fast policies (`FAST`) as the other lifecycle tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests import ops
from tests.fixtures.mongo import CONNECTIONS
from tests.fixtures.sim import API_KEY, SimHandle
from tests.test_lifecycle_support import (
    FAST,
    add_record,
    assert_invariants,
    make_client,
    make_service,
    outcome_of,
    probe_status,
    seed_resellers,
    snapshot,
)
from tui.evolution.dialect import Dialect
from tui.lifecycle.domain import SkipCause, Step, StepOutcome, TargetOutcome
from tui.lifecycle.plans import DeleteRequest, ForgetRequest, ReprovisionRequest
from tui.lifecycle.removal.policy import CLEANUP_HINT, ZOMBIE_HINT
from tui.lifecycle.scope import Scope
from tui.lifecycle.words import other_server_text
from tui.simulator.server import ThreadedSimulator

FOREIGN = "fabio_7_1700000007"  # created by server b, with a record of r1 on a's platform


def started(**kw) -> tuple[ThreadedSimulator, SimHandle]:
    server = ThreadedSimulator(host="127.0.0.1", port=0, api_key=API_KEY, seed=17,
                               dialect="v2", **kw).start()
    return server, SimHandle(server.url, API_KEY, "v2")


@pytest.fixture(scope="module")
def shared_servers() -> Iterator[tuple[SimHandle, SimHandle]]:
    """Server a (`evo_a`, evodash's) and b (`evo_b`) on one database."""
    a_server, a = started(client_name="evo_a")
    b_server, b = started(client_name="evo_b", database=a_server.database)
    try:
        yield a, b
    finally:
        for handle, server in ((a, a_server), (b, b_server)):
            handle.close()
            server.stop()


@pytest.fixture
def servers(shared_servers) -> tuple[SimHandle, SimHandle]:
    for handle in shared_servers:
        handle.reset()
    return shared_servers


@pytest.fixture(scope="module")
def versions() -> Iterator[dict[str, SimHandle]]:
    """A 2.3.7 and a 2.4.0 server (the fixtures' own is 2.3.6)."""
    running = {v: started(version=v) for v in ("2.3.7", "2.4.0")}
    try:
        yield {v: handle for v, (_, handle) in running.items()}
    finally:
        for server, handle in running.values():
            handle.close()
            server.stop()


def row_of(sim: SimHandle, name: str) -> dict | None:
    return next((r for r in sim.state()["rows"] if r["name"] == name), None)


# ---------------------------------------------------------------------------- ghost row
async def test_a_ghost_row_is_deleted_verified_and_its_record_removed(sim_v2, store, mongo_db,
                                                                      tmp_path):
    """A row of this server without a live instance (recorded: ghost_row): listed with its
    stored status, connectionState without `state`; deleted, verified free, record removed."""
    seed_resellers(mongo_db)
    sim_v2.seed([{"name": "fabio_1_1", "state": "open", "live": False},
                 {"name": "bystander", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    assert probe_status(sim_v2, "fabio_1_1") == "reserved"
    async with make_client(sim_v2) as client:
        listed = {i.name: i for i in await client.list_instances()}
        assert listed["fabio_1_1"].state.value == "open"  # the stored status, no live socket
        service = make_service(client, store, tmp_path)
        plan = await service.plan(DeleteRequest(("fabio_1_1",)))
        assert plan.targets[0].steps == (Step.PROBE, Step.DELETE, Step.VERIFY, Step.RECORD)
        before = snapshot(sim_v2, mongo_db)
        events = []
        summary = await service.run(plan, sink=events.append)
    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.REMOVED
    [probe] = [e for e in events if e.step is Step.PROBE]
    assert probe.outcome is StepOutcome.RESERVED  # re-checked: a held name, no instance
    assert_invariants(sim_v2, mongo_db, before, summary, ["fabio_1_1"])
    assert probe_status(sim_v2, "fabio_1_1") == "absent" and row_of(sim_v2, "fabio_1_1") is None
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "fabio_1_1"}) == 0
    assert sim_v2.stats()["requests"].get("logout", 0) == 0


# ---------------------------------------------------------------------------- other server
async def test_a_name_another_server_holds_is_skipped_by_every_operation(servers, store,
                                                                         mongo_db, tmp_path):
    """Server b created the name; a's platform has a record of it (an orphan record for a:
    not in a's list, held). Delete, clear-all (all and the reseller's scope), forget and
    re-provision through a all skip it as another server's - said by the plan, before any
    run -; nothing is sent to a that changes anything, the record is kept, b's row intact."""
    a, b = servers
    seed_resellers(mongo_db)
    created = b.request("POST", "/instance/create",
                        json={"instanceName": FOREIGN, "integration": "WHATSAPP-BAILEYS"})
    assert created.status_code == 201, created.text
    add_record(mongo_db, "r1", FOREIGN)
    add_record(mongo_db, "r1", "fabio_4_1700000004")  # an orphan record, its name free
    b_row = row_of(a, FOREIGN)
    assert b_row is not None and b_row["client_name"] == "evo_b"
    skip_line = f"{FOREIGN}: skip: {other_server_text()}"

    async with make_client(a) as client:
        service = make_service(client, store, tmp_path)
        plans = [await service.plan(DeleteRequest((FOREIGN,))),
                 await ops.plan_clear_all(service, Scope.all()),
                 await ops.plan_clear_all(service, Scope.reseller("r1")),
                 await service.plan(ForgetRequest((FOREIGN,))),
                 await service.plan(ReprovisionRequest((FOREIGN,)))]
        for plan in plans:
            [target] = [t for t in plan.targets if t.name == FOREIGN]
            assert target.skip is not None and target.skip.cause is SkipCause.OTHER_SERVER
            assert skip_line in plan.lines(), plan.lines()
        summaries = [await service.run(plan) for plan in plans]

    for summary in summaries:
        [result] = [t for t in summary.targets if t.name == FOREIGN]
        assert result.outcome is TargetOutcome.SKIPPED
        assert result.skip is not None and result.skip.cause is SkipCause.OTHER_SERVER
    assert outcome_of(summaries[1], "fabio_4_1700000004") is TargetOutcome.ALREADY_ABSENT
    requests = a.stats()["requests"]
    assert not {"delete", "logout", "create", "connect"} & set(requests), requests
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": FOREIGN}) == 1
    assert row_of(a, FOREIGN) == b_row  # b's row untouched
    state = b.request("GET", f"/instance/connectionState/{FOREIGN}").json()
    assert state["instance"].get("state") == "close"  # b's instance still there


async def test_create_never_takes_a_name_another_server_holds(servers, store, mongo_db,
                                                              tmp_path):
    """The candidate name is held by b (not in a's list): a 403 for a's create; the name is
    b's, so it is not deleted - the create takes the next one."""
    a, b = servers
    seed_resellers(mongo_db)
    name, after = "fabio_1_1700000000", "fabio_1_1700000001"
    assert b.request("POST", "/instance/create",
                     json={"instanceName": name, "integration": "EVOLUTION"}).status_code == 201
    async with make_client(a) as client:
        service = make_service(client, store, tmp_path, now=lambda: 1_700_000_000)
        summary = await ops.create(service, "r1")
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == after
    assert a.stats()["requests"].get("delete", 0) == 0
    assert row_of(a, name)["client_name"] == "evo_b"


# ---------------------------------------------------------------------------- versions
async def test_a_2_3_7_zombie_fails_with_the_hint_then_converges_after_a_restart(
        versions, store, mongo_db, tmp_path):
    """2.3.7 awaits the logout of a dead socket: its delete is refused (400) every time.
    Retried, then failed with the zombie hint; the record kept and marked. After the
    server's restart (the zombie is gone) a re-run removes it."""
    sim = versions["2.3.7"]
    sim.reset()
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "open"}])
    sim.request("POST", "/_sim/zombies", json=["fabio_1_1"]).raise_for_status()
    add_record(mongo_db, "r1", "fabio_1_1")
    async with make_client(sim) as client:
        service = make_service(client, store, tmp_path)
        before = snapshot(sim, mongo_db)
        summary = await ops.delete(service, ["fabio_1_1"])
        [target] = summary.targets
        assert target.outcome is TargetOutcome.FAILED
        assert target.reason.startswith("delete failed") and target.reason.endswith(ZOMBIE_HINT)
        assert target.attempts == FAST.max_attempts
        assert sim.stats()["requests"]["delete"] == FAST.max_attempts
        assert_invariants(sim, mongo_db, before, summary, ["fabio_1_1"])
        kept = mongo_db[CONNECTIONS].find_one({"instance_name": "fabio_1_1"})
        assert kept["evodash_last_error"] == target.reason
        assert probe_status(sim, "fabio_1_1") == "present"

        sim.restart()
        again = await ops.delete(service, ["fabio_1_1"])
    assert outcome_of(again, "fabio_1_1") is TargetOutcome.REMOVED
    assert probe_status(sim, "fabio_1_1") == "absent"
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


async def test_2_4_0_behaves_as_2_3_6(versions, sim_v2, store, mongo_db, tmp_path):
    """2.4.0 answers the logout of a closed instance 200 "already disconnected" (2.3: 400)
    and deletes zombies: the same plan, the same outcomes as on 2.3.6, and no logout sent."""
    results = {}
    for sim in (sim_v2, versions["2.4.0"]):
        sim.reset()
        mongo_db[CONNECTIONS].delete_many({})
        sim.seed([{"name": "fabio_1_1", "state": "open"}, {"name": "fabio_2_2", "state": "close"},
                  {"name": "fabio_3_3", "state": "close", "dialing": True},
                  {"name": "fabio_4_4", "state": "close", "live": False}])
        for name in ("fabio_1_1", "fabio_2_2", "fabio_3_3", "fabio_4_4"):
            add_record(mongo_db, "r1", name)
        logout = sim.request("DELETE", "/instance/logout/fabio_2_2")
        results.setdefault("logout", []).append((logout.status_code, logout.json()))
        async with make_client(sim) as client:
            service = make_service(client, store, tmp_path)
            plan = await service.plan(DeleteRequest(("fabio_1_1", "fabio_2_2", "fabio_3_3",
                                                     "fabio_4_4")))
            summary = await service.run(plan)
        results.setdefault("plans", []).append({t.name: t.steps for t in plan.targets})
        results.setdefault("outcomes", []).append({t.name: t.outcome for t in summary.targets})
        assert sim.stats()["requests"]["logout"] == 1  # the one above
        assert mongo_db[CONNECTIONS].count_documents({}) == 0
    (old_status, _), (new_status, new_body) = results["logout"]
    assert (old_status, new_status) == (400, 200)
    assert new_body["response"]["message"] == "Instance was already disconnected"
    assert results["plans"][0] == results["plans"][1]
    assert results["outcomes"][0] == results["outcomes"][1] == {
        n: TargetOutcome.REMOVED for n in ("fabio_1_1", "fabio_2_2", "fabio_3_3", "fabio_4_4")}


async def test_2_4_0_deletes_a_zombie(versions, store, mongo_db, tmp_path):
    sim = versions["2.4.0"]
    sim.reset()
    sim.seed([{"name": "fabio_1_1", "state": "open", "zombie": True}])
    add_record(mongo_db, "r1", "fabio_1_1")
    async with make_client(sim) as client:
        summary = await ops.delete(make_service(client, store, tmp_path), ["fabio_1_1"])
    assert outcome_of(summary, "fabio_1_1") is TargetOutcome.REMOVED
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


# ---------------------------------------------------------------------------- 403 window
async def test_the_403_window_under_load_never_frees_a_record_early(sim_v2, store, mongo_db,
                                                                    tmp_path):
    """Names held for a while after their 200 delete (widened window, sockets flapping): a
    record is removed only once its name is free - probed, and created back, right when
    the record went: 404, then 201, never the 403 of a name still held."""
    seed_resellers(mongo_db)
    names = [f"fabio_{i}_{i}" for i in range(1, 7)]
    dialing = [f"zed_{i}" for i in range(3)]  # unrelated sockets flapping: a loaded server
    sim_v2.seed([{"name": n, "state": "close"} for n in names]
                + [{"name": n, "state": "close", "dialing": True} for n in dialing])
    sim_v2.faults(reconnect_loop=dialing, delete_window_ms=[150, 300], window_cost_ms=60)
    for name in names:
        add_record(mongo_db, "r1", name)
    at_record: dict[str, tuple[str, int]] = {}

    def sink(event) -> None:  # the moment a record went: is the name really free?
        if event.step is Step.RECORD and event.outcome is StepOutcome.OK:
            probed = probe_status(sim_v2, event.instance)
            created = sim_v2.request("POST", "/instance/create", json={
                "instanceName": event.instance, "integration": "EVOLUTION"})
            at_record[event.instance] = (probed, created.status_code)

    policy = replace(FAST, verify_timeout_s=3.0)
    async with make_client(sim_v2) as client:
        service = make_service(client, store, tmp_path, policy=policy, concurrency=6)
        before = snapshot(sim_v2, mongo_db)
        summary = await ops.delete(service, names, sink=sink)
    assert [outcome_of(summary, n) for n in names] == [TargetOutcome.REMOVED] * len(names)
    assert at_record == {n: ("absent", 201) for n in names}
    assert mongo_db[CONNECTIONS].count_documents({}) == 0
    assert set(before["instances"]) - set(names) == set(dialing)


async def test_a_window_longer_than_the_budget_is_stuck_with_the_cleanup_reason(
        sim_v2, store, mongo_db, tmp_path):
    """The server still holds the names when the budget ends: stuck_reserved with v2's
    reason (its cleanup pending, not an orphan), one delete each, the records kept and
    marked; the names go free later and a re-run removes the records."""
    seed_resellers(mongo_db)
    names = ["fabio_1_1", "fabio_2_2"]
    sim_v2.seed([{"name": "fabio_1_1", "state": "close"}, {"name": "fabio_2_2", "state": "open"}])
    for name in names:
        add_record(mongo_db, "r1", name)
    sim_v2.faults(delete_window_ms=1500)
    async with make_client(sim_v2) as client:
        service = make_service(client, store, tmp_path)
        before = snapshot(sim_v2, mongo_db)
        summary = await ops.delete(service, names)
        assert_invariants(sim_v2, mongo_db, before, summary, names)
        for target in summary.targets:
            assert target.outcome is TargetOutcome.STUCK_RESERVED and target.attempts == 1
            assert target.reason == CLEANUP_HINT
        assert sim_v2.stats()["requests"]["delete"] == 2
        for name in names:
            assert probe_status(sim_v2, name) != "absent"
            kept = mongo_db[CONNECTIONS].find_one({"instance_name": name})
            assert kept["evodash_last_error"] == CLEANUP_HINT
        sim_v2.faults(delete_window_ms=0)
        again = await ops.delete(service, names)  # its cleanup ended meanwhile (or now)
    assert all(t.outcome in (TargetOutcome.REMOVED, TargetOutcome.ALREADY_ABSENT)
               for t in again.targets)
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


# ---------------------------------------------------------------------------- upgrade
async def test_a_server_upgraded_in_place_from_v1_8_is_redetected(store, mongo_db, tmp_path):
    """The same URL, the same client: v1.8 first (a delete with its logout), then the
    server is stopped and a v2 one starts on the same port (an upgrade in place). The next
    operation finds v2's shapes, re-detects, and its delete follows v2 (no logout)."""
    seed_resellers(mongo_db)
    old = ThreadedSimulator(host="127.0.0.1", port=0, api_key=API_KEY, seed=5).start()
    port = old.simulator.port
    new: ThreadedSimulator | None = None
    try:
        sim = SimHandle(old.url, API_KEY)
        sim.seed([{"name": "fabio_1_1", "state": "open"}, {"name": "fabio_2_2", "state": "open"}])
        add_record(mongo_db, "r1", "fabio_1_1")
        add_record(mongo_db, "r1", "fabio_2_2")
        async with make_client(sim) as client:
            service = make_service(client, store, tmp_path)
            events = []
            first = await ops.delete(service, ["fabio_1_1"], sink=events.append)
            assert outcome_of(first, "fabio_1_1") is TargetOutcome.REMOVED
            assert (await client.profile()).dialect is Dialect.V1_8
            assert any(e.step is Step.LOGOUT for e in events)
            sim.close()
            old.stop()

            new = ThreadedSimulator(host="127.0.0.1", port=port, api_key=API_KEY, seed=6,
                                    dialect="v2").start()
            sim = SimHandle(new.url, API_KEY, "v2")
            sim.seed([{"name": "fabio_2_2", "state": "open"}])  # its data, migrated
            events.clear()
            plan = await service.plan(DeleteRequest(("fabio_2_2",)))
            assert plan.targets[0].steps == (Step.PROBE, Step.DELETE, Step.VERIFY, Step.RECORD)
            second = await service.run(plan, sink=events.append)
            assert (await client.profile()).dialect is Dialect.V2
        assert outcome_of(second, "fabio_2_2") is TargetOutcome.REMOVED
        assert not any(e.step is Step.LOGOUT for e in events)
        assert sim.stats()["requests"].get("logout", 0) == 0
        assert probe_status(sim, "fabio_2_2") == "absent"
        assert mongo_db[CONNECTIONS].count_documents({}) == 0
        sim.close()
    finally:
        old.stop()
        if new is not None:
            new.stop()
