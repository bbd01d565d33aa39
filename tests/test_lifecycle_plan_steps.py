"""A plan is the truth: for every operation, the kinds of steps its run executes on each
target are exactly the kinds its plan named for that target (create and pair: for the plan).

Each case seeds a world where the operation goes its ordinary way, plans it as the CLI and
the dashboard do, runs it and compares the steps reported per target (`StepEvent.step`,
without the run frame's own `plan` / `done` bookkeeping) with the plan's.
"""

from __future__ import annotations

import pytest

from tests.fixtures.sim import v2_only, v18_only
from tests.test_lifecycle_support import (  # noqa: F401 - client is a fixture
    add_record,
    client,
    make_service,
    seed_resellers,
)
from tui.lifecycle.domain import OperationKind, Step, TargetOutcome
from tui.lifecycle.events import StepEvent
from tui.lifecycle.plans import (
    AdoptRequest,
    ClearAllRequest,
    CreateRequest,
    DeleteRequest,
    ForgetRequest,
    PairRequest,
    Plan,
    ReprovisionRequest,
    Request,
)
from tui.lifecycle.registry import OPERATIONS
from tui.lifecycle.scope import Scope


@pytest.fixture
def sim(dialect_sim):
    """Every test here runs on v1.8 and on v2 (`dialect_sim`), unless it says otherwise."""
    return dialect_sim

FRAME_STEPS = {Step.PLAN, Step.DONE}


async def plan_and_run(service, request: Request) -> tuple[Plan, dict[str, set[Step]], list]:
    events: list[StepEvent] = []
    plan = await service.plan(request)
    summary = await service.run(plan, sink=events.append)
    executed: dict[str, set[Step]] = {}
    for event in events:
        if event.step not in FRAME_STEPS:
            executed.setdefault(event.instance, set()).add(event.step)
    return plan, executed, summary.targets


def assert_targets_ran_their_plan(plan: Plan, executed: dict[str, set[Step]]) -> None:
    assert plan.actionable, "the case must have something to do"
    for target in plan.targets:
        planned = set(target.steps) if target.skip is None else set()
        assert executed.get(target.name, set()) == planned, (target.name, target.describe())
    assert set().union(*executed.values()) == set(plan.step_kinds())


def seed_removal_world(sim, mongo_db) -> None:
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "open"},       # linked, open: logout → delete
              {"name": "fabio_2_2", "state": "close"},      # orphan instance
              {"name": "fabio_3_3", "ghost": True}])        # a reserved name with a record
    add_record(mongo_db, "r1", "fabio_1_1")
    add_record(mongo_db, "r1", "fabio_3_3")
    add_record(mongo_db, "r1", "fabio_4_4")  # an orphan record whose name is free


@v18_only("a listed instance's removal starts with a logout on v1.8 (v2: a probe, below)")
async def test_delete_runs_exactly_the_steps_it_planned(sim, store, mongo_db, client, tmp_path):
    seed_removal_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    names = ("fabio_1_1", "fabio_2_2", "fabio_3_3", "fabio_4_4", "nothing_5_5")
    plan, executed, _ = await plan_and_run(service, DeleteRequest(names))
    assert {t.name: t.steps for t in plan.actionable} == {
        "fabio_1_1": (Step.LOGOUT, Step.DELETE, Step.VERIFY, Step.RECORD),
        "fabio_2_2": (Step.LOGOUT, Step.DELETE, Step.VERIFY),
        "fabio_3_3": (Step.PROBE, Step.DELETE, Step.VERIFY, Step.RECORD),
        "fabio_4_4": (Step.PROBE, Step.VERIFY, Step.RECORD)}
    assert_targets_ran_their_plan(plan, executed)


@v2_only("v2 needs no dialing stop: every removal starts with a probe")
async def test_v2_delete_runs_probe_delete_verify_record_as_planned(sim, store, mongo_db,
                                                                   client, tmp_path):
    seed_removal_world(sim, mongo_db)  # on v2 fabio_3_3 is a listed ghost row
    service = make_service(client, store, tmp_path)
    names = ("fabio_1_1", "fabio_2_2", "fabio_3_3", "fabio_4_4", "nothing_5_5")
    plan, executed, _ = await plan_and_run(service, DeleteRequest(names))
    assert {t.name: t.steps for t in plan.actionable} == {
        "fabio_1_1": (Step.PROBE, Step.DELETE, Step.VERIFY, Step.RECORD),
        "fabio_2_2": (Step.PROBE, Step.DELETE, Step.VERIFY),
        "fabio_3_3": (Step.PROBE, Step.DELETE, Step.VERIFY, Step.RECORD),
        "fabio_4_4": (Step.PROBE, Step.VERIFY, Step.RECORD)}
    assert_targets_ran_their_plan(plan, executed)


