"""What every operation works with: the ports, the session (scope, read-only), the delete
policy, the audit log, what the session has seen (dialing, first sightings) and the
operations now running in this service. One `OpContext` per `LifecycleService`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tui.lifecycle.audit import AuditLog
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.ports import EvolutionPort, StorePort
from tui.lifecycle.removal.policy import DeletePolicy
from tui.lifecycle.scope import Scope
from tui.lifecycle.seen import FirstSeen


class ActiveOps:
    """Operation ids running now, shared by every service of one process (a claim whose
    owner is this process and an operation no longer here is stale). One instance per
    process is made by `ActiveOps.of_process()`; tests may pass their own."""

    _process: ActiveOps | None = None

    def __init__(self) -> None:
        self._ids: set[str] = set()

    @classmethod
    def of_process(cls) -> ActiveOps:
        if cls._process is None:
            cls._process = cls()
        return cls._process

    def add(self, op_id: str) -> None:
        self._ids.add(op_id)

    def discard(self, op_id: str) -> None:
        self._ids.discard(op_id)

    def __contains__(self, op_id: object) -> bool:
        return op_id in self._ids


@dataclass
class OpContext:
    client: EvolutionPort
    store: StorePort
    scope: Scope
    policy: DeletePolicy
    audit: AuditLog
    concurrency: int
    now: Callable[[], float] = time.time
    rng: random.Random = field(default_factory=random.Random)
    dialing: DialingTracker = field(default_factory=DialingTracker)
    first_seen: FirstSeen = field(default_factory=lambda: FirstSeen(None))
    orphan_grace_s: float = 600.0
    active_ops: ActiveOps = field(default_factory=ActiveOps.of_process)

    @property
    def probe_concurrency(self) -> int:
        return max(4, self.concurrency * 2)
