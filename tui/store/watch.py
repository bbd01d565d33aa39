"""Records-changed notifications for the dashboard: change streams, or polling as fallback.

Owns `RecordWatcher`. It uses a change stream on the connections collection when the server
supports one (replica sets, Atlas, nx-27017) and otherwise (standalone MongoDB, or a user
without the changeStream privilege, or `use_change_streams=False`) polls every `poll_s`
seconds, comparing `ConnectionStore.fingerprint()`.

Start the watcher *before* loading a snapshot, so that no change falls between the two:

    async with RecordWatcher(store) as watcher:   # opens the stream / takes the baseline
        snapshot = await store.load()
        async for change in watcher:              # RecordsChanged
            snapshot = await store.load()

A broken stream or an unreachable server ends the iteration with a StoreError; the caller
decides whether to retry.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from tui.store.mongo import ChangeEvent, ChangeStream, ConnectionStore

Mode = Literal["change_stream", "polling"]


@dataclass(frozen=True)
class RecordsChanged:
    """Connection records changed; `event` is set when it came from a change stream."""

    source: Mode
    event: ChangeEvent | None = None


class RecordWatcher:
    """Async iterator of `RecordsChanged`, optionally limited to one reseller's records."""

    def __init__(
        self,
        store: ConnectionStore,
        *,
        use_change_streams: bool = True,
        poll_s: float = 2.0,
        reseller_id: str | None = None,
    ) -> None:
        self.store = store
        self.use_change_streams = use_change_streams
        self.poll_s = poll_s
        self.reseller_id = reseller_id
        self.mode: Mode | None = None
        self._stream: ChangeStream | None = None
        self._baseline: int | None = None

    async def start(self) -> Mode:
        """Decide the mode and start watching now (idempotent); returns the mode."""
        if self.mode is None:
            if self.use_change_streams and await self.store.supports_change_streams():
                max_await_ms = max(1, int(self.poll_s * 1000))
                self._stream = await self.store.open_change_stream(max_await_ms=max_await_ms)
                self.mode = "change_stream"
            else:
                self._baseline = await self.store.fingerprint(self.reseller_id)
                self.mode = "polling"
        return self.mode

    def __aiter__(self) -> RecordWatcher:
        return self

    async def __anext__(self) -> RecordsChanged:
        if await self.start() == "polling":
            return await self._next_poll()
        return await self._next_event()

    async def _next_poll(self) -> RecordsChanged:
        while True:
            await asyncio.sleep(self.poll_s)
            current = await self.store.fingerprint(self.reseller_id)
            if current != self._baseline:
                self._baseline = current
                return RecordsChanged(source="polling")

    async def _next_event(self) -> RecordsChanged:
        assert self._stream is not None
        while True:
            event = await self._stream.next()
            if self._wanted(event):
                return RecordsChanged(source="change_stream", event=event)

    def _wanted(self, event: ChangeEvent) -> bool:
        # Events without a document (deletes on MongoDB) cannot be attributed: pass them on.
        if self.reseller_id is None or event.reseller_id is None:
            return True
        return event.reseller_id == self.reseller_id

    async def close(self) -> None:
        if self._stream is not None:
            await self._stream.close()
            self._stream = None

    async def __aenter__(self) -> RecordWatcher:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
