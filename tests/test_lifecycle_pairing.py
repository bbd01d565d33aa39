"""Pairing through the service: the QR code of an instance that is not `open` (its socket is
started), the server's QR rotation followed by asking again, the pairing code for a number,
`open` once the phone scanned it; refused in read-only mode, outside the scope, and for a
name that is no instance."""

from __future__ import annotations

import asyncio

import pytest

from tests.test_lifecycle_support import (  # noqa: F401 - client is a fixture
    add_record,
    client,
    make_service,
    seed_resellers,
)
from tui.evolution.models import InstanceState
from tui.lifecycle.scope import LifecycleError, ReadOnlyError, Scope


@pytest.fixture
def sim(dialect_sim):
    """Every test here runs on v1.8 and on v2 (`dialect_sim`), unless it says otherwise."""
    return dialect_sim


async def test_pairing_shows_a_fresh_qr_until_the_instance_is_open(sim, store, mongo_db,
                                                                   client, tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1700000001", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1700000001")
    sim.faults(qr_rotate_s=0.5)  # the second ask comes well within it, even on a busy machine
    service = make_service(client, store, tmp_path)
    first = await service.pair("fabio_1_1700000001")
    assert first.state is InstanceState.CONNECTING and first.code and not first.paired
    again = await service.pair("fabio_1_1700000001")
    assert again.code == first.code  # not rotated yet
    await asyncio.sleep(0.55)
    rotated = await service.pair("fabio_1_1700000001")
    assert rotated.code != first.code and rotated.count > first.count
    with_number = await service.pair("fabio_1_1700000001", number="5511999990000")
    assert with_number.pairing_code
    sim.seed([{"name": "fabio_1_1700000001", "state": "open"}])  # the phone scanned it
    assert (await service.pair("fabio_1_1700000001")).paired
    assert await service.pairing_state("fabio_1_1700000001") is InstanceState.OPEN


async def test_pairing_is_refused_where_it_must_be(sim, store, mongo_db, client, tmp_path):
    seed_resellers(mongo_db)
    sim.seed([{"name": "ana_1_1700000001", "state": "close"},
              {"name": "ghost_1_1", "ghost": True}])
    add_record(mongo_db, "r2", "ana_1_1700000001")
    add_record(mongo_db, "r1", "fabio_4_1700000004")  # an orphan record: no instance
    with pytest.raises(ReadOnlyError):
        await make_service(client, store, tmp_path, read_only=True).pair("ana_1_1700000001")
    scoped = make_service(client, store, tmp_path, scope=Scope.reseller("r1"))
    with pytest.raises(LifecycleError, match="outside scope"):
        await scoped.pair("ana_1_1700000001")
    service = make_service(client, store, tmp_path)
    with pytest.raises(LifecycleError, match="not an Evolution instance"):
        await service.pair("fabio_4_1700000004")
    with pytest.raises(LifecycleError, match="reserved"):
        await service.pair("ghost_1_1")
    assert sim.stats()["requests"].get("connect", 0) == 0
