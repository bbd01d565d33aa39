"""Create a connection: naming, uniqueness, the 403 name-in-use path (only an unlinked,
non-open orphan is removed; a linked or open one makes us pick another name), record insert
failure (the new instance is removed again), and the QR payload."""

from __future__ import annotations

import pytest

from tests import ops
from tests.fixtures.mongo import CONNECTIONS
from tests.fixtures.sim import API_KEY, v2_only, v18_only
from tests.test_lifecycle_support import (  # noqa: F401 - client is a fixture
    FIXED_TS,
    add_record,
    audit_lines,
    client,
    make_client,
    make_service,
    probe_status,
    seed_resellers,
)
from tui.evolution.client import EvolutionClient
from tui.lifecycle.events import Step, StepOutcome, TargetOutcome
from tui.lifecycle.scope import Scope
from tui.store.mongo import ConnectionStore
from tui.store.wire_server import MongoWireServer
from pymongo import MongoClient


@pytest.fixture
def sim(dialect_sim):
    """Every test here runs on v1.8 and on v2 (`dialect_sim`), unless it says otherwise."""
    return dialect_sim

NAME = f"fabio_1_{FIXED_TS}"
NEXT = f"fabio_1_{FIXED_TS + 1}"


def fixed_service(client, store, tmp_path, **kw):
    return make_service(client, store, tmp_path, now=lambda: FIXED_TS, **kw)


def sim_instance(sim, name):
    return next((i for i in sim.state()["instances"] if i["name"] == name), None)


async def test_create_names_inserts_after_instance_and_returns_the_record(sim, store, mongo_db,
                                                                          client, tmp_path):
    seed_resellers(mongo_db)
    add_record(mongo_db, "r1", "fabio_1_1")
    add_record(mongo_db, "r1", "fabio_2_2")
    events = []
    summary = await ops.create(fixed_service(client, store, tmp_path), "r1", sink=events.append)
    [target] = summary.targets
    name = f"fabio_3_{FIXED_TS}"  # <base>_<n>_<ts>, n = the reseller's records + 1
    assert target.outcome is TargetOutcome.CREATED and target.name == name
    assert "qrcode" not in target.extra
    doc = mongo_db[CONNECTIONS].find_one({"instance_name": name})
    assert doc["reseller_id"] == "r1" and str(doc["id"]) == target.extra["record_id"]
    assert sim_instance(sim, name)["state"] == "close"
    steps = [e.step for e in events]
    assert steps.index(Step.CREATE) < steps.index(Step.INSERT)
    assert audit_lines(tmp_path)[-1]["outcomes"] == {name: "created"}


