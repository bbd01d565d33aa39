"""RecordWatcher notices inserts and deletes, via change streams and via polling."""

from __future__ import annotations

import asyncio

import pytest

from tests.fixtures.mongo import insert_raw
from tui.store.errors import StoreUnreachableError
from tui.store.mongo import ConnectionStore
from tui.store.watch import RecordWatcher
from tui.store.wire_server import MongoWireServer

WAIT_S = 3.0


async def test_nx_supports_change_streams(store):
    assert await store.supports_change_streams() is True


async def test_change_stream_notices_insert_and_delete(store):
    async with RecordWatcher(store, poll_s=0.1) as watcher:
        assert watcher.mode == "change_stream"
        record = await store.insert_record("r-a", "alice_1")  # after start(): not missed
        inserted = await asyncio.wait_for(anext(watcher), WAIT_S)
        assert inserted.source == "change_stream"
        assert inserted.event.operation == "insert"
        assert (inserted.event.doc_id, inserted.event.instance_name) == (record.doc_id, "alice_1")

        assert await store.delete_record("alice_1", reseller_id="r-a") == 1
        deleted = await asyncio.wait_for(anext(watcher), WAIT_S)
        assert (deleted.event.operation, deleted.event.doc_id) == ("delete", record.doc_id)


async def test_change_stream_scoped_to_a_reseller(store):
    async with RecordWatcher(store, poll_s=0.1, reseller_id="r-b") as watcher:
        await store.insert_record("r-a", "alice_1")
        await store.insert_record("r-b", "bob_1")
        change = await asyncio.wait_for(anext(watcher), WAIT_S)
        assert change.event.instance_name == "bob_1"


async def test_polling_notices_insert_delete_and_status_change(store, mongo_db):
    async with RecordWatcher(store, use_change_streams=False, poll_s=0.05) as watcher:
        assert watcher.mode == "polling"
        await store.insert_record("r-a", "alice_1")
        assert (await asyncio.wait_for(anext(watcher), WAIT_S)).source == "polling"

        await store.delete_record("alice_1", reseller_id="r-a")
        assert (await asyncio.wait_for(anext(watcher), WAIT_S)).event is None

        insert_raw(mongo_db, {"_id": "x", "instance_name": "bob_1", "status": "close"})
        await asyncio.wait_for(anext(watcher), WAIT_S)
        mongo_db.whatsapp_connections.update_one({"_id": "x"}, {"$set": {"status": "open"}})
        await asyncio.wait_for(anext(watcher), WAIT_S)


async def test_polling_is_quiet_without_changes(store):
    await store.insert_record("r-a", "alice_1")
    async with RecordWatcher(store, use_change_streams=False, poll_s=0.02) as watcher:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(watcher), 0.2)


@pytest.mark.parametrize("use_change_streams", [True, False])
async def test_watcher_raises_store_error_when_the_server_goes_away(use_change_streams):
    with MongoWireServer() as server:
        store = ConnectionStore(server.uri, "db", timeout_ms=300)
        watcher = RecordWatcher(store, use_change_streams=use_change_streams, poll_s=0.05)
        await watcher.start()
        server.stop()
        with pytest.raises(StoreUnreachableError):
            await asyncio.wait_for(anext(watcher), WAIT_S)
        await watcher.close()
        store.close()
