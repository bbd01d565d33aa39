"""A target's place in its operation's concurrency limit."""

from __future__ import annotations

import asyncio


class Slot:
    """A place in the operation's concurrency limit, held while a target works and given up
    while it only waits - for its absence to last (`free_hold_s`), or, where the server's
    cleanup runs after the delete's answer (v2), for the probes that wait for it - so
    waiting targets do not hold back working ones; taken again only if the target needs
    another attempt."""

    def __init__(self, gate: asyncio.Semaphore | None) -> None:
        self.gate = gate
        self.held = False

    async def __aenter__(self) -> Slot:
        await self.take()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.give_up()

    async def take(self) -> None:
        if self.gate is not None and not self.held:
            await self.gate.acquire()
            self.held = True

    def give_up(self) -> None:
        if self.held and self.gate is not None:
            self.held = False
            self.gate.release()
