"""The connection store: async reads and scoped writes of the platform's MongoDB (motor).

Owns the motor client, the parsing of raw connection documents into `ConnectionRecord` /
`InvalidRow` (tolerant of extra, missing and oddly-typed fields), tenant-scoped deletes, and
the translation of every pymongo failure into a one-line `StoreError` (see `errors.py`).
Change notifications live in `watch.py`. Nothing here depends on which server it talks to
(MongoDB standalone, replica set, Atlas or nx-27017).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from bson.errors import BSONError
from motor.motor_asyncio import AsyncIOMotorChangeStream, AsyncIOMotorClient
from pymongo import DeleteMany
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, PyMongoError

from tui.secrets import mask_uri
from tui.store.errors import AUTH_FAILED, StoreError, StoreScopeError, from_pymongo
from tui.store.models import ConnectionRecord, InvalidRow, RecordRemoval, Reseller

# StoreSnapshot lives in models.py (the lifecycle's ports must not depend on this motor
# adapter); re-exported here (explicitly, for mypy) for callers still importing it from here
from tui.store.models import StoreSnapshot as StoreSnapshot

_STRING_FIELDS = ("id", "reseller_id", "phone_number", "status")
_KNOWN_FIELDS = {"_id", "instance_name", "daily_limit", "created_at", *_STRING_FIELDS}
_IDENTITY_FIELDS = {"_id", "id", "instance_name", "reseller_id"}
_MISSING = object()


@dataclass(frozen=True)
class ChangeEvent:
    """One change-stream event on the connections collection.

    `instance_name` / `reseller_id` come from the full document when the server sends one
    (MongoDB sends none for deletes without pre-images; nx-27017 does).
    """

    operation: str  # insert | update | replace | delete | drop | invalidate | ...
    doc_id: str | None = None
    instance_name: str | None = None
    reseller_id: str | None = None

    @classmethod
    def from_change(cls, change: dict[str, Any]) -> ChangeEvent:
        key = change.get("documentKey") or {}
        full = change.get("fullDocument") or {}
        name = full.get("instance_name")
        return cls(
            operation=str(change.get("operationType", "unknown")),
            doc_id=str(key["_id"]) if "_id" in key else None,
            instance_name=name if isinstance(name, str) else None,
            reseller_id=_as_str(full.get("reseller_id")),
        )


# -- document parsing ------------------------------------------------------------------------
def _as_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | ObjectId | uuid.UUID):
        return str(value)
    raise TypeError


def _as_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, str) and not value.strip():
        return None
    raise TypeError


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip())  # ValueError when unparsable
    if not isinstance(value, datetime):
        raise TypeError
    return value if value.tzinfo else value.replace(tzinfo=UTC)


#: Documents per batch when every record is read: far fewer round trips than the driver's
#: default (a first batch of 101); the server still caps a batch at 16 MB.
LIST_BATCH = 10_000

#: (field, converter) of every known field but `_id` and `instance_name`, in model order.
_CONVERTERS = (("id", _as_str), ("reseller_id", _as_str), ("phone_number", _as_str),
               ("status", _as_str), ("daily_limit", _as_int), ("created_at", _as_datetime))


def _type_name(value: Any) -> str:
    return {type(None): "null", str: "string", int: "int", float: "float", bool: "bool",
            dict: "object", list: "array"}.get(type(value), type(value).__name__)  # fmt: skip


def parse_connection(doc: dict[str, Any]) -> ConnectionRecord | InvalidRow:
    """One raw connections document → a record, or an InvalidRow saying why it is unusable.

    Fields that cannot be coerced (e.g. `daily_limit: "lots"`) become None and their raw
    value is kept in `extra` under the same key; unknown fields go to `extra` as they are.
    Every value is converted and checked here, so the record is built without pydantic's
    second validation (`model_construct`: a third of the load time at 10,000 records).
    """
    doc_id = str(doc.get("_id"))
    values: dict[str, Any] = {}
    extra = {k: v for k, v in doc.items() if k not in _KNOWN_FIELDS}
    for name, convert in _CONVERTERS:
        value = doc.get(name)
        if value is None or type(value) is str and convert is _as_str:
            values[name] = value  # the common case, decided without a call
            continue
        try:
            values[name] = convert(value)
        except (TypeError, ValueError):
            values[name] = None
            extra[name] = doc[name]

    name = doc.get("instance_name", _MISSING)
    reason = None
    if name is _MISSING:
        reason = "instance_name is missing"
    elif not isinstance(name, str):
        reason = f"instance_name is {_type_name(name)}, not a string"
    elif not name.strip():
        reason = "instance_name is empty"
    if reason:
        return InvalidRow(doc_id=doc_id, reason=reason, reseller_id=values["reseller_id"])
    return ConnectionRecord.model_construct(doc_id=doc_id, instance_name=name, extra=extra,
                                            **values)


def _now_ms() -> datetime:
    """Now in UTC, truncated to what BSON stores (milliseconds)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _id_filter(doc_id: str) -> dict[str, Any]:
    """Match `_id` whether the platform stored it as an ObjectId or as a string."""
    if ObjectId.is_valid(doc_id):
        return {"_id": {"$in": [ObjectId(doc_id), doc_id]}}
    return {"_id": doc_id}


