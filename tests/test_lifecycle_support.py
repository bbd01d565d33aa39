"""Shared helpers of the lifecycle tests (seed data, snapshots, invariant checks), plus tests
that prove the invariant checker itself can fail.

Everything runs over real sockets: the simulator fixture (`sim`) and the nx-27017 fixture
(`store`, `mongo_db`).
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests import ops
from tests.fixtures.mongo import CONNECTIONS, RESELLERS, insert_raw
from tests.fixtures.sim import API_KEY
from tui.evolution.client import EvolutionClient
from tui.lifecycle.audit import AuditLog
from tui.lifecycle.removal import DeletePolicy
from tui.lifecycle.events import NAME_FREED, Summary, TargetOutcome
from tui.lifecycle.seen import FirstSeen
from tui.lifecycle.scope import Scope
from tui.lifecycle.service import LifecycleService

FAST = DeletePolicy(verify_timeout_s=0.6, max_attempts=2, first_poll_s=0.01, max_poll_s=0.05,
                    free_hold_s=0.4, quiet_logout_s=0.05, quiet_samples=40, dialing_logout_s=2)
FIXED_TS = 1_700_000_000

# reseller id -> display name (name base: fabio / ana / zed)
RESELLER_DOCS = [
    {"id": "r1", "name": "Fabio", "password_hash": "not-for-evodash"},
    {"id": "r2", "name": "Ana"},
    {"id": "r3", "name": "Zed"},  # a reseller without any record
]


def make_client(sim, *, timeout_s: float = 2.0, retries: int = 1, api_key: str = API_KEY
                ) -> EvolutionClient:
    return EvolutionClient(sim.url, api_key, timeout_s=timeout_s, retries=retries,
                           backoff_base_s=0.01, backoff_max_s=0.02, rng=random.Random(7))


def make_service(client, store, tmp_path: Path, *, scope: Scope | None = None,
                 policy: DeletePolicy = FAST, read_only: bool = False, concurrency: int = 4,
                 now=None, secrets: list[str] | None = None,
                 orphan_grace_s: float = 0.0, first_seen: FirstSeen | None = None
                 ) -> LifecycleService:
    kwargs: dict[str, Any] = {}
    if first_seen is not None:
        kwargs["first_seen"] = first_seen
    if now is not None:
        kwargs["now"] = now
    return LifecycleService(
        client, store, scope=scope, policy=policy, concurrency=concurrency,
        read_only=read_only, rng=random.Random(3), orphan_grace_s=orphan_grace_s,
        audit=AuditLog(tmp_path / "audit" / "audit.jsonl", secrets=secrets or [API_KEY]),
        **kwargs)


def audit_events(tmp_path: Path) -> list[dict]:
    """Every line of the write-ahead audit log (start / intent / outcome / summary)."""
    path = tmp_path / "audit" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def audit_lines(tmp_path: Path) -> list[dict]:
    """The `summary` line of each operation."""
    return [e for e in audit_events(tmp_path) if e.get("event") == "summary"]


def seed_resellers(mongo_db) -> None:
    insert_raw(mongo_db, *RESELLER_DOCS, collection=RESELLERS)


def add_record(mongo_db, reseller_id: str, name: str, **extra: Any) -> str:
    return insert_raw(mongo_db, {"id": f"rec-{reseller_id}-{name}", "reseller_id": reseller_id,
                                 "instance_name": name, "status": "disconnected", **extra})[0]


def seed_world(sim, mongo_db) -> dict[str, list[str]]:
    """A multi-tenant world:

    r1 (Fabio): linked open / connecting / close, an orphan record whose name is free,
                an orphan record whose name is reserved (ghost), an attributed orphan instance.
    r2 (Ana):   linked open + close, an orphan record, an attributed orphan instance.
    r3 (Zed):   no records at all.
    unattributed orphan instances and a shared name (records of r1 and r2).
    """
    seed_resellers(mongo_db)
    sim.seed([
        {"name": "fabio_1_1700000001", "state": "open"},
        {"name": "fabio_2_1700000002", "state": "connecting"},
        {"name": "fabio_3_1700000003", "state": "close"},
        {"name": "fabio_9_1700000009", "state": "close"},  # attributed orphan of r1
        {"name": "fabio_5_1700000005", "ghost": True},  # reserved: the record of r1 below
        {"name": "ana_1_1700000001", "state": "open"},
        {"name": "ana_2_1700000002", "state": "close"},
        {"name": "ana_9_1700000009", "state": "close"},  # attributed orphan of r2
        {"name": "zed_leftover", "state": "close"},  # no pattern: unattributed
        {"name": "legacy-box", "state": "open"},  # unattributed
        {"name": "shared_1_1700000001", "state": "close"},  # records of r1 AND r2
    ])
    for name in ("fabio_1_1700000001", "fabio_2_1700000002", "fabio_3_1700000003",
                 "fabio_4_1700000004", "fabio_5_1700000005", "shared_1_1700000001"):
        add_record(mongo_db, "r1", name)
    for name in ("ana_1_1700000001", "ana_2_1700000002", "ana_3_1700000003",
                 "shared_1_1700000001"):
        add_record(mongo_db, "r2", name)
    return {
        "r1_linked": ["fabio_1_1700000001", "fabio_2_1700000002", "fabio_3_1700000003"],
        "r1_orphan_records": ["fabio_4_1700000004", "fabio_5_1700000005"],
        "r1_attributed": ["fabio_9_1700000009"],
        "r2_linked": ["ana_1_1700000001", "ana_2_1700000002"],
        "r2_orphan_records": ["ana_3_1700000003"],
        "r2_attributed": ["ana_9_1700000009"],
        "unattributed": ["legacy-box", "zed_leftover"],
        "shared": ["shared_1_1700000001"],
    }


GHOST = "fabio_5_1700000005"  # seed_world's reserved name with a record of r1


def listed_ghosts(sim) -> list[str]:
    """seed_world's ghost where the server lists it: v2's list is its database, so its ghost
    row (no live instance) is listed with its stored status and the record is linked; v1.8
    lists memory only, and there the record is an orphan whose name is reserved."""
    return [GHOST] if sim.dialect == "v2" else []


# ---------------------------------------------------------------------------- snapshots
def snapshot(sim, mongo_db) -> dict[str, Any]:
    """Both sides as plain data: sim names (state, in_memory, persisted, orphan) and records.
    A dialing instance's state is the environment's (it flaps, or turns `connecting` when
    WhatsApp becomes reachable): it is recorded as `dialing` (a logout ends that)."""
    state = sim.state()
    if state.get("dialect") == "v2":
        instances = _v2_instances(state)
    else:
        instances = {i["name"]: ("dialing" if i.get("dialing") else i["state"], i["in_memory"],
                                 i["persisted"], i["orphan"])
                     for i in state["instances"]}
    records = {}
    for doc in mongo_db[CONNECTIONS].find():
        doc = dict(doc)
        records[str(doc.pop("_id"))] = doc
    return {"instances": instances, "records": records}


def _v2_instances(state: dict) -> dict[str, tuple]:
    """The v2 simulator's dump in the v1.8 snapshot's terms: per name (state or `dialing`,
    in memory, persisted = a database row of any client name, an orphan socket)."""
    memory = {i["name"]: i for i in state["instances"]}
    rows = {r["name"]: r for r in state["rows"]}
    orphans = set(state.get("orphan_sockets") or [])
    out = {}
    for name in sorted(set(memory) | set(rows)):
        live, row = memory.get(name), rows.get(name)
        shown = ("dialing" if live and live.get("dialing") else
                 live["state"] if live else row["connectionStatus"])
        out[name] = (shown, live is not None, row is not None, name in orphans)
    return out


def probe_status(sim, name: str) -> str:
    """absent / reserved / present, straight from the simulator over HTTP."""
    response = sim.request("GET", f"/instance/connectionState/{name}")
    if response.status_code == 404:
        return "absent"
    assert response.status_code == 200, response.text
    return "present" if "state" in response.json()["instance"] else "reserved"


def names_of(summary: Summary) -> list[str]:
    return [t.name for t in summary.targets]


def outcome_of(summary: Summary, name: str) -> TargetOutcome:
    [target] = [t for t in summary.targets if t.name == name]
    return target.outcome


def assert_invariants(sim, mongo_db, before: dict, summary: Summary, planned: list[str]) -> None:
    """The lifecycle invariants after one run.

    1. every planned target is in the summary exactly once (and nothing else is);
    2. no record was removed while its name is present or reserved, and a record is removed
       only for a target whose outcome is removed / already_absent;
    3. records of targets that were not freed are still there, and when the instance
       operation failed they are marked with evodash_last_error;
    4. nothing outside the plan was touched: other instances and records are identical.
    """
    after = snapshot(sim, mongo_db)
    reported = names_of(summary)
    assert len(reported) == len(set(reported)), f"a target reported twice: {reported}"
    assert sorted(reported) == sorted(planned), (sorted(reported), sorted(planned))
    outcomes = {t.name: t for t in summary.targets}

    for doc_id, doc in before["records"].items():
        name = doc.get("instance_name")
        if doc_id not in after["records"]:
            assert name in outcomes, f"record {doc_id} ({name}) removed but {name} not a target"
            assert outcomes[name].outcome in NAME_FREED, (name, outcomes[name])
            assert probe_status(sim, name) == "absent", f"record of {name} removed, name not free"
        elif name in outcomes and outcomes[name].outcome in (TargetOutcome.FAILED,
                                                            TargetOutcome.STUCK_RESERVED):
            kept = after["records"][doc_id]
            if outcomes[name].record_error is None and not summary.cancelled:
                assert kept.get("evodash_last_error"), f"record of {name} kept but not marked"

    for name, target in outcomes.items():
        if target.outcome not in NAME_FREED:
            for doc_id, doc in before["records"].items():
                if doc.get("instance_name") == name:
                    assert doc_id in after["records"], f"record of un-freed {name} was removed"

    untouched = set(before["instances"]) - set(planned)
    for name in untouched:
        assert after["instances"].get(name) == before["instances"][name], f"{name} was touched"
    for doc_id, doc in before["records"].items():
        if doc.get("instance_name") not in planned:
            assert after["records"].get(doc_id) == doc, f"record {doc_id} outside the plan changed"


async def assert_rerun_converges(service: LifecycleService, sim, mongo_db, scope: Scope, **kw
                                 ) -> Summary:
    """A second clear-all in the same scope handles everything left; a third has nothing."""
    before = snapshot(sim, mongo_db)
    plan = await ops.plan_clear_all(service, scope, **kw)
    second = await ops.clear_all(service, scope, plan=plan, **kw)
    assert_invariants(sim, mongo_db, before, second, [t.name for t in plan.targets])
    for target in second.targets:
        if target.outcome is TargetOutcome.SKIPPED:
            assert "cancel" not in target.reason and "not reached" not in target.reason
        else:
            assert target.outcome in NAME_FREED, (target.name, target.outcome, target.reason)
            assert target.record_error is None
    third = await ops.plan_clear_all(service, scope, **kw)
    assert third.actionable == [], [t.name for t in third.actionable]
    return second


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture
async def client(sim):
    async with make_client(sim) as connected:
        yield connected


# ---------------------------------------------------------------------------- self-tests
def _fake_summary(*pairs: tuple[str, TargetOutcome]) -> Summary:
    from tui.lifecycle.events import TargetResult

    return Summary("clear-all", "all", targets=[TargetResult(n, o) for n, o in pairs])


def test_invariant_checker_catches_removed_record_of_present_name(sim, mongo_db):
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    before = snapshot(sim, mongo_db)
    mongo_db[CONNECTIONS].delete_many({})  # the record goes, the instance stays
    with pytest.raises(AssertionError):
        assert_invariants(sim, mongo_db, before,
                          _fake_summary(("fabio_1_1", TargetOutcome.REMOVED)), ["fabio_1_1"])


def test_invariant_checker_catches_touched_outsider_and_double_report(sim, mongo_db):
    sim.seed([{"name": "a", "state": "close"}, {"name": "b", "state": "open"}])
    before = snapshot(sim, mongo_db)
    sim.request("DELETE", "/instance/delete/b")  # b is not in the plan
    with pytest.raises(AssertionError, match="touched"):
        assert_invariants(sim, mongo_db, before, _fake_summary(("a", TargetOutcome.SKIPPED)),
                          ["a"])
    with pytest.raises(AssertionError, match="twice"):
        assert_invariants(sim, mongo_db, snapshot(sim, mongo_db),
                          _fake_summary(("a", TargetOutcome.SKIPPED),
                                        ("a", TargetOutcome.SKIPPED)), ["a"])
