"""The store's calls for several names or records at once (claims, releases, record deletes),
against a real nx-27017 server: each answers per name / record exactly what the one-by-one
call answers."""

from __future__ import annotations

import time

from bson import ObjectId

from tests.fixtures.mongo import CONNECTIONS
from tui.store.models import RecordRemoval
from tui.store.mongo import CLAIMS_COLLECTION

ME, OTHER = "host:1:me", "host:2:other"


async def test_claim_many_claims_the_free_names_and_names_each_holder(store, mongo_db):
    mongo_db[CLAIMS_COLLECTION].insert_many([
        {"_id": "held", "owner": OTHER, "at": time.time()},
        {"_id": "stale", "owner": OTHER, "at": time.time() - 3600},
        {"_id": "mine", "owner": ME, "at": time.time()},
    ])
    answers = await store.claim_many(["a", "held", "b", "stale", "mine", "a"], ME, 60)
    assert answers == {"a": None, "held": OTHER, "b": None, "stale": None, "mine": None}
    owners = {d["_id"]: d["owner"] for d in mongo_db[CLAIMS_COLLECTION].find()}
    assert owners == {"a": ME, "b": ME, "held": OTHER, "stale": ME, "mine": ME}


async def test_claim_many_of_one_name_is_claim(store, mongo_db):
    assert await store.claim_many(["solo"], ME, 60) == {"solo": None}
    assert await store.claim_many(["solo"], OTHER, 60) == {"solo": ME}


async def test_release_many_releases_only_the_owners_claims(store, mongo_db):
    await store.claim_many(["a", "b"], ME, 60)
    await store.claim_many(["c"], OTHER, 60)
    await store.release_many(["a", "b", "c", "never"], ME)
    assert [d["_id"] for d in mongo_db[CLAIMS_COLLECTION].find()] == ["c"]
    await store.release_many(["c"], ME)  # one name: `release`, the owner checked the same
    assert mongo_db[CLAIMS_COLLECTION].count_documents({}) == 1


async def test_delete_records_says_what_became_of_each(store, mongo_db):
    ours = [await store.insert_record("r-a", f"n{i}") for i in range(4)]
    theirs = await store.insert_record("r-b", "n9")
    gone = await store.insert_record("r-a", "n5")
    await store.delete_record("n5", reseller_id=None, doc_id=gone.doc_id)
    # a record whose _id is a string (not an ObjectId) is matched too
    mongo_db[CONNECTIONS].insert_one({"_id": "custom-1", "instance_name": "n6",
                                      "reseller_id": "r-a"})
    wanted = [(r.instance_name, r.doc_id) for r in ours] + [("n6", "custom-1")]

    assert await store.delete_records(wanted[:2], reseller_id="r-a") == {
        ours[0].doc_id: RecordRemoval.REMOVED, ours[1].doc_id: RecordRemoval.REMOVED}
    fates = await store.delete_records(wanted[2:] + [("n9", theirs.doc_id)], reseller_id="r-a")
    assert fates == {ours[2].doc_id: RecordRemoval.REMOVED,
                     ours[3].doc_id: RecordRemoval.REMOVED,
                     "custom-1": RecordRemoval.REMOVED,
                     theirs.doc_id: RecordRemoval.OUT_OF_SCOPE}  # another reseller's: kept
    assert [d["instance_name"] for d in mongo_db[CONNECTIONS].find()] == ["n9"]
    assert await store.delete_records([("n5", gone.doc_id), ("n0", ours[0].doc_id)],
                                      reseller_id=None) == {
        gone.doc_id: RecordRemoval.GONE, ours[0].doc_id: RecordRemoval.GONE}


async def test_delete_records_with_gone_and_removed_ones_cannot_say_which(store, mongo_db):
    """Some records were gone before the call, some it deleted: a delete of several counts
    them only together, so each gone one is UNSURE (never a REMOVED that was not)."""
    records = [await store.insert_record("r-a", f"m{i}") for i in range(3)]
    await store.delete_record("m1", reseller_id=None, doc_id=records[1].doc_id)
    fates = await store.delete_records([(r.instance_name, r.doc_id) for r in records],
                                       reseller_id=None)
    assert fates == dict.fromkeys((r.doc_id for r in records), RecordRemoval.UNSURE)
    assert mongo_db[CONNECTIONS].count_documents({}) == 0
    assert await store.delete_records([], reseller_id=None) == {}


async def test_delete_records_matches_name_and_id_together(store, mongo_db):
    """A record renamed since it was read is not deleted under its old name, even when its
    new name is another record's of the same call (each statement is exact)."""
    first = await store.insert_record("r-a", "one")
    second = await store.insert_record("r-a", "two")
    mongo_db[CONNECTIONS].update_one({"_id": ObjectId(first.doc_id)},
                                     {"$set": {"instance_name": "two"}})
    fates = await store.delete_records([("one", first.doc_id), ("two", second.doc_id)],
                                       reseller_id=None)
    assert fates == {first.doc_id: RecordRemoval.OUT_OF_SCOPE,
                     second.doc_id: RecordRemoval.REMOVED}
    assert [d["_id"] for d in mongo_db[CONNECTIONS].find()] == [ObjectId(first.doc_id)]


async def test_delete_records_cannot_tell_whose_delete_when_fewer_went(store, mongo_db,
                                                                       monkeypatch):
    """One of two records deleted by someone else between the call's delete and its count:
    both are gone, one by this call - which one cannot be told, and it says so."""
    records = [await store.insert_record("r-a", f"u{i}") for i in range(2)]
    real = store._connections.bulk_write

    async def racing(requests, **kwargs):
        result = await real(requests[:1], **kwargs)  # this call deletes the first ...
        mongo_db[CONNECTIONS].delete_one({"_id": ObjectId(records[1].doc_id)})  # ... else
        return result

    monkeypatch.setattr(store._connections, "bulk_write", racing)
    fates = await store.delete_records([(r.instance_name, r.doc_id) for r in records],
                                       reseller_id="r-a")
    assert fates == dict.fromkeys((r.doc_id for r in records), RecordRemoval.UNSURE)
