"""Claims on names: no two evodash runs work on one name at once.

A run claims each target's name in the store (`evodash_claims`) before its first mutation
(a bulk run: while the target waits for its slot, at most its concurrency ahead) and
releases it when the target is finished. A claim names its holder as
`host:pid:operation id`; one left by a run that is over (its process gone, or this process
with that operation no longer running) is stale and taken over.
"""

from __future__ import annotations

import asyncio
import os
import socket

from tui.lifecycle.batching import Coalescer
from tui.lifecycle.context import ActiveOps
from tui.lifecycle.ports import StorePort
from tui.store.errors import StoreError

# a claim on a name outlives a run that died without releasing it for this long
CLAIM_TTL_S = 15 * 60


def claim_owner(op_id: str) -> str:
    """Who holds a claim: `host:pid:operation id` (tells a live run from a dead one)."""
    return f"{socket.gethostname()}:{os.getpid()}:{op_id or 'evodash'}"


def is_stale(holder: str, active: ActiveOps) -> bool:
    """A claim left by a run that is over: on this host, by a process that is gone, or by
    this very process for an operation that has ended."""
    host, _, rest = holder.partition(":")
    pid_text, _, op_id = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return op_id not in active
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False


class Claims:
    """The claims of one operation run. Claims and releases asked by its targets at about
    the same time go to the store together (`Coalescer`: one round trip each way)."""

    def __init__(self, store: StorePort, op_id: str, active: ActiveOps) -> None:
        self.store = store
        self.owner = claim_owner(op_id)
        self.active = active
        self._take: Coalescer[str, str | None] = Coalescer(self._claim_many,
                                                          abandoned=self._abandoned)
        self._release: Coalescer[str, None] = Coalescer(self._release_many,
                                                       default=lambda: None)
        self._orphans: set[asyncio.Task[None]] = set()

    async def take(self, name: str) -> str | None:
        """Claim `name`: None when this run holds it now, else the live holder's name.
        Raises `StoreError` when the store cannot say."""
        holder = await self._take(name)
        if holder is not None and is_stale(holder, self.active):
            holder = await self.store.claim(name, self.owner, 0.0)  # take it over
        return holder

    async def release(self, name: str) -> None:
        try:
            await asyncio.shield(self._release(name))
        except (StoreError, asyncio.CancelledError):
            pass  # a claim left behind is stale once this run is over (`is_stale`)

    async def _claim_many(self, names: list[str]) -> dict[str, str | None]:
        return await self.store.claim_many(names, self.owner, CLAIM_TTL_S)

    async def _release_many(self, names: list[str]) -> dict[str, None]:
        await self.store.release_many(names, self.owner)
        return {}

    def _abandoned(self, name: str, holder: str | None) -> None:
        """A target cancelled while its claim was on the way: the claim goes again."""
        if holder is None:
            task = asyncio.ensure_future(self.release(name))
            self._orphans.add(task)
            task.add_done_callback(self._orphans.discard)