def _ids_filter(doc_ids: list[str]) -> dict[str, Any]:
    """`_id_filter` for several ids at once."""
    values: list[Any] = []
    for doc_id in doc_ids:
        values += [ObjectId(doc_id), doc_id] if ObjectId.is_valid(doc_id) else [doc_id]
    return {"_id": {"$in": values}}


_INT64 = 2 ** 63
CLAIMS_COLLECTION = "evodash_claims"


#: A value `reseller_id` may be stored as (see `reseller_filter`).
ResellerIdValue = str | ObjectId | int


def reseller_filter(reseller_id: str) -> ResellerIdValue | dict[str, list[ResellerIdValue]]:
    """Match `reseller_id` whatever type the platform stored it as: the string, and the
    ObjectId or the integer that string spells (real MongoDB compares by type: an ObjectId
    never equals its hex string, an int never equals a string). Records are read with
    `reseller_id` as a string, so every read, count and delete must use this filter."""
    values: list[ResellerIdValue] = [reseller_id]
    if ObjectId.is_valid(reseller_id):
        values.append(ObjectId(reseller_id))
    text = reseller_id.strip()
    if text.lstrip("-").isdigit() and text == str(int(text)) and -_INT64 <= int(text) < _INT64:
        values.append(int(text))
    return values[0] if len(values) == 1 else {"$in": values}


def _check_reseller(reseller_id: str | None) -> None:
    if reseller_id is not None and (not isinstance(reseller_id, str) or not reseller_id.strip()):
        raise StoreScopeError(
            f"reseller_id must be a non-empty string or None (all resellers), got {reseller_id!r}"
        )


def _check_name(instance_name: str) -> None:
    if not isinstance(instance_name, str) or not instance_name.strip():
        raise StoreScopeError(f"instance_name must be a non-empty string, got {instance_name!r}")