async def test_clear_all_runs_exactly_the_steps_it_planned(sim, store, mongo_db, client,
                                                           tmp_path):
    seed_removal_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    plan, executed, _ = await plan_and_run(service, ClearAllRequest(Scope.reseller("r1")))
    assert {t.name for t in plan.actionable} == {"fabio_1_1", "fabio_3_3", "fabio_4_4"}
    assert_targets_ran_their_plan(plan, executed)


async def test_forget_runs_exactly_the_steps_it_planned(sim, store, mongo_db, client, tmp_path):
    seed_removal_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    plan, executed, results = await plan_and_run(service, ForgetRequest(("fabio_4_4",
                                                                        "fabio_1_1")))
    assert [t.name for t in plan.actionable] == ["fabio_4_4"]
    assert plan.actionable[0].steps == (Step.PROBE, Step.RECORD)
    assert_targets_ran_their_plan(plan, executed)
    assert [r.outcome for r in results] == [TargetOutcome.FORGOTTEN, TargetOutcome.SKIPPED]


async def test_adopt_runs_exactly_the_steps_it_planned(sim, store, mongo_db, client, tmp_path):
    seed_removal_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    plan, executed, results = await plan_and_run(service, AdoptRequest("fabio_2_2", "r2"))
    assert plan.actionable[0].steps == (Step.INSERT,)
    assert "Ana" in plan.confirmation.question  # the reseller chosen, named
    assert_targets_ran_their_plan(plan, executed)
    assert results[0].outcome is TargetOutcome.ADOPTED


async def test_reprovision_runs_exactly_the_steps_it_planned(sim, store, mongo_db, client,
                                                             tmp_path):
    seed_removal_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    plan, executed, results = await plan_and_run(service, ReprovisionRequest(("fabio_4_4",)))
    assert plan.actionable[0].steps == (Step.PROBE, Step.CREATE)
    assert Step.RECORD not in plan.step_kinds()  # the record is kept
    assert_targets_ran_their_plan(plan, executed)
    assert results[0].outcome is TargetOutcome.REPROVISIONED


async def test_pair_runs_exactly_the_steps_it_planned(sim, store, mongo_db, client, tmp_path):
    seed_removal_world(sim, mongo_db)
    service = make_service(client, store, tmp_path)
    plan, executed, results = await plan_and_run(service, PairRequest("fabio_2_2"))
    # v1.8 stops any dialing first (a connect landing in `close` while it flaps starts a
    # second socket); v2 only connects
    assert plan.actionable[0].steps == ((Step.CONNECT,) if sim.dialect == "v2"
                                        else (Step.LOGOUT, Step.CONNECT))
    assert_targets_ran_their_plan(plan, executed)
    assert results[0].outcome is TargetOutcome.PAIRING


async def test_create_runs_exactly_the_steps_it_planned(sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    service = make_service(client, store, tmp_path)
    plan, executed, results = await plan_and_run(service, CreateRequest("r1"))
    assert plan.targets == [] and plan.steps == (Step.PROBE, Step.CREATE, Step.INSERT)
    [created] = results
    assert created.outcome is TargetOutcome.CREATED
    assert executed == {created.name: set(plan.steps)}


def test_every_operation_has_a_step_test():
    """Adding an operation to the registry without its step test here fails."""
    tested = {OperationKind.DELETE, OperationKind.CLEAR_ALL, OperationKind.FORGET,
              OperationKind.ADOPT, OperationKind.REPROVISION, OperationKind.PAIR,
              OperationKind.CREATE}
    assert {op.kind for op in OPERATIONS} == tested


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.kind.value)
def test_each_operation_is_registered_once_by_request_type(op):
    assert [o for o in OPERATIONS if o.request_type is op.request_type] == [op]
