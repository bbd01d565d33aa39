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
from typing import Literal, Protocol

from tui.evolution.models import InstanceState, ProbeState
from tui.lifecycle.domain import OperationKind, Skip, Step, TargetKind
from tui.lifecycle.scope import Scope
from tui.lifecycle.words import skip_text, step_text
from tui.store.models import ConnectionRecord


# ---------------------------------------------------------------------------- requests
@dataclass(frozen=True)
class DeleteRequest:
    """Verified delete of named instances (and, once their names are free, their records)."""

    names: tuple[str, ...]
    operation: OperationKind = field(default=OperationKind.DELETE, init=False)


@dataclass(frozen=True)
class ClearAllRequest:
    """Everything of a scope: linked names and orphan records (and, with
    `include_attributed`, the orphan instances whose name points at the reseller)."""

    scope: Scope
    orphans_only: bool = False
    include_attributed: bool = False
    operation: OperationKind = field(default=OperationKind.CLEAR_ALL, init=False)


@dataclass(frozen=True)
class ForgetRequest:
    """Remove orphan records whose name is verified free (database only)."""

    names: tuple[str, ...]
    operation: OperationKind = field(default=OperationKind.FORGET, init=False)


@dataclass(frozen=True)
class AdoptRequest:
    """A record for an orphan instance."""

    name: str
    reseller_id: str
    operation: OperationKind = field(default=OperationKind.ADOPT, init=False)


@dataclass(frozen=True)
class ReprovisionRequest:
    """The Evolution instance of orphan records whose name is free, under the same name."""

    names: tuple[str, ...]
    operation: OperationKind = field(default=OperationKind.REPROVISION, init=False)


@dataclass(frozen=True)
class CreateRequest:
    """A new connection for a reseller: a unique name, the instance, then the record."""

    reseller_id: str
    qr: bool = False
    operation: OperationKind = field(default=OperationKind.CREATE, init=False)


@dataclass(frozen=True)
class PairRequest:
    """The QR code (or, with `number`, the pairing code) of an existing instance."""

    name: str
    number: str | None = None
    operation: OperationKind = field(default=OperationKind.PAIR, init=False)


class Request(Protocol):
    """What every request is: a frozen value naming its operation. The operation module
    that plans and runs it is found by the request's type (`tui.lifecycle.registry`), so a
    new operation may define its request in its own module."""

    @property
    def operation(self) -> OperationKind: ...


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
@dataclass
class Target:
    """One name an operation will act on, with what the plan's fresh lookup found, the
    steps its run will take (`steps`, in order) or why it is left alone (`skip`)."""

    name: str
    records: list[ConnectionRecord]
    state: InstanceState | None = None  # listed: its state
    probed: ProbeState | None = None  # not listed: what its probe said
    kind: TargetKind = TargetKind.UNKNOWN
    skip: Skip | None = None
    dialing: bool = False  # listed `close` but seen `connecting` moments ago
    steps: tuple[Step, ...] = ()

    @property
    def skip_reason(self) -> str:
        """The skip's sentence (for the edges; decide on `skip`)."""
        return skip_text(self.skip)

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

    def step_words(self) -> list[str]:
        return [step_text(s, state=self.state, records=len(self.records)) for s in self.steps]

    def describe(self) -> str:
        if self.skip is not None:
            return f"skip: {self.skip_reason}"
        return f"{self.kind.value} ({self.state_text()}): " + " → ".join(self.step_words())


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
    # an operation without targets known in advance (create: the name is chosen when it
    # runs) names the steps of its one run here
    steps: tuple[Step, ...] = ()

    @property
    def operation(self) -> OperationKind:
        return self.request.operation

    @property
    def actionable(self) -> list[Target]:
        return [t for t in self.targets if t.skip is None]

    @property
    def runnable(self) -> bool:
        """Something to do: an actionable target, or an operation without targets (create)."""
        return bool(self.actionable) or not self.targets

    @property
    def skipped(self) -> list[Target]:
        return [t for t in self.targets if t.skip is not None]

    def step_kinds(self) -> frozenset[Step]:
        """Every kind of step the run will execute (on the targets that are not skipped)."""
        return frozenset(self.steps).union(*(t.steps for t in self.actionable))

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.targets:
            key = "skipped" if t.skip is not None else t.kind.value
            out[key] = out.get(key, 0) + 1
        return out

    def lines(self, limit: int = 20) -> list[str]:
        """One line per target (`name: what`), the skipped ones after, cut at `limit`."""
        ordered = self.actionable + self.skipped
        out = [f"{t.name}: {t.describe()}" for t in ordered[:limit]]
        if len(ordered) > limit:
            out.append(f"… and {len(ordered) - limit} more")
        return out
