"""Which instances are dialing, seen from outside (contract §11.1).

Offline, a dialing instance flips `close` ↔ `connecting` many times a second, so one snapshot
mostly says `close`. "Dialing" is therefore judged over time: an instance listed as `close`
now that was seen `connecting` within the last `window_s` seconds. Every observation feeds
the tracker (the dashboard's refreshes, `report`'s samples); a logout that landed (the
dialing stopped) or a delete makes it forget the name. An instance that sits in
`connecting` (waiting for a QR scan) simply shows as `connecting`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from tui.evolution.models import Instance, InstanceState


class DialingTracker:
    """Last time each name was seen `connecting`; marks listed instances as dialing."""

    def __init__(self, window_s: float = 15.0, clock: Callable[[], float] = time.monotonic):
        self.window_s = window_s
        self.clock = clock
        self._seen_connecting: dict[str, float] = {}

    def feed(self, instances: Iterable[Instance]) -> None:
        now = self.clock()
        for inst in instances:
            if inst.state is InstanceState.CONNECTING:
                self._seen_connecting[inst.name] = now

    def last_seen_connecting(self, name: str) -> float | None:
        return self._seen_connecting.get(name)

    def forget(self, name: str) -> None:
        self._seen_connecting.pop(name, None)

    def is_dialing(self, inst: Instance) -> bool:
        seen = self._seen_connecting.get(inst.name)
        return (seen is not None and inst.state is InstanceState.CLOSE
                and self.clock() - seen <= self.window_s)

    def mark(self, instances: list[Instance]) -> list[Instance]:
        """`instances` with `dialing` set where it applies (the same list when none does)."""
        self._expire()
        if not self._seen_connecting:
            return instances
        out = list(instances)
        for i, inst in enumerate(out):
            if self.is_dialing(inst) != inst.dialing:
                out[i] = inst.model_copy(update={"dialing": not inst.dialing})
        return out

    def _expire(self) -> None:
        if not self._seen_connecting:
            return
        cutoff = self.clock() - self.window_s
        for name in [n for n, t in self._seen_connecting.items() if t < cutoff]:
            del self._seen_connecting[name]
