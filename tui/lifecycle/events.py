"""Progress events and summaries that every lifecycle operation emits.

One `StepEvent` per step (instance, step, attempt, outcome, elapsed), then exactly one
`Summary` per operation. Both are plain frozen dataclasses with `to_json()` so the CLI can
print them as JSON lines and the dashboard can turn them into progress-pane lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from tui.lifecycle.domain import Skip, Step, StepOutcome, TargetOutcome
from tui.lifecycle.words import skip_text


NAME_FREED = (TargetOutcome.REMOVED, TargetOutcome.ALREADY_ABSENT)


@dataclass(frozen=True)
class StepEvent:
    operation: str
    instance: str
    step: Step
    attempt: int
    outcome: StepOutcome
    elapsed_s: float
    detail: str = ""
    done: TargetOutcome | None = None  # set on the `done` event: the target's outcome
    # the `done` event: the finished target's whole result (not part of the JSON line)
    result: TargetResult | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        out = {"type": "step", "operation": self.operation, "instance": self.instance,
               "step": self.step, "attempt": self.attempt, "outcome": self.outcome,
               "elapsed_s": round(self.elapsed_s, 3), "detail": self.detail}
        if self.done is not None:
            out["done"] = self.done
        return out

    def line(self) -> str:
        """Human one-liner: `fabio_1_17 delete ok · attempt 1 · 0.02 s`."""
        parts = [self.instance or "-", self.step.value, self.outcome.value]
        text = " ".join(parts)
        if self.attempt > 1:
            text += f" · attempt {self.attempt}"
        if self.detail:
            text += f" · {self.detail}"
        return f"{text} · {self.elapsed_s:.2f} s"


@dataclass
class TargetResult:
    name: str
    outcome: TargetOutcome
    reason: str = ""
    reseller_id: str | None = None
    attempts: int = 0
    records_removed: int = 0
    records_kept: int = 0
    record_error: str | None = None
    elapsed_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    skip: Skip | None = None  # why it was left alone (the typed cause); `reason` is its words

    def __post_init__(self) -> None:
        if self.skip is not None and not self.reason:
            self.reason = skip_text(self.skip)

    @property
    def ok(self) -> bool:
        return self.outcome not in (TargetOutcome.FAILED, TargetOutcome.STUCK_RESERVED,
                                    TargetOutcome.NOT_FOUND) and self.record_error is None


@dataclass
class Summary:
    operation: str
    scope: str
    targets: list[TargetResult] = field(default_factory=list)
    dry_run: bool = False
    cancelled: bool = False
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def count(self, outcome: TargetOutcome) -> int:
        return sum(1 for t in self.targets if t.outcome is outcome)

    @property
    def deleted_from_evolution(self) -> int:
        return self.count(TargetOutcome.REMOVED)

    @property
    def deleted_from_db(self) -> int:
        return sum(t.records_removed for t in self.targets)

    @property
    def errors(self) -> list[str]:
        out = []
        for t in self.targets:
            if t.outcome in (TargetOutcome.FAILED, TargetOutcome.STUCK_RESERVED):
                out.append(f"{t.name}: {t.reason}")
            if t.record_error:
                out.append(f"{t.name}: {t.record_error}")
        return out

    @property
    def ok(self) -> bool:
        return not self.cancelled and all(t.ok for t in self.targets)

    def stats(self) -> dict[str, Any]:
        return {
            "deleted_from_evolution": self.deleted_from_evolution,
            "deleted_from_db": self.deleted_from_db,
            "errors": self.errors,
            "already_absent": self.count(TargetOutcome.ALREADY_ABSENT),
            "stuck_reserved": self.count(TargetOutcome.STUCK_RESERVED),
            "failed": self.count(TargetOutcome.FAILED),
            "skipped": self.count(TargetOutcome.SKIPPED),
            "not_found": self.count(TargetOutcome.NOT_FOUND),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "summary",
            "operation": self.operation,
            "scope": self.scope,
            "dry_run": self.dry_run,
            "cancelled": self.cancelled,
            "elapsed_s": round(self.elapsed_s, 3),
            **self.stats(),
            "notes": self.notes,
            "targets": [target_json(t) for t in self.targets],
        }

    @property
    def not_started(self) -> int:
        """Targets a cancellation or a stop kept from starting."""
        return sum(1 for t in self.targets if t.outcome is TargetOutcome.SKIPPED
                   and t.skip is not None and t.skip.not_started)

    def line(self) -> str:
        """One line in the words of the operation: `delete · all resellers: 1 target ·
        removed 1 · records removed 1 · 0.4 s`, `create · reseller:r1: created
        fabio_7_1700000007 · 1.2 s`. Zero counts other than the main ones are left out."""
        scope = "all resellers" if self.scope == "all" else self.scope
        head = f"{self.operation} · {scope}"
        if self.dry_run:
            head += " (dry run)"
        if self.cancelled:
            head += f" (cancelled: {self.not_started} not started)"
        n = len(self.targets)
        parts = [f"{n} target{'s' * (n != 1)}"]
        main = {"delete": ("removed", "records removed"), "clear-all": ("removed", "records removed"),
                "create": ("created",), "forget": ("forgotten",), "adopt": ("adopted",),
                "reprovision": ("reprovisioned",)}.get(self.operation, ())
        counts = {
            "removed": self.deleted_from_evolution, "records removed": self.deleted_from_db,
            "created": self.count(TargetOutcome.CREATED),
            "forgotten": self.count(TargetOutcome.FORGOTTEN),
            "adopted": self.count(TargetOutcome.ADOPTED),
            "reprovisioned": self.count(TargetOutcome.REPROVISIONED),
            "planned": self.count(TargetOutcome.PLANNED),
            "already absent": self.count(TargetOutcome.ALREADY_ABSENT),
            "stuck reserved": self.count(TargetOutcome.STUCK_RESERVED),
            "failed": self.count(TargetOutcome.FAILED),
            "skipped": self.count(TargetOutcome.SKIPPED),
            "not found": self.count(TargetOutcome.NOT_FOUND),
        }
        if self.dry_run:
            main = ("planned",)
        if self.operation == "create" and n == 1 and self.targets[0].name \
                and self.targets[0].outcome is TargetOutcome.CREATED:
            parts = [f"created {self.targets[0].name}"]
        else:
            parts += [f"{label} {counts[label]}" for label in main]
            parts += [f"{label} {value}" for label, value in counts.items()
                      if value and label not in main and label not in ("removed",
                                                                       "records removed")]
            if self.operation not in ("delete", "clear-all"):
                parts += [f"{label} {counts[label]}" for label in ("removed", "records removed")
                          if counts[label]]
        return f"{head}: {' · '.join(parts)} · {self.elapsed_s:.1f} s"


def target_json(t: TargetResult) -> dict[str, Any]:
    out = {k: v for k, v in asdict(t).items() if v not in (None, {}, "") and k != "skip"}
    out["outcome"] = t.outcome.value
    if t.skip is not None:
        out["cause"] = t.skip.cause.value
    return out


EventSink = Callable[[StepEvent], None]


def null_sink(_event: StepEvent) -> None:
    """Default sink: drop events."""


class Clock:
    """Monotonic stopwatch for elapsed times in events."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start
