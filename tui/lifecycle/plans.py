"""What an operation means, before it runs: requests, plans, targets and confirmations.

Owns the vocabulary every front end shares: a `Request` says what the operator asked for
(delete these names, clear-all in this scope, ...); `LifecycleService.plan(request)` turns it
into a `Plan` from fresh lookups of just its targets - per target the steps it will take and
why, what is skipped and why, the confirmation it needs, and the words that describe it;
`LifecycleService.run(plan, ...)` carries it out. The CLI and the dashboard only show a plan,
ask its `Confirmation`, and run it: they hold no operation logic of their own.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass, field
from typing import Literal

from tui.evolution.models import InstanceState, ProbeState
from tui.lifecycle.scope import Scope
from tui.store.models import ConnectionRecord


# ---------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class DeleteRequest:
    """Verified delete of named instances (and, once their names are free, their records)."""

    names: tuple[str, ...]
    operation: str = field(default="delete", init=False)


@dataclass(frozen=True)
class ClearAllRequest:
    """Everything of a scope: linked names and orphan records (and, with
    `include_attributed`, the orphan instances whose name points at the reseller)."""

    scope: Scope
    orphans_only: bool = False
    include_attributed: bool = False
    operation: str = field(default="clear-all", init=False)


@dataclass(frozen=True)
class ForgetRequest:
    """Remove orphan records whose name is verified free (database only)."""

    names: tuple[str, ...]
    operation: str = field(default="forget", init=False)


@dataclass(frozen=True)
class AdoptRequest:
    """A record for an orphan instance."""

    name: str
    reseller_id: str
    operation: str = field(default="adopt", init=False)


@dataclass(frozen=True)
class ReprovisionRequest:
    """The Evolution instance of orphan records whose name is free, under the same name."""

    names: tuple[str, ...]
    operation: str = field(default="reprovision", init=False)


@dataclass(frozen=True)
class CreateRequest:
    """A new connection for a reseller: a unique name, the instance, then the record."""

    reseller_id: str
    qr: bool = False
    operation: str = field(default="create", init=False)


Request = (DeleteRequest | ClearAllRequest | ForgetRequest | AdoptRequest
           | ReprovisionRequest | CreateRequest)


# ---------------------------------------------------------------------------- confirmation
def fold(text: str) -> str:
    """Text compared without case or accents: `María Peña-Águas` -> `maria pena-aguas`."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


@dataclass(frozen=True)
class Confirmation:
    """What the operator must do before a plan runs: answer yes, or type one of `words`
    (compared without case or accents, so `maria pena-aguas` or the id `r-maria` both
    confirm `María Peña-Águas`)."""

    kind: Literal["yes", "type", "none"]
    question: str
    words: tuple[str, ...] = ()

    def accepts(self, answer: str | None) -> bool:
        if self.kind == "none":
            return True
        if answer is None:
            return False
        if self.kind == "yes":
            return fold(answer) in ("y", "yes")
        return fold(answer) in {fold(w) for w in self.words if w}

    @property
    def hint(self) -> str:
        """The words to type, as shown to the operator."""
        return " or ".join(repr(w) for w in dict.fromkeys(self.words) if w)


# ---------------------------------------------------------------------------- targets
KINDS = ("linked", "orphan_instance", "orphan_record", "reserved", "not_found")


@dataclass
class Target:
    """One name an operation will act on, with what the plan's fresh lookup found."""

    name: str
    records: list[ConnectionRecord]
    state: InstanceState | None = None  # listed: its state
    probed: ProbeState | None = None  # not listed: what its probe said
    kind: str = ""  # linked / orphan_instance / orphan_record / reserved / not_found
    skip_reason: str = ""
    dialing: bool = False  # listed `close` but seen `connecting` moments ago

    @property
    def reseller_id(self) -> str | None:
        ids = {r.reseller_id for r in self.records}
        return ids.pop() if len(ids) == 1 else None

    @property
    def listed(self) -> bool:
        return self.state is not None

    def state_text(self) -> str:
        if self.dialing:
            return "dialing"
        if self.state is not None:
            return self.state.value
        return self.probed.value if self.probed else "?"

    def steps(self) -> list[str]:
        """The steps a verified delete of this target takes, in words."""
        steps = []
        if self.listed:
            steps.append("logout" if self.state in (InstanceState.OPEN, InstanceState.CONNECTING)
                         else "stop any dialing")
        if self.listed or self.probed is not ProbeState.ABSENT:
            steps.append("delete")
        steps.append("verify free")
        if self.records:
            steps.append(f"remove {len(self.records)} record(s)")
        return steps

    def describe(self) -> str:
        if self.skip_reason:
            return f"skip: {self.skip_reason}"
        return f"{self.kind} ({self.state_text()}): " + " → ".join(self.steps())


@dataclass
class Plan:
    """What `LifecycleService.run` will do: built by `LifecycleService.plan`, shown and
    confirmed by a front end, then run unchanged (the run re-checks every target first)."""

    request: Request
    scope: Scope
    targets: list[Target]
    notes: list[str]
    confirmation: Confirmation
    title: str
    planned_at: float = field(default_factory=time.time)

    @property
    def operation(self) -> str:
        return self.request.operation

    @property
    def actionable(self) -> list[Target]:
        return [t for t in self.targets if not t.skip_reason]

    @property
    def runnable(self) -> bool:
        """Something to do: an actionable target, or an operation without targets (create)."""
        return bool(self.actionable) or not self.targets

    @property
    def skipped(self) -> list[Target]:
        return [t for t in self.targets if t.skip_reason]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.targets:
            key = "skipped" if t.skip_reason else t.kind
            out[key] = out.get(key, 0) + 1
        return out

    def lines(self, limit: int = 20) -> list[str]:
        """One line per target (`name: what`), the skipped ones after, cut at `limit`."""
        ordered = self.actionable + self.skipped
        out = [f"{t.name}: {t.describe()}" for t in ordered[:limit]]
        if len(ordered) > limit:
            out.append(f"… and {len(ordered) - limit} more")
        return out