# -- the store -------------------------------------------------------------------------------
class ConnectionStore:
    """Async access to the connections and resellers collections of one database."""

    def __init__(
        self,
        uri: str,
        database: str,
        connections_collection: str = "whatsapp_connections",
        resellers_collection: str = "resellers",
        *,
        timeout_ms: int = 5000,
    ) -> None:
        self._uri = uri
        self.database_name = database
        self.timeout_ms = timeout_ms
        try:
            self._client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
                uri,
                serverSelectionTimeoutMS=timeout_ms,
                connectTimeoutMS=timeout_ms,
                socketTimeoutMS=max(timeout_ms, 2000),
                tz_aware=True,
                appname="evodash",
            )
        except (PyMongoError, ValueError, TypeError) as exc:
            raise from_pymongo(exc, uri=uri) from None
        try:
            db = self._client[database]
            self._connections = db[connections_collection]
            self._resellers = db[resellers_collection]
            # names being worked on by a run of evodash (`claim`): one small document each,
            # removed when the target is done (see README "Safety")
            self._claims = db[CLAIMS_COLLECTION]
        except PyMongoError as exc:  # InvalidName
            self._client.close()
            raise StoreError(f"invalid database or collection name: {exc}") from None

    @classmethod
    def from_settings(cls, mongo: Any, **kwargs: Any) -> ConnectionStore:
        """Build from a settings object with `.uri` (SecretStr or str), `.database`, ..."""
        uri = mongo.uri.get_secret_value() if hasattr(mongo.uri, "get_secret_value") else mongo.uri
        return cls(
            uri,
            mongo.database,
            mongo.connections_collection,
            mongo.resellers_collection,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"ConnectionStore({mask_uri(self._uri)}, database={self.database_name!r})"

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Translate pymongo failures raised inside the block into StoreError."""
        try:
            yield
        except (PyMongoError, BSONError) as exc:
            raise from_pymongo(exc, uri=self._uri, action=action) from None

    async def ping(self) -> None:
        """Raise StoreError unless the server answers."""
        with self.errors("pinging"):
            await self._client.admin.command("ping")

    def close(self) -> None:
        self._client.close()

    async def __aenter__(self) -> ConnectionStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    # -- reads ---------------------------------------------------------------------------
    async def list_records(
        self, reseller_id: str | None = None
    ) -> tuple[list[ConnectionRecord], list[InvalidRow]]:
        """All connection documents (or one reseller's), split into usable and invalid."""
        _check_reseller(reseller_id)
        query = {} if reseller_id is None else {"reseller_id": reseller_filter(reseller_id)}
        with self.errors("reading connections"):
            docs = await self._connections.find(query).batch_size(LIST_BATCH).to_list(None)
        return _split(parse_connection(doc) for doc in docs)

    async def find_records(
        self, instance_name: str, reseller_id: str | None = None
    ) -> list[ConnectionRecord]:
        """Records with this exact instance name (there may be several), optionally scoped."""
        _check_reseller(reseller_id)
        query: dict[str, Any] = {"instance_name": instance_name}
        if reseller_id is not None:
            query["reseller_id"] = reseller_filter(reseller_id)
        with self.errors("reading connections"):
            docs = await self._connections.find(query).to_list(None)
        return _split(parse_connection(doc) for doc in docs)[0]

    async def find_records_named(self, names: list[str]) -> list[ConnectionRecord]:
        """Records whose instance name is one of `names` (any reseller): one query."""
        if not names:
            return []
        with self.errors("reading connections"):
            docs = await self._connections.find(
                {"instance_name": {"$in": list(names)}}).batch_size(LIST_BATCH).to_list(None)
        return _split(parse_connection(doc) for doc in docs)[0]

    async def list_resellers(self) -> list[Reseller]:
        """All resellers (only `id` and `name` are read: that collection holds credentials)."""
        with self.errors("reading resellers"):
            docs = await self._resellers.find({}, {"id": 1, "name": 1}).to_list(None)
        return [_reseller(doc) for doc in docs]

    async def get_reseller(self, reseller_id: str) -> Reseller | None:
        _check_reseller(reseller_id)
        with self.errors("reading resellers"):
            # the id as a string, or as the integer it spells; an ObjectId is looked up as
            # `_id` below (nx-27017, the test server, cannot match an ObjectId in a field
            # named `id`; real MongoDB can, and no platform stores reseller ids that way)
            wanted = reseller_filter(reseller_id)
            values = [v for v in (wanted["$in"] if isinstance(wanted, dict) else [wanted])
                      if not isinstance(v, ObjectId)]
            docs = await self._resellers.find({"id": {"$in": values}},
                                              {"id": 1, "name": 1}).to_list(None)
            doc = docs[0] if docs else None
            if doc is None and ObjectId.is_valid(reseller_id):
                doc = await self._resellers.find_one(_id_filter(reseller_id), {"id": 1, "name": 1})
        return _reseller(doc) if doc else None

    async def load(self, reseller_id: str | None = None) -> StoreSnapshot:
        """Records, invalid rows and resellers; only one reseller's when `reseller_id` is set."""
        if reseller_id is None:
            (records, invalid), resellers = await asyncio.gather(
                self.list_records(), self.list_resellers()
            )
        else:
            (records, invalid), reseller = await asyncio.gather(
                self.list_records(reseller_id), self.get_reseller(reseller_id)
            )
            resellers = [reseller] if reseller else []
        return StoreSnapshot(records=records, invalid=invalid, resellers=resellers)

    async def count_by_reseller(self) -> dict[str, int]:
        """Number of connection documents per reseller_id ('' for documents without one)."""
        pipeline = [{"$group": {"_id": "$reseller_id", "n": {"$sum": 1}}}]
        with self.errors("counting connections"):
            rows = await self._connections.aggregate(pipeline).to_list(None)
        counts: dict[str, int] = {}
        for row in rows:
            key = "" if row["_id"] is None else str(row["_id"])
            counts[key] = counts.get(key, 0) + int(row["n"])
        return counts

    async def fingerprint(self, reseller_id: str | None = None) -> int:
        """A cheap hash of (doc_id, instance_name, reseller_id, status) of every record.

        Equal fingerprints mean "nothing the dashboard shows has changed" (within a process).
        """
        _check_reseller(reseller_id)
        query = {} if reseller_id is None else {"reseller_id": reseller_filter(reseller_id)}
        projection = {"instance_name": 1, "reseller_id": 1, "status": 1}
        with self.errors("reading connections"):
            cursor = self._connections.find(query, projection).batch_size(LIST_BATCH)
            docs = await cursor.to_list(None)
        rows = sorted(
            repr((str(d.get("_id")), d.get("instance_name"), d.get("reseller_id"), d.get("status")))
            for d in docs
        )
        return hash(tuple(rows))

    # -- writes --------------------------------------------------------------------------
    async def insert_record(
        self,
        reseller_id: str,
        instance_name: str,
        *,
        phone_number: str | None = None,
        status: str = "disconnected",
        daily_limit: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> ConnectionRecord:
        """Insert a record the way the platform does (uuid4 `id`, `created_at` = now UTC)."""
        if reseller_id is None:
            raise StoreScopeError("a new record needs a reseller_id")
        _check_reseller(reseller_id)
        _check_name(instance_name)
        clash = sorted(set(extra or {}) & _KNOWN_FIELDS)
        if clash:
            raise ValueError(f"extra must not set record fields: {', '.join(clash)}")
        doc: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "reseller_id": reseller_id,
            "instance_name": instance_name,
            "phone_number": phone_number,
            "status": status,
            "daily_limit": daily_limit,
            "created_at": _now_ms(),
            **(extra or {}),
        }
        with self.errors(f"inserting record {instance_name!r}"):
            result = await self._connections.insert_one(doc)
        doc["_id"] = result.inserted_id
        record = parse_connection(doc)
        assert isinstance(record, ConnectionRecord)
        return record

    async def delete_record(
        self, instance_name: str, *, reseller_id: str | None, doc_id: str | None = None
    ) -> int:
        """Delete records named `instance_name` within a scope; returns how many were deleted.

        `reseller_id` is required and keyword-only: a reseller's id limits the delete to that
        tenant; None means the admin scope (all resellers) and must be written out explicitly.
        `doc_id` narrows the delete to one document.
        """
        _check_reseller(reseller_id)
        _check_name(instance_name)
        query: dict[str, Any] = {"instance_name": instance_name}
        if reseller_id is not None:
            query["reseller_id"] = reseller_filter(reseller_id)
        if doc_id is not None:
            query |= _id_filter(doc_id)
        with self.errors(f"deleting record {instance_name!r}"):
            result = await self._connections.delete_many(query)
            if result.deleted_count == 0 and doc_id is not None:
                # "already gone" only when it really is: a record the filter missed (a type
                # the scope did not expect, a changed field) is still there
                still = await self._connections.find_one(_id_filter(doc_id), {"_id": 1})
                if still is not None:
                    raise StoreError(f"record {doc_id} of {instance_name!r} was not removed: "
                                     "it no longer matches the scope it was planned in")
        return result.deleted_count

    async def delete_records(self, records: list[tuple[str, str]], *, reseller_id: str | None
                             ) -> dict[str, RecordRemoval]:
        """Delete several records, each (instance name, doc id), within a scope (as
        `delete_record` with a `doc_id`), in one round trip when all of them go; doc id ->
        what became of it. When fewer went than asked, the rest are looked up: one still
        there no longer matches the scope (OUT_OF_SCOPE); the gone ones were all deleted
        here (REMOVED) when their number matches, none (GONE) when nothing was deleted, else
        some were gone before and which cannot be told (UNSURE: a delete of several counts
        them only together)."""
        _check_reseller(reseller_id)
        for name, _ in records:
            _check_name(name)
        if not records:
            return {}
        scope = {} if reseller_id is None else {"reseller_id": reseller_filter(reseller_id)}
        # one statement per record, each as exact as `delete_record`'s, in one command (an
        # `$or` of them costs the wire server a scan of the collection per clause)
        deletes = [DeleteMany({"instance_name": name, **_id_filter(doc_id), **scope})
                   for name, doc_id in records]
        ids = [doc_id for _, doc_id in records]
        with self.errors("deleting records"):
            deleted = (await self._connections.bulk_write(deletes, ordered=False)).deleted_count
            if deleted == len(ids):
                return dict.fromkeys(ids, RecordRemoval.REMOVED)
            docs = await self._connections.find(_ids_filter(ids), {"_id": 1}).to_list(None)
        still = {str(doc["_id"]) for doc in docs}
        gone = [doc_id for doc_id in ids if doc_id not in still]
        fate = (RecordRemoval.REMOVED if len(gone) == deleted else
                RecordRemoval.GONE if deleted == 0 else RecordRemoval.UNSURE)
        return {doc_id: RecordRemoval.OUT_OF_SCOPE if doc_id in still else fate
                for doc_id in ids}

    # -- claims: two evodash runs never work on the same name at once --------------------
    async def claim(self, name: str, owner: str, ttl_s: float) -> str | None:
        """Claim `name` for `owner` (a run of evodash); None when claimed, else the holder's
        description. A claim older than `ttl_s` (its run died) is taken over."""
        now = time.time()
        with self.errors("claiming a name"):
            try:
                await self._claims.insert_one({"_id": name, "owner": owner, "at": now})
                return None
            except DuplicateKeyError:
                pass
            taken = await self._claims.find_one_and_update(
                {"_id": name, "at": {"$lt": now - ttl_s}},
                {"$set": {"owner": owner, "at": now}})
            if taken is not None:
                return None
            holder = await self._claims.find_one({"_id": name})
        if holder is None:  # released meanwhile: try once more
            return await self.claim(name, owner, ttl_s)
        if holder.get("owner") == owner:
            return None
        return str(holder.get("owner") or "another run")

    async def claim_many(self, names: list[str], owner: str, ttl_s: float
                         ) -> dict[str, str | None]:
        """`claim` for several names in one round trip where none is held (the common case):
        name -> None when claimed, else the holder's description. A name already claimed
        (a duplicate key) goes through `claim` on its own (a stale claim taken over)."""
        names = list(dict.fromkeys(names))
        if len(names) == 1:
            return {names[0]: await self.claim(names[0], owner, ttl_s)}
        now = time.time()
        held: list[str] = []
        with self.errors("claiming names"):
            try:
                await self._claims.insert_many(
                    [{"_id": name, "owner": owner, "at": now} for name in names], ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != 11000 for e in errors) or exc.details.get(
                        "writeConcernErrors"):
                    raise
                held = [names[e["index"]] for e in errors]
        answers: dict[str, str | None] = dict.fromkeys(names)
        for name in held:
            answers[name] = await self.claim(name, owner, ttl_s)
        return answers

    async def release(self, name: str, owner: str) -> None:
        with self.errors("releasing a claim"):
            await self._claims.delete_one({"_id": name, "owner": owner})

    async def release_many(self, names: list[str], owner: str) -> None:
        """`release` for several names in one round trip (only `owner`'s claims go)."""
        if len(names) == 1:
            return await self.release(names[0], owner)
        with self.errors("releasing claims"):
            await self._claims.delete_many({"_id": {"$in": list(names)}, "owner": owner})

    async def mark_record(self, doc_id: str, **fields: Any) -> int:
        """`$set` bookkeeping fields (e.g. evodash_last_error) on one record; returns matches.

        Identity fields (`_id`, `id`, `instance_name`, `reseller_id`) cannot be changed.
        """
        if not fields:
            raise ValueError("mark_record needs at least one field")
        forbidden = sorted(set(fields) & _IDENTITY_FIELDS)
        if forbidden:
            raise ValueError(f"mark_record must not change {', '.join(forbidden)}")
        # Datetimes are written as ISO-8601 strings: the same value on every server
        # (nx-27017 turns a top-level datetime in $set into "YYYY-MM-DD HH:MM:SS").
        values = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in fields.items()}
        with self.errors("marking record"):
            result = await self._connections.update_one(_id_filter(doc_id), {"$set": values})
        return result.matched_count

    # -- change streams ------------------------------------------------------------------
    async def supports_change_streams(self) -> bool:
        """True when the server accepts a change stream on the connections collection.

        A standalone MongoDB answers OperationFailure 40573 ("only supported on replica
        sets"); a user without the changeStream privilege answers 13. Both mean "poll".
        Connection problems and bad credentials raise StoreError.
        """
        try:
            async with self._connections.watch(max_await_time_ms=1) as stream:
                await stream.try_next()
        except OperationFailure as exc:
            if exc.code == AUTH_FAILED:
                raise from_pymongo(exc, uri=self._uri, action="opening a change stream") from None
            return False
        except PyMongoError as exc:
            raise from_pymongo(exc, uri=self._uri, action="opening a change stream") from None
        return True

    async def open_change_stream(self, *, max_await_ms: int = 1000) -> ChangeStream:
        """Open a change stream on the connections collection now (StoreError if refused).

        Open it *before* reading a snapshot so that no change falls in between. The server
        may hold each getMore up to `max_await_ms` (capped below the socket timeout).
        """
        max_await_ms = max(1, min(max_await_ms, self.timeout_ms // 2))
        stream = self._connections.watch(
            full_document="updateLookup", max_await_time_ms=max_await_ms
        )
        with self.errors("opening a change stream"):
            await stream.__aenter__()  # runs the $changeStream aggregate eagerly
        return ChangeStream(self, stream)

    async def watch(self, *, max_await_ms: int = 1000) -> AsyncIterator[ChangeEvent]:
        """Change events of the connections collection, until closed or broken (StoreError)."""
        stream = await self.open_change_stream(max_await_ms=max_await_ms)
        try:
            async for event in stream:
                yield event
        finally:
            await stream.close()


class ChangeStream:
    """An open change stream of connection events; iterate it or call `next()`."""

    _IDLE_S = 0.05  # MongoDB waits max_await_ms inside getMore; nx-27017 answers at once

    def __init__(
        self, store: ConnectionStore, stream: AsyncIOMotorChangeStream[dict[str, Any]]
    ) -> None:
        self._store = store
        self._stream = stream

    async def next(self) -> ChangeEvent:
        with self._store.errors("watching connections"):
            # motor 3.7's stub declares `alive` a method; at run time it is a bool property
            while self._stream.alive:  # type: ignore[truthy-function]
                change = await self._stream.try_next()
                if change is not None:
                    return ChangeEvent.from_change(change)
                await asyncio.sleep(self._IDLE_S)
        raise StopAsyncIteration

    def __aiter__(self) -> ChangeStream:
        return self

    async def __anext__(self) -> ChangeEvent:
        return await self.next()

    async def close(self) -> None:
        try:
            await self._stream.close()
        except PyMongoError:
            pass  # the server is gone: nothing left to close


def _split(
    items: Iterator[ConnectionRecord | InvalidRow],
) -> tuple[list[ConnectionRecord], list[InvalidRow]]:
    records: list[ConnectionRecord] = []
    invalid: list[InvalidRow] = []
    for item in items:
        if isinstance(item, ConnectionRecord):
            records.append(item)
        else:
            invalid.append(item)
    return records, invalid


def _reseller(doc: dict[str, Any]) -> Reseller:
    raw_id = doc.get("id")
    if isinstance(raw_id, str) and raw_id:
        rid = raw_id
    elif isinstance(raw_id, int | ObjectId) and not isinstance(raw_id, bool):
        rid = str(raw_id)  # as records' `reseller_id` of that type read (`_as_str`)
    else:
        rid = str(doc["_id"])
    name = doc.get("name")
    return Reseller(id=rid, name=name if isinstance(name, str) else "")
