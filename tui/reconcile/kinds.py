"""What a name is, as one enum: the kind of a reconciled row, of a plan's target and of a
dashboard row, worked out once (`kind_of`) from what the two sides say about the name.
"""

from __future__ import annotations

from enum import StrEnum

from tui.evolution.models import ProbeState
from tui.reconcile.models import LinkedRow, OrphanInstanceRow, Row


class TargetKind(StrEnum):
    LINKED = "linked"  # an Evolution instance and a record
    ORPHAN_INSTANCE = "orphan_instance"  # an instance without a record
    ORPHAN_RECORD = "orphan_record"  # a record whose name is not listed as an instance
    RESERVED = "reserved"  # no instance, no record, but the server holds the name
    FOREIGN = "foreign"  # no instance, no record: another server sharing the database holds it
    NOT_FOUND = "not_found"  # neither an instance nor a record, and the name is free
    UNKNOWN = "unknown"  # no instance, no record, and the server did not say


def kind_of(listed: bool, has_records: bool, probe: ProbeState | None) -> TargetKind:
    """The kind of a name: `listed` (the instance list or a fetch shows it), `has_records`
    (the database has a record of that name), `probe` (what `connectionState` said of a
    name that is not listed; None when it was not asked or did not answer)."""
    if listed:
        return TargetKind.LINKED if has_records else TargetKind.ORPHAN_INSTANCE
    if has_records:
        return TargetKind.ORPHAN_RECORD
    if probe is ProbeState.ABSENT:
        return TargetKind.NOT_FOUND
    if probe is ProbeState.RESERVED:
        return TargetKind.RESERVED
    if probe is ProbeState.FOREIGN:
        return TargetKind.FOREIGN
    return TargetKind.UNKNOWN


def kind_of_row(row: Row) -> TargetKind:
    """The kind of a reconciled row (the reconciliation already decided it by its type)."""
    if isinstance(row, LinkedRow):
        return TargetKind.LINKED
    if isinstance(row, OrphanInstanceRow):
        return TargetKind.ORPHAN_INSTANCE
    return TargetKind.ORPHAN_RECORD
