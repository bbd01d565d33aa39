"""The lifecycle's vocabulary as types: which operation, why a target is left alone.

Control flow reads these, never words: a skip is a `Skip` (a `SkipCause` and the data its
sentence needs); `tui.lifecycle.words` turns it into the sentence shown at the edges (CLI
lines, dashboard, the audit log's `reason`). Target kinds are `tui.reconcile.kinds.TargetKind`
(worked out once, for reconciled rows, plan targets and dashboard rows alike); outcomes and
steps are the enums of `tui.lifecycle.events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tui.reconcile.kinds import TargetKind

__all__ = ["OperationKind", "Skip", "SkipCause", "Step", "StepOutcome", "TargetKind",
           "TargetOutcome"]


class OperationKind(StrEnum):
    DELETE = "delete"
    CLEAR_ALL = "clear-all"
    FORGET = "forget"
    ADOPT = "adopt"
    REPROVISION = "reprovision"
    CREATE = "create"
    PAIR = "pair"


class Step(StrEnum):
    PLAN = "plan"
    PROBE = "probe"
    LOGOUT = "logout"
    DELETE = "delete"
    VERIFY = "verify"
    RECORD = "record"
    CREATE = "create"
    INSERT = "insert"
    MARK = "mark"
    AUDIT = "audit"
    CONNECT = "connect"  # pairing: ask the server for a QR code / pairing code
    DONE = "done"  # the target is finished: `StepEvent.done` holds its outcome


class StepOutcome(StrEnum):
    OK = "ok"
    SKIPPED = "skipped"
    RETRY = "retry"
    FAILED = "failed"
    ABSENT = "absent"
    RESERVED = "reserved"
    FOREIGN = "foreign"  # another server's name (shared database)
    PRESENT = "present"
    GONE = "gone"  # delete answered 404: nothing to delete


class TargetOutcome(StrEnum):
    """Final outcome of one target of an operation."""

    REMOVED = "removed"  # this run removed the instance and verified the name is free
    ALREADY_ABSENT = "already_absent"  # the name was already free
    STUCK_RESERVED = "stuck_reserved"  # the server keeps the name: restarting Evolution frees it
    FAILED = "failed"
    SKIPPED = "skipped"  # not touched: outside the scope, refused by a rule, or cancelled
    NOT_FOUND = "not_found"  # neither an Evolution instance nor a record: nothing to do
    PLANNED = "planned"  # dry run
    CREATED = "created"
    FORGOTTEN = "forgotten"
    ADOPTED = "adopted"
    REPROVISIONED = "reprovisioned"
    PAIRING = "pairing"  # the server was asked for a QR code / pairing code


class SkipCause(StrEnum):
    """Why a target is not touched. Plan-time causes first, then those of the run."""

    # -- decided by the plan
    NOT_FOUND = "not_found"  # neither an instance nor a record
    OTHER_RESELLER = "other_reseller"  # another tenant's record shares the name
    OUT_OF_SCOPE = "out_of_scope"  # nothing of the session's scope on this name
    OTHER_SERVER = "other_server"  # the name is another Evolution server's (shared database)
    YOUNG_ORPHAN = "young_orphan"  # an orphan instance younger than the grace
    INSTANCE_EXISTS = "instance_exists"  # forget / re-provision: the instance is there
    NO_RECORD = "no_record"  # forget / re-provision: no record of that name
    NAME_NOT_FREE = "name_not_free"  # forget / re-provision: the probe did not say absent
    NOT_AN_INSTANCE = "not_an_instance"  # adopt / pair: no Evolution instance
    ALREADY_LINKED = "already_linked"  # adopt: the name has a record already
    ALREADY_OPEN = "already_open"  # pair: the instance is paired already
    # -- decided by the run, right before the target's first mutation
    CANCELLED = "cancelled"  # the operator cancelled before it started
    NOT_STARTED = "not_started"  # the run stopped (store / audit log / key failed)
    CLAIMED = "claimed"  # another evodash run works on this name
    RECORD_APPEARED = "record_appeared"  # changed since the plan: the platform linked it
    RECORDS_REMOVED = "records_removed"  # changed since the plan: removed by someone else
    RECORDS_CHANGED = "records_changed"  # changed since the plan
    OTHER_RESELLER_NOW = "other_reseller_now"  # changed: another tenant's record appeared
    INSTANCE_APPEARED = "instance_appeared"  # changed: an instance appeared (re-provisioned)


# causes that mean "the run did not get to it" (a re-run would): not a verdict on the name
NOT_STARTED_CAUSES = frozenset({SkipCause.CANCELLED, SkipCause.NOT_STARTED})
# causes that mean "changed since the plan"
CHANGED_CAUSES = frozenset({SkipCause.RECORD_APPEARED, SkipCause.RECORDS_REMOVED,
                            SkipCause.RECORDS_CHANGED, SkipCause.OTHER_RESELLER_NOW,
                            SkipCause.INSTANCE_APPEARED})


@dataclass(frozen=True)
class Skip:
    """Why one target is left alone: the cause, and the data its sentence needs (all
    optional; `detail` is outside text - an error message, a claim holder - shown as data)."""

    cause: SkipCause
    operation: OperationKind | None = None  # whose rule (forget and re-provision differ)
    state: str = ""  # what the server says of the name (`reserved`, `present`, ...)
    scope: str = ""  # the scope the target is outside of
    detail: str = ""  # an error text, a claim holder
    age_s: float = 0.0  # young orphan: its age
    age_source: str = ""  # young orphan: how its age is known
    grace_s: float = 0.0  # young orphan: the grace

    @property
    def changed(self) -> bool:
        return self.cause in CHANGED_CAUSES

    @property
    def not_started(self) -> bool:
        return self.cause in NOT_STARTED_CAUSES
