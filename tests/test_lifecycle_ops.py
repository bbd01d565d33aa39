"""forget / adopt / reprovision (happy and refusal paths), read-only mode, the tenant scope
guard, and the audit log (fields, one line per mutating operation, no secrets)."""

from __future__ import annotations

import pytest

from tests import ops
from tests.fixtures.mongo import CONNECTIONS
from tests.fixtures.sim import API_KEY
from tests.test_lifecycle_support import (  # noqa: F401 - client is a fixture
    add_record,
    audit_lines,
    client,
    listed_ghosts,
    make_service,
    outcome_of,
    probe_status,
    seed_resellers,
    seed_world,
    snapshot,
)
from tui.lifecycle.audit import AuditLog
from tui.lifecycle.events import Summary, TargetOutcome, TargetResult
from tui.lifecycle.scope import LifecycleError, ReadOnlyError, Scope, ScopeError


@pytest.fixture
def sim(dialect_sim):
    """Every test here runs on v1.8 and on v2 (`dialect_sim`), unless it says otherwise."""
    return dialect_sim


# ---------------------------------------------------------------------------- forget
async def test_forget_removes_only_orphan_records_whose_name_is_free(sim, store, mongo_db,
                                                                     client, tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}, {"name": "fabio_2_2", "ghost": True}])
    for name in ("fabio_1_1", "fabio_2_2", "fabio_3_3"):
        add_record(mongo_db, "r1", name)
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    summary = await ops.forget(service, ["fabio_1_1", "fabio_2_2", "fabio_3_3", "nothing_here"])

    assert outcome_of(summary, "fabio_3_3") is TargetOutcome.FORGOTTEN
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "fabio_3_3"}) == 0
    present = [t for t in summary.targets if t.name == "fabio_1_1"][0]
    assert present.outcome is TargetOutcome.SKIPPED and "use delete" in present.reason
    reserved = [t for t in summary.targets if t.name == "fabio_2_2"][0]
    assert reserved.outcome is TargetOutcome.SKIPPED and "reserved" in reserved.reason
    assert outcome_of(summary, "nothing_here") is TargetOutcome.NOT_FOUND
    after = snapshot(sim, mongo_db)
    assert after["instances"] == before["instances"]  # database only
    assert len(after["records"]) == 2
    assert sim.stats()["requests"].get("delete", 0) == 0


async def test_forget_in_reseller_scope_refuses_other_tenants_records(sim, store, mongo_db,
                                                                      client, tmp_path):
    seed_resellers(mongo_db)
    add_record(mongo_db, "r2", "ana_3_3")
    service = make_service(client, store, tmp_path, scope=Scope.reseller("r1"))
    summary = await ops.forget(service, ["ana_3_3"])
    assert outcome_of(summary, "ana_3_3") is TargetOutcome.SKIPPED
    assert mongo_db[CONNECTIONS].count_documents({}) == 1


# ---------------------------------------------------------------------------- adopt
async def test_adopt_links_an_orphan_instance(sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": "legacy-box", "state": "open", "owner": "5511987654321@s.whatsapp.net"}])
    summary = await ops.adopt(make_service(client, store, tmp_path), "legacy-box", "r1")
    assert outcome_of(summary, "legacy-box") is TargetOutcome.ADOPTED
    doc = mongo_db[CONNECTIONS].find_one({"instance_name": "legacy-box"})
    assert doc["reseller_id"] == "r1" and doc["status"] == "connected"
    assert doc["phone_number"] == "5511987654321"
    assert probe_status(sim, "legacy-box") == "present"


async def test_adopt_refusals(sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": "taken_1_1", "state": "close"}, {"name": "ghost_1_1", "ghost": True}])
    add_record(mongo_db, "r2", "taken_1_1")
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)

    linked = (await ops.adopt(service, "taken_1_1", "r1")).targets[0]
    assert linked.outcome is TargetOutcome.SKIPPED and "already has a record" in linked.reason
    with pytest.raises(LifecycleError, match="unknown reseller 'nobody'"):
        await ops.adopt(service, "ghost_1_1", "nobody")
    ghost = (await ops.adopt(service, "ghost_1_1", "r1")).targets[0]
    assert ghost.outcome is TargetOutcome.FAILED and "not an Evolution instance" in ghost.reason
    absent = (await ops.adopt(service, "no_such_1_1", "r1")).targets[0]
    assert absent.outcome is TargetOutcome.NOT_FOUND and "not found" in absent.reason
    assert snapshot(sim, mongo_db) == before

    scoped = make_service(client, store, tmp_path, scope=Scope.reseller("r2"))
    with pytest.raises(ScopeError):
        await ops.adopt(scoped, "ghost_1_1", "r1")
    assert snapshot(sim, mongo_db) == before


# ---------------------------------------------------------------------------- reprovision
async def test_reprovision_recreates_the_instance_of_an_orphan_record(sim, store, mongo_db,
                                                                      client, tmp_path):
    seed_resellers(mongo_db)
    add_record(mongo_db, "r1", "fabio_3_3")
    summary = await ops.reprovision(make_service(client, store, tmp_path), "fabio_3_3")
    assert outcome_of(summary, "fabio_3_3") is TargetOutcome.REPROVISIONED
    assert probe_status(sim, "fabio_3_3") == "present"
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "fabio_3_3"}) == 1


