"""The v2 simulator's database: the `Instance` table that several v2 servers may share.

Owns: the rows (one per name: `name` is unique across the whole table, whatever the
`clientName`), their API shape (the flat Prisma row of fetchInstances, `v2-contract.md` §1.2),
the delete cleanup that removes a row a while after the delete answered (`delete_at`, the
server whose cleanup it is in `deleting_by`: a restart of that server cancels it) and a lock,
so that two `ThreadedSimulator`s (each with its own thread and loop) can share one
`Database`. Every read purges the rows whose cleanup time has come, whichever server reads:
a row one server deleted disappears for the other server too. No aiohttp, no sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

COUNT_KEYS = ("Message", "Contact", "Chat")
SETTING_KEYS = ("rejectCall", "msgCall", "groupsIgnore", "alwaysOnline", "readMessages", "readStatus",
                "syncFullHistory", "wavoipToken")


def now_iso() -> str:
    """A Prisma `DateTime` as JSON: UTC, milliseconds, `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Row:
    """One row of `Instance` (with its `Setting` relation and the `_count` of its data)."""

    id: str
    name: str
    connection_status: str
    integration: str
    token: str
    client_name: str
    number: str | None = None
    business_id: str | None = None
    owner_jid: str | None = None
    profile_name: str | None = None
    profile_pic_url: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = ""
    setting: dict[str, Any] | None = None  # the Setting row (create makes one; a raw insert has none)
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in COUNT_KEYS})
    delete_at: float | None = None  # a delete's cleanup removes the row at this monotonic time
    deleting_by: str | None = None  # the server whose cleanup that is

    def __post_init__(self) -> None:
        self.updated_at = self.updated_at or self.created_at

    def api(self) -> dict[str, Any]:
        """The row as fetchInstances answers it (key order of the real server)."""
        return {
            "id": self.id, "name": self.name, "connectionStatus": self.connection_status,
            "ownerJid": self.owner_jid, "profileName": self.profile_name,
            "profilePicUrl": self.profile_pic_url, "integration": self.integration,
            "number": self.number, "businessId": self.business_id, "token": self.token,
            "clientName": self.client_name, "disconnectionReasonCode": None,
            "disconnectionObject": None, "disconnectionAt": None,
            "createdAt": self.created_at, "updatedAt": self.updated_at,
            "Chatwoot": None, "Proxy": None, "Rabbitmq": None, "Nats": None, "Sqs": None,
            "Websocket": None, "Setting": dict(self.setting) if self.setting is not None else None,
            "_count": {k: int(self.counts.get(k, 0)) for k in COUNT_KEYS},
        }

    def set_status(self, status: str) -> None:
        if status != self.connection_status:
            self.connection_status = status
            self.updated_at = now_iso()


class Database:
    """The shared `Instance` table. Thread-safe: every method takes the lock; `locked()`
    holds it over several calls (a server's request that reads and writes)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.RLock()
        self._rows: dict[str, Row] = {}  # by name, in insertion order (what findMany returns)
        self._deleting: set[str] = set()  # names whose row carries a delete_at

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield

    def _purge(self) -> None:
        if not self._deleting:
            return
        now = self.clock()
        for name in list(self._deleting):
            row = self._rows.get(name)
            if row is None or row.delete_at is None:
                self._deleting.discard(name)
            elif row.delete_at <= now:
                del self._rows[name]
                self._deleting.discard(name)

    def get(self, name: str) -> Row | None:
        with self._lock:
            self._purge()
            return self._rows.get(name)

    def rows(self, client_name: str | None = None) -> list[Row]:
        """Every row (of one clientName when given), in insertion order."""
        with self._lock:
            self._purge()
            return [r for r in self._rows.values() if client_name is None or r.client_name == client_name]

    def by_token(self, token: str) -> list[Row]:
        with self._lock:
            self._purge()
            return [r for r in self._rows.values() if r.token == token]

    def insert(self, row: Row) -> None:
        """A new row; ValueError when the name is taken (`name` is @unique)."""
        with self._lock:
            self._purge()
            if row.name in self._rows:
                raise ValueError(f"a row named {row.name!r} exists")
            self._rows[row.name] = row
            if row.delete_at is not None:
                self._deleting.add(row.name)

    def put(self, row: Row) -> None:
        """Insert or replace the row of that name (seeding)."""
        with self._lock:
            self._rows.pop(row.name, None)
            self._deleting.discard(row.name)
            self.insert(row)

    def remove(self, name: str) -> None:
        with self._lock:
            self._rows.pop(name, None)
            self._deleting.discard(name)

    def schedule_delete(self, name: str, at: float, by: str) -> None:
        """The cleanup of a delete removes the row at `at`, unless one is already due sooner."""
        with self._lock:
            self._purge()
            row = self._rows.get(name)
            if row is None or (row.delete_at is not None and row.delete_at <= at):
                return
            row.delete_at, row.deleting_by = at, by
            self._deleting.add(name)

    def cancel_deletes(self, by: str) -> None:
        """A server restarted: the cleanups it had not finished never happen."""
        with self._lock:
            self._purge()
            for name in list(self._deleting):
                row = self._rows.get(name)
                if row is not None and row.deleting_by == by:
                    row.delete_at, row.deleting_by = None, None
                    self._deleting.discard(name)

    def clear(self, client_name: str) -> None:
        """Drop every row of one clientName (a reset of the server that owns them)."""
        with self._lock:
            for name in [n for n, r in self._rows.items() if r.client_name == client_name]:
                self.remove(name)

    def replace_all(self, rows: list[Row]) -> None:
        """Put a saved table back (persistence)."""
        with self._lock:
            self._rows = {}
            self._deleting = set()
            for row in rows:
                self.insert(row)
