"""ConnectionStore reads and writes against a real nx-27017 server over TCP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from tests.fixtures.mongo import RESELLERS, insert_raw
from tui.store.errors import StoreScopeError, StoreWriteError
from tui.store.models import ConnectionRecord
from tui.store.mongo import ConnectionStore, parse_connection


def names(records: list[ConnectionRecord]) -> list[str]:
    return sorted(r.instance_name for r in records)


async def seed(store: ConnectionStore, mongo_db) -> None:
    insert_raw(
        mongo_db,
        {"id": "r-a", "name": "Alice", "password_hash": "x"},
        {"id": "r-b", "name": "Bob"},
        collection=RESELLERS,
    )
    await store.insert_record("r-a", "alice_1", phone_number="5511999990001")
    await store.insert_record("r-a", "shared", daily_limit=50)
    await store.insert_record("r-b", "bob_1")
    await store.insert_record("r-b", "shared")


async def test_load_all_and_by_reseller(store, mongo_db):
    await seed(store, mongo_db)

    snapshot = await store.load()
    assert names(snapshot.records) == ["alice_1", "bob_1", "shared", "shared"]
    assert snapshot.invalid == []
    assert sorted((r.id, r.name) for r in snapshot.resellers) == [("r-a", "Alice"), ("r-b", "Bob")]

    only_a = await store.load(reseller_id="r-a")
    assert names(only_a.records) == ["alice_1", "shared"]
    assert {r.reseller_id for r in only_a.records} == {"r-a"}
    assert [r.id for r in only_a.resellers] == ["r-a"]

    records, invalid = await store.list_records("r-b")
    assert names(records) == ["bob_1", "shared"] and invalid == []
    assert await store.get_reseller("r-b") == (await store.list_resellers())[1]
    assert await store.get_reseller("nobody") is None


async def test_insert_record_like_the_platform(store, mongo_db):
    before = datetime.now(UTC)
    record = await store.insert_record(
        "r-a", "alice_7", phone_number="5511", daily_limit=30, extra={"webhook": "w"}
    )
    raw = mongo_db.whatsapp_connections.find_one({"instance_name": "alice_7"})
    assert raw["id"] == record.id and len(record.id) == 36
    assert raw["reseller_id"] == "r-a" and raw["status"] == "disconnected"
    assert raw["daily_limit"] == 30 and raw["webhook"] == "w"
    assert record.doc_id == str(raw["_id"])
    assert record.created_at is not None and record.created_at >= before - timedelta(seconds=1)
    assert record.extra == {"webhook": "w"}
    assert await store.find_records("alice_7") == [record]  # created_at kept to the ms


async def test_insert_rejects_bad_input(store):
    with pytest.raises(StoreScopeError):
        await store.insert_record("", "x")
    with pytest.raises(StoreScopeError):
        await store.insert_record("r-a", "  ")
    with pytest.raises(ValueError, match="instance_name"):
        await store.insert_record("r-a", "x", extra={"instance_name": "y"})
    with pytest.raises(StoreWriteError, match="cannot store the document while inserting"):
        await store.insert_record("r-a", "x", extra={"blob": object()})
    assert await store.find_records("x") == []


async def test_delete_is_scoped_to_the_reseller(store, mongo_db):
    await seed(store, mongo_db)

    assert await store.delete_record("shared", reseller_id="r-a") == 1
    left = await store.find_records("shared")
    assert [r.reseller_id for r in left] == ["r-b"]  # B's same-named record untouched
    assert await store.delete_record("shared", reseller_id="r-a") == 0
    assert await store.delete_record("alice_1", reseller_id="r-b") == 0  # not B's
    assert names((await store.list_records())[0]) == ["alice_1", "bob_1", "shared"]


async def test_delete_admin_scope_and_doc_id(store, mongo_db):
    await seed(store, mongo_db)
    b_shared = (await store.find_records("shared", reseller_id="r-b"))[0]

    assert await store.delete_record("shared", reseller_id=None, doc_id=b_shared.doc_id) == 1
    assert [r.reseller_id for r in await store.find_records("shared")] == ["r-a"]
    assert await store.delete_record("shared", reseller_id=None) == 1
    assert await store.find_records("shared") == []
    assert names((await store.list_records())[0]) == ["alice_1", "bob_1"]


async def test_delete_requires_an_explicit_scope(store, mongo_db):
    await seed(store, mongo_db)
    with pytest.raises(TypeError):
        await store.delete_record("shared")  # type: ignore[call-arg]
    with pytest.raises(StoreScopeError):
        await store.delete_record("shared", reseller_id="")
    with pytest.raises(StoreScopeError):
        await store.delete_record("", reseller_id=None)
    assert len((await store.list_records())[0]) == 4


async def test_delete_by_string_and_objectid_ids(store, mongo_db):
    oid = ObjectId()
    insert_raw(
        mongo_db,
        {"_id": oid, "instance_name": "dup", "reseller_id": "r-a"},
        {"_id": "custom-id", "instance_name": "dup", "reseller_id": "r-a"},
    )
    assert await store.delete_record("dup", reseller_id="r-a", doc_id=str(oid)) == 1
    assert [r.doc_id for r in await store.find_records("dup")] == ["custom-id"]
    assert await store.delete_record("dup", reseller_id="r-a", doc_id="custom-id") == 1


async def test_count_by_reseller(store, mongo_db):
    await seed(store, mongo_db)
    insert_raw(mongo_db, {"instance_name": "orphan"}, {"reseller_id": "r-b"})
    assert await store.count_by_reseller() == {"r-a": 2, "r-b": 3, "": 1}


async def test_invalid_rows_and_tolerated_shapes(store, mongo_db):
    created = datetime(2025, 1, 23, 12, 0, tzinfo=UTC)
    ids = insert_raw(
        mongo_db,
        {"reseller_id": "r-a", "status": "open"},
        {"_id": "s1", "instance_name": 42, "reseller_id": "r-a"},
        {"instance_name": None},
        {"instance_name": ""},
        {"instance_name": "iso", "created_at": "2025-01-23T12:00:00Z", "daily_limit": "100"},
        {"instance_name": "naive", "created_at": datetime(2025, 1, 23, 12, 0)},
        {"instance_name": "bare"},
        {"instance_name": "odd", "daily_limit": "lots", "created_at": "yesterday",
         "phone_number": 5511999, "qrcode": {"base64": "..."}, "evodash_mark": True},
    )  # fmt: skip
    records, invalid = await store.list_records()

    assert [(row.doc_id, row.reason, row.reseller_id) for row in invalid] == [
        (ids[0], "instance_name is missing", "r-a"),
        ("s1", "instance_name is int, not a string", "r-a"),
        (ids[2], "instance_name is null, not a string", None),
        (ids[3], "instance_name is empty", None),
    ]
    by_name = {r.instance_name: r for r in records}
    assert by_name["iso"].created_at == created and by_name["iso"].daily_limit == 100
    assert by_name["naive"].created_at == created
    bare = by_name["bare"]
    assert (bare.created_at, bare.daily_limit, bare.status, bare.reseller_id) == (None,) * 4
    odd = by_name["odd"]
    assert odd.daily_limit is None and odd.created_at is None and odd.phone_number == "5511999"
    assert odd.extra == {
        "daily_limit": "lots",
        "created_at": "yesterday",
        "qrcode": {"base64": "..."},
        "evodash_mark": True,
    }


def test_parse_connection_without_server():
    assert parse_connection({"_id": 1, "instance_name": ["a"]}).reason == (
        "instance_name is array, not a string"
    )
    record = parse_connection({"_id": ObjectId(), "instance_name": "x", "daily_limit": 7.0})
    assert record.daily_limit == 7 and record.extra == {}


async def test_mark_record(store, mongo_db):
    record = await store.insert_record("r-a", "stuck")
    when = datetime(2025, 2, 1, tzinfo=UTC)
    assert await store.mark_record(
        record.doc_id, evodash_last_error="delete failed: 500", evodash_marked_at=when
    ) == 1
    (again,) = await store.find_records("stuck")
    assert again.extra["evodash_last_error"] == "delete failed: 500"
    assert again.extra["evodash_marked_at"] == "2025-02-01T00:00:00+00:00"
    assert await store.mark_record("no-such-doc", evodash_last_error="x") == 0
    with pytest.raises(ValueError):
        await store.mark_record(record.doc_id, instance_name="renamed")
    with pytest.raises(ValueError):
        await store.mark_record(record.doc_id)


async def test_from_settings_repr_and_ping(store_settings):
    store = ConnectionStore.from_settings(store_settings, timeout_ms=1000)
    async with store:
        await store.ping()
        assert store_settings.database in repr(store)
    masked = ConnectionStore("mongodb://bob:hunter22@127.0.0.1:1", "db")
    assert "hunter22" not in repr(masked) and "bob:****@127.0.0.1:1" in repr(masked)
    masked.close()