async def test_reprovision_refusals(sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}, {"name": "fabio_2_2", "ghost": True}])
    add_record(mongo_db, "r1", "fabio_1_1")
    add_record(mongo_db, "r1", "fabio_2_2")
    add_record(mongo_db, "r2", "ana_3_3")
    service = make_service(client, store, tmp_path)
    before = snapshot(sim, mongo_db)
    reasons = {}
    for name in ("fabio_1_1", "fabio_2_2"):
        [target] = (await ops.reprovision(service, name)).targets
        assert target.outcome is TargetOutcome.SKIPPED
        reasons[name] = target.reason
    assert "already exists" in reasons["fabio_1_1"]
    assert "reserved" in reasons["fabio_2_2"]
    [nothing] = (await ops.reprovision(service, "no_record_1_1")).targets
    assert nothing.outcome is TargetOutcome.NOT_FOUND and "not found" in nothing.reason
    scoped = make_service(client, store, tmp_path, scope=Scope.reseller("r1"))
    [target] = (await ops.reprovision(scoped, "ana_3_3")).targets
    assert target.outcome is TargetOutcome.SKIPPED
    assert snapshot(sim, mongo_db) == before
    assert sim.stats()["requests"].get("create", 0) == 0


# ---------------------------------------------------------------------------- read-only
async def test_read_only_refuses_every_mutation_and_changes_nothing(sim, store, mongo_db,
                                                                    client, tmp_path):
    world = seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path, read_only=True)
    before = snapshot(sim, mongo_db)
    calls = [
        lambda: ops.delete(service, world["r1_linked"]),
        lambda: ops.clear_all(service, Scope.all()),
        lambda: ops.clear_all(service, Scope.reseller("r1"), orphans_only=True),
        lambda: ops.create(service, "r1"),
        lambda: ops.forget(service, world["r1_orphan_records"]),
        lambda: ops.adopt(service, "legacy-box", "r1"),
        lambda: ops.reprovision(service, "fabio_4_1700000004"),
    ]
    for call in calls:
        with pytest.raises(ReadOnlyError, match="read-only"):
            await call()
    assert snapshot(sim, mongo_db) == before
    assert not {"delete", "logout", "create"} & set(sim.stats()["requests"])
    assert audit_lines(tmp_path) == []
    # a dry run is not a mutation: allowed
    summary = await ops.clear_all(service, Scope.all(), dry_run=True)
    assert summary.dry_run and snapshot(sim, mongo_db) == before


# ---------------------------------------------------------------------------- scope guard
async def test_reseller_session_cannot_clear_another_reseller_or_all(sim, store, mongo_db,
                                                                    client, tmp_path):
    world = seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path, scope=Scope.reseller("r1"))
    before = snapshot(sim, mongo_db)
    for scope in (Scope.all(), Scope.reseller("r2")):
        with pytest.raises(ScopeError):
            await ops.clear_all(service, scope)
        with pytest.raises(ScopeError):
            await ops.plan_clear_all(service, scope)
        with pytest.raises(ScopeError):
            await ops.clear_all(service, scope, dry_run=True)
    # naming another tenant's (or nobody's) instances in a delete skips them
    summary = await ops.delete(service, world["r2_linked"] + world["unattributed"] + world["shared"])
    assert {t.outcome for t in summary.targets} == {TargetOutcome.SKIPPED}
    assert snapshot(sim, mongo_db) == before
    assert sim.stats()["requests"].get("delete", 0) == 0


