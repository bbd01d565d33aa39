"""Result types of a reconciliation of Evolution instances against database records.

Owns the row types (one per name and source), the report entries (duplicate names, case
collisions), the counts and the frozen `Reconciliation` that carries them.

Rows are `NamedTuple`s, not pydantic models: a reconciliation of 100k x 100k builds ~200k
rows and per-row model construction alone would blow the time budget (see
`tests/bench/bench_reconcile.py`). They are immutable; `row._asdict()` gives a dict.
Their text lists (`drift`, `suspicious`) are tuples for the same reason (immutable, and
the empty one is shared).
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from tui.evolution.models import Instance
from tui.store.models import ConnectionRecord, InvalidRow, Reseller


class OrphanProbe(StrEnum):
    """What the probe says of the name of a record that fetchInstances does not list."""

    ABSENT = "absent"  # 404: the name is free
    RESERVED = "reserved"  # the server holds the name without listing it (contract §6)
    FOREIGN = "foreign"  # another server sharing the database holds it (v2 contract §2.1)
    PRESENT = "present"  # the probe sees it although fetchInstances did not: a race
    UNKNOWN = "unknown"  # no probe for that name


class LinkedRow(NamedTuple):
    """A name that is both an Evolution instance and a database record."""

    name: str
    instance: Instance
    record: ConnectionRecord
    reseller: Reseller | None  # None when the record's reseller_id is unknown or missing
    drift: tuple[str, ...] = ()  # short reasons why the two halves disagree
    suspicious: tuple[str, ...] = ()

    @property
    def owner_id(self) -> str | None:
        return self.record.reseller_id


class OrphanInstanceRow(NamedTuple):
    """An Evolution instance without a database record."""

    name: str
    instance: Instance
    attributed_reseller: Reseller | None  # probable owner, from the name's prefix
    attribution_note: str
    suspicious: tuple[str, ...] = ()

    @property
    def owner_id(self) -> str | None:
        return self.attributed_reseller.id if self.attributed_reseller else None


class OrphanRecordRow(NamedTuple):
    """A database record whose name fetchInstances does not list."""

    name: str
    record: ConnectionRecord
    reseller: Reseller | None
    probe: OrphanProbe
    note: str = ""
    suspicious: tuple[str, ...] = ()

    @property
    def owner_id(self) -> str | None:
        return self.record.reseller_id


Row = LinkedRow | OrphanInstanceRow | OrphanRecordRow


class DuplicateName(BaseModel):
    """One exact name carried by several records (or listed several times by Evolution)."""

    model_config = ConfigDict(frozen=True)

    name: str
    doc_ids: list[str]  # records with that name, in row order
    reseller_ids: list[str | None]  # parallel to doc_ids
    instance_count: int  # how many instances fetchInstances listed under that exact name
    hidden_records: int = 0  # records of other resellers left out by `scope`


class CaseCollision(BaseModel):
    """Distinct names that are equal when case is ignored (`Foo` vs `foo`)."""

    model_config = ConfigDict(frozen=True)

    folded: str  # the common lower-cased name
    names: list[str]  # the distinct exact spellings, sorted
    instance_names: list[str]  # which of them are instances
    record_names: list[str]  # which of them are records
    hidden_names: int = 0  # spellings left out by `scope` (they belong to other resellers)


class Counts(BaseModel):
    """Sizes of a reconciliation (all derived from its lists)."""

    model_config = ConfigDict(frozen=True)

    instances: int = 0
    records: int = 0
    linked: int = 0
    orphan_instances: int = 0
    orphan_records: int = 0
    reserved: int = 0
    foreign: int = 0  # orphan records whose name another server holds
    absent: int = 0
    present: int = 0
    unknown: int = 0
    drifted: int = 0
    invalid: int = 0
    duplicates: int = 0
    case_collisions: int = 0


class Reconciliation(BaseModel):
    """Every name classified; built by `tui.reconcile.classify.reconcile`.

    Lists are sorted by name, then reseller_id, then doc_id.
    """

    model_config = ConfigDict(frozen=True)

    linked: list[LinkedRow]
    orphan_instances: list[OrphanInstanceRow]
    orphan_records: list[OrphanRecordRow]
    invalid_rows: list[InvalidRow]
    duplicate_names: list[DuplicateName]
    case_collisions: list[CaseCollision]
    counts: Counts

    @property
    def drifted(self) -> list[LinkedRow]:
        return [row for row in self.linked if row.drift]

    @property
    def is_consistent(self) -> bool:
        """No orphan on either side, no drift, no invalid row, no duplicate name."""
        c = self.counts
        return not (
            c.orphan_instances or c.orphan_records or c.drifted or c.invalid or c.duplicates
        )

    def rows(self) -> list[Row]:
        """All rows: linked, then orphan instances, then orphan records."""
        return [*self.linked, *self.orphan_instances, *self.orphan_records]