async def test_create_with_qr_returns_the_qr_payload(sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    summary = await ops.create(fixed_service(client, store, tmp_path), "r2", qr=True)
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == f"ana_1_{FIXED_TS}"
    assert target.extra["qrcode"]["code"]
    assert sim_instance(sim, target.name)["state"] == "connecting"


async def test_name_is_unique_against_evolution_and_the_database(sim, store, mongo_db, client,
                                                                 tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": NAME, "state": "close"}])  # an unlinked orphan instance
    add_record(mongo_db, "r2", NEXT)  # another tenant's record (no instance)
    summary = await ops.create(fixed_service(client, store, tmp_path), "r1")
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == f"fabio_1_{FIXED_TS + 2}"
    assert sim_instance(sim, NAME) is not None  # the listed orphan was not deleted
    assert sim.stats()["requests"].get("delete", 0) == 0
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": NEXT}) == 1


@v18_only("an unlisted name this server holds is v1.8's ghost (v2 lists its ghost rows)")
async def test_reserved_unlinked_name_is_freed_verified_then_used(sim, store, mongo_db, client,
                                                                  tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": NAME, "ghost": True}])  # unlisted, but the server holds the name
    summary = await ops.create(fixed_service(client, store, tmp_path), "r1")
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == NAME
    assert sim.stats()["requests"]["delete"] == 1
    assert sim_instance(sim, NAME)["in_memory"]


@v18_only("a name held by v1.8's orphaned socket (v2: held by a cleanup, below)")
async def test_stuck_reserved_name_makes_create_pick_another(sim, store, mongo_db, client,
                                                             tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": NAME, "state": "close"}])
    sim.faults(reconnect_loop=[NAME], connecting_share=0, orphan_outcome="reserved", dial_cost_ms=0)
    sim.request("DELETE", f"/instance/delete/{NAME}")  # orphaned socket: stuck reserved
    summary = await ops.create(fixed_service(client, store, tmp_path), "r1")
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == NEXT
    assert probe_status(sim, NAME) == "reserved"


@v2_only("v2 lists a ghost row (its database is the list): a listed name is taken")
async def test_v2_a_listed_ghost_row_makes_create_pick_another_and_stays(sim, store, mongo_db,
                                                                        client, tmp_path):
    """A row of this server without a live instance is listed: the name is taken, like any
    listed orphan instance - never deleted by a create."""
    seed_resellers(mongo_db)
    sim.seed([{"name": NAME, "live": False}])
    summary = await ops.create(fixed_service(client, store, tmp_path), "r1")
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == NEXT
    assert probe_status(sim, NAME) == "reserved"
    assert sim.stats()["requests"].get("delete", 0) == 0


@v2_only("v2 holds a deleted name until its cleanup ends (the 403 window)")
async def test_v2_a_name_held_by_a_long_cleanup_makes_create_pick_another(
        sim, store, mongo_db, client, tmp_path):
    """An unlinked orphan deleted just before, its cleanup long: its row stays listed until
    the cleanup ends, so the name is taken and the create takes the next one, untouched."""
    seed_resellers(mongo_db)
    sim.seed([{"name": NAME, "state": "close"}])
    sim.faults(delete_window_ms=5000)
    sim.request("DELETE", f"/instance/delete/{NAME}")
    summary = await ops.create(fixed_service(client, store, tmp_path), "r1")
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == NEXT
    assert probe_status(sim, NAME) != "absent"
    assert sim.stats()["requests"]["delete"] == 1  # the one before the create


class RacingClient(EvolutionClient):
    """A real client; right after the probe of `name` says "free", someone else creates it
    (via the simulator's seeding, optionally with a platform record): the create gets a real
    403 name-in-use from the server."""

    def __init__(self, *a, race=None, **kw):
        super().__init__(*a, **kw)
        self.race = race
        self.raced = False

    async def probe(self, name):
        result = await super().probe(name)
        if name == NAME and not self.raced:
            self.raced = True
            self.race()
        return result


def racing_client(sim, race) -> RacingClient:
    return RacingClient(sim.url, API_KEY, timeout_s=2, retries=0, race=race)


async def test_403_on_an_unlinked_closed_orphan_removes_it_and_retries(sim, store, mongo_db,
                                                                       tmp_path):
    seed_resellers(mongo_db)
    seeded = []
    events = []
    async with racing_client(sim, lambda: seeded.extend(
            sim.seed([{"name": NAME, "state": "close"}]))) as client:
        summary = await ops.create(fixed_service(client, store, tmp_path), "r1", sink=events.append)
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == NAME
    assert any(e.step is Step.CREATE and e.outcome is StepOutcome.RETRY for e in events)
    assert sim_instance(sim, NAME)["instanceId"] != seeded[0]["instanceId"]  # a new one
    assert sim.stats()["requests"]["create"] == 2 and sim.stats()["requests"]["delete"] == 1


async def test_403_on_an_open_instance_never_deletes_it(sim, store, mongo_db, tmp_path):
    seed_resellers(mongo_db)
    async with racing_client(sim, lambda: sim.seed([{"name": NAME, "state": "open"}])) as client:
        summary = await ops.create(fixed_service(client, store, tmp_path), "r1")
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == NEXT
    assert sim_instance(sim, NAME)["state"] == "open"
    assert sim.stats()["requests"].get("delete", 0) == 0
    assert sim.stats()["requests"].get("logout", 0) == 0


async def test_403_on_a_linked_instance_never_deletes_it(sim, store, mongo_db, tmp_path):
    """The platform created instance + record between our plan and our create."""
    seed_resellers(mongo_db)

    def race():
        sim.seed([{"name": NAME, "state": "close"}])
        add_record(mongo_db, "r2", NAME)

    async with racing_client(sim, race) as client:
        summary = await ops.create(fixed_service(client, store, tmp_path), "r1")
    [target] = summary.targets
    assert target.outcome is TargetOutcome.CREATED and target.name == NEXT
    assert sim_instance(sim, NAME) is not None, "a linked instance was deleted"
    assert sim.stats()["requests"].get("delete", 0) == 0


class StopMongoAfterCreate(EvolutionClient):
    """A real client; MongoDB goes down right after Evolution created the instance."""

    server: MongoWireServer | None = None

    async def create(self, name, **kw):
        result = await super().create(name, **kw)
        if self.server is not None:
            self.server.stop()
        return result


async def _create_with_failing_insert(sim, tmp_path, *, qr: bool):
    server = MongoWireServer().start()
    try:
        db = MongoClient(server.uri)["evodash_insert_fail"]
        seed_resellers(db)
        store = ConnectionStore(server.uri, "evodash_insert_fail", timeout_ms=300)
        client = StopMongoAfterCreate(sim.url, API_KEY, timeout_s=2, retries=0)
        client.server = server
        try:
            return await ops.create(fixed_service(client, store, tmp_path), "r1", qr=qr)
        finally:
            await client.aclose()
            store.close()
    finally:
        server.stop()


async def test_insert_failure_removes_the_new_instance_again(sim, tmp_path):
    summary = await _create_with_failing_insert(sim, tmp_path, qr=False)
    [target] = summary.targets
    assert target.outcome is TargetOutcome.FAILED and target.name == NAME
    assert "record not inserted" in target.reason and "removed again" in target.reason
    assert probe_status(sim, NAME) == "absent"  # verified: no orphan left behind
    assert sim.state()["instances"] == []
    assert audit_lines(tmp_path)[-1]["outcomes"] == {NAME: "failed"}


@v18_only("the dialing (QR) instance is logged out first on v1.8 (v2: below)")
async def test_insert_failure_after_a_qr_create_logs_out_and_removes(sim, tmp_path):
    summary = await _create_with_failing_insert(sim, tmp_path, qr=True)
    [target] = summary.targets
    assert target.outcome is TargetOutcome.FAILED and "removed again" in target.reason
    assert probe_status(sim, NAME) == "absent"
    # the instance was `connecting` (dialing for a QR): it must be logged out first
    assert sim.stats()["requests"].get("logout", 0) == 1


@v2_only("v2's delete logs the dialing (QR) instance out itself")
async def test_v2_insert_failure_after_a_qr_create_removes_without_a_logout(sim, tmp_path):
    summary = await _create_with_failing_insert(sim, tmp_path, qr=True)
    [target] = summary.targets
    assert target.outcome is TargetOutcome.FAILED and "removed again" in target.reason
    assert probe_status(sim, NAME) == "absent"
    requests = sim.stats()["requests"]
    assert requests.get("logout", 0) == 0 and requests["delete"] == 1


async def test_create_for_unknown_reseller_creates_nothing(sim, store, mongo_db, client,
                                                           tmp_path):
    import pytest

    from tui.lifecycle.planning import UnknownResellerError

    seed_resellers(mongo_db)
    with pytest.raises(UnknownResellerError, match="unknown reseller 'ghost-reseller'"):
        await ops.create(fixed_service(client, store, tmp_path), "ghost-reseller")
    assert sim.state()["instances"] == [] and sim.stats()["requests"].get("create", 0) == 0
    assert mongo_db[CONNECTIONS].count_documents({}) == 0


async def test_reseller_session_creates_only_for_itself(sim, store, mongo_db, client, tmp_path):
    import pytest

    from tui.lifecycle.scope import ScopeError

    seed_resellers(mongo_db)
    service = fixed_service(client, store, tmp_path, scope=Scope.reseller("r1"))
    with pytest.raises(ScopeError):
        await ops.create(service, "r2")
    assert sim.state()["instances"] == []
    summary = await ops.create(service, "r1")
    assert summary.targets[0].outcome is TargetOutcome.CREATED