# ---------------------------------------------------------------------------- audit
async def test_audit_one_line_per_mutating_operation_with_fields_and_no_secrets(
        sim, store, mongo_db, client, tmp_path, monkeypatch):
    monkeypatch.setenv("SSH_CLIENT", "203.0.113.7 52100 22")
    seed_resellers(mongo_db)
    created = sim.seed([{"name": "fabio_1_1", "state": "open"},
                        {"name": "legacy-box", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    add_record(mongo_db, "r1", "fabio_4_4")
    add_record(mongo_db, "r1", "fabio_5_5")
    mongo_uri = "mongodb://evodash:Sup3rS3cretPw@db.internal:27017/platform"
    service = make_service(client, store, tmp_path, secrets=[API_KEY, mongo_uri])

    await ops.clear_all(service, Scope.reseller("r1"), dry_run=True)  # not a mutation: no line
    await ops.delete(service, ["fabio_1_1"])
    await ops.forget(service, ["fabio_4_4"])
    await ops.reprovision(service, "fabio_5_5")
    await ops.adopt(service, "legacy-box", "r1")
    create = await ops.create(service, "r1", qr=True)
    await ops.clear_all(service, Scope.reseller("r1"))

    lines = audit_lines(tmp_path)
    assert [line["operation"] for line in lines] == [
        "delete", "forget", "reprovision", "adopt", "create", "clear-all"]
    for line in lines:
        assert {"time", "user", "ssh_client", "operation", "scope", "targets",
                "outcomes"} <= set(line)
        assert line["ssh_client"] == "203.0.113.7" and line["user"]
        assert set(line["outcomes"]) == set(line["targets"])
    assert lines[0]["outcomes"] == {"fabio_1_1": "removed"} and lines[0]["scope"] == "all"
    assert lines[4]["scope"] == "reseller:r1"
    assert lines[4]["targets"] == [create.targets[0].name]

    text = (tmp_path / "audit" / "audit.jsonl").read_text()
    assert API_KEY not in text
    for seeded in created:
        assert seeded["token"] not in text
    assert "Sup3rS3cretPw" not in text
    assert (tmp_path / "audit" / "audit.jsonl").stat().st_mode & 0o077 == 0


def test_audit_scrubs_secrets_from_free_text(tmp_path):
    uri = "mongodb://evodash:Sup3rS3cretPw@db.internal:27017/platform"
    log = AuditLog(tmp_path / "a.jsonl", secrets=[API_KEY, uri])
    summary = Summary("delete", "all", targets=[TargetResult(
        "x", TargetOutcome.FAILED, f"boom with {API_KEY} and {uri}")])
    summary.notes.append(f"apikey={API_KEY}")
    log.record(summary, reason=f"via {uri}")
    text = (tmp_path / "a.jsonl").read_text()
    assert API_KEY not in text and "Sup3rS3cretPw" not in text
    assert text.count("\n") == 1


# ---------------------------------------------------------------------------- observation
async def test_observe_unprobed_then_complete_probes_equals_observe(sim, store, mongo_db,
                                                                     client, tmp_path):
    """The dashboard's first refresh: rows first (orphan records `unknown`, probes pending),
    then the probes; the result is the one-step observation, without fetching again."""
    seed_world(sim, mongo_db)
    service = make_service(client, store, tmp_path, scope=Scope.reseller("r1"))
    await client.profile()  # the dialect is detected once per client (GET /)
    requests_before = sim.stats()["total"]
    quick = await service.observe_unprobed()
    assert sim.stats()["total"] == requests_before + 1  # fetchInstances only
    assert quick.probes_pending and quick.probes == {}
    assert {row.probe.value for row in quick.full.orphan_records} == {"unknown"}
    ghosts = listed_ghosts(sim)  # v2 lists its ghost row: that record is linked there
    assert {row.name for row in quick.view.orphan_records} == {
        "fabio_4_1700000004", "fabio_5_1700000005"} - set(ghosts)
    done = await service.complete_probes(quick)
    assert not done.probes_pending
    assert done.instances is quick.instances and done.records is quick.records
    assert sim.stats()["requests"].get("fetchInstances") == 1
    probes = {row.name: row.probe.value for row in done.view.orphan_records}
    expected = {"fabio_4_1700000004": "absent", "fabio_5_1700000005": "reserved"}
    assert probes == {n: p for n, p in expected.items() if n not in ghosts}
    assert await service.complete_probes(done) is done  # nothing pending: nothing to do
    full = await service.observe()
    assert full.view.counts == done.view.counts and full.probes == done.probes
