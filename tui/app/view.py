"""Pure view model of the dashboard: reconciliation rows -> keyed table rows, ages, the plan
and delete descriptions shown in modals. No Textual, no I/O: easy to test and to diff.

Orphans and drift are marked in text (`ORPHAN · absent`, `drift`) and only then coloured,
so the dashboard reads the same without colour (`NO_COLOR`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from tui.evolution.models import Instance
from tui.lifecycle.service import Plan
from tui.reconcile.models import (
    LinkedRow,
    OrphanInstanceRow,
    OrphanProbe,
    OrphanRecordRow,
    Reconciliation,
    Row,
)
from tui.store.models import Reseller

# The link column comes right after the name: ORPHAN must be visible at 80 columns.
INSTANCE_COLUMNS = (("mark", " "), ("name", "Name"), ("link", "Reseller"), ("state", "State"),
                    ("owner", "Owner number"), ("profile", "Profile"))
RECORD_COLUMNS = (("mark", " "), ("name", "Instance name"), ("link", "Link"),
                  ("reseller", "Reseller"), ("status", "Status"), ("created", "Created"))

ORPHAN_STYLE = "bold red"
RESERVED_STYLE = "bold magenta"
DRIFT_STYLE = "yellow"
INFLIGHT_STYLE = "bold cyan"
MARK = "*"


@dataclass(frozen=True)
class PaneRow:
    """One table row: its key, the cells after the mark column, and what it stands for."""

    key: str
    name: str
    kind: str  # linked / orphan_instance / orphan_record
    cells: tuple[Text, ...]
    search: str
    row: Row

    @property
    def is_orphan(self) -> bool:
        return self.kind != "linked"


def natural_key(name: str) -> tuple:
    """`fabio_2_…` before `fabio_10_…`: digit runs compare as numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                 for part in re.split(r"(\d+)", name) if part)


def fmt_age(seconds: float) -> str:
    """Compact age: `40s`, `12m`, `5h`, `3d`."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def reseller_label(reseller: Reseller | None, reseller_id: str | None) -> str:
    if reseller is not None and reseller.name:
        return reseller.name
    return reseller_id or "(no reseller)"


def _created(value: datetime | None, now: float) -> str:
    if value is None:
        return "-"
    return fmt_age(now - value.timestamp()) + " ago"


def _state(instance: Instance, inflight: str | None) -> Text:
    if inflight:
        return Text(f"» {inflight}", style=INFLIGHT_STYLE)
    return Text(instance.state.value if instance.state else "?")


def instance_rows(recon: Reconciliation, inflight: dict[str, str]) -> list[PaneRow]:
    """Instances pane: the instance half of linked rows, then orphan instances (by name)."""
    rows: dict[str, PaneRow] = {}
    for row in recon.linked:
        if row.name in rows:
            continue
        inst = row.instance
        link = Text(reseller_label(row.reseller, row.record.reseller_id))
        if row.drift:
            link.append(" · drift", style=DRIFT_STYLE)
        cells = (Text(row.name), link, _state(inst, inflight.get(row.name)),
                 Text(inst.owner_number or "-"), Text(inst.profile_name or "-"))
        rows[row.name] = PaneRow(row.name, row.name, "linked", cells, _search(cells), row)
    for orow in recon.orphan_instances:
        if orow.name in rows:
            continue
        inst = orow.instance
        link = Text("ORPHAN", style=ORPHAN_STYLE)
        if orow.attributed_reseller is not None:
            link.append(f" ({orow.attributed_reseller.name or orow.attributed_reseller.id}?)")
        cells = (Text(orow.name, style=ORPHAN_STYLE), link, _state(inst, inflight.get(orow.name)),
                 Text(inst.owner_number or "-"), Text(inst.profile_name or "-"))
        rows[orow.name] = PaneRow(orow.name, orow.name, "orphan_instance", cells,
                                  _search(cells), orow)
    return sorted(rows.values(), key=lambda r: natural_key(r.name))


def record_rows(recon: Reconciliation, inflight: dict[str, str], now: float) -> list[PaneRow]:
    """Records pane: the record half of linked rows, then orphan records (by doc id)."""
    rows: list[PaneRow] = []
    for row in recon.linked:
        rec = row.record
        link = Text("linked")
        if row.drift:
            link.append(" · drift", style=DRIFT_STYLE)
        status = inflight.get(row.name)
        cells = (Text(row.name), link, Text(reseller_label(row.reseller, rec.reseller_id)),
                 Text(f"» {status}", style=INFLIGHT_STYLE) if status else Text(rec.status or "-"),
                 Text(_created(rec.created_at, now)))
        rows.append(PaneRow(rec.doc_id, row.name, "linked", cells, _search(cells), row))
    for orow in recon.orphan_records:
        rec = orow.record
        style = RESERVED_STYLE if orow.probe is OrphanProbe.RESERVED else ORPHAN_STYLE
        link = Text(f"ORPHAN · {orow.probe.value}", style=style)
        status = inflight.get(orow.name)
        cells = (Text(orow.name, style=style), link,
                 Text(reseller_label(orow.reseller, rec.reseller_id)),
                 Text(f"» {status}", style=INFLIGHT_STYLE) if status else Text(rec.status or "-"),
                 Text(_created(rec.created_at, now)))
        rows.append(PaneRow(rec.doc_id, orow.name, "orphan_record", cells, _search(cells), orow))
    rows.sort(key=lambda r: (natural_key(r.name), r.key))
    return rows


def _search(cells: Iterable[Text]) -> str:
    return " ".join(cell.plain for cell in cells).casefold()


def visible(rows: list[PaneRow], text: str, orphans_only: bool) -> list[PaneRow]:
    """Rows that match the filter (case-insensitive substring) and the orphans-only switch."""
    needle = text.strip().casefold()
    return [r for r in rows
            if (not needle or needle in r.search) and (not orphans_only or r.is_orphan)]


def delete_steps(row: Row) -> str:
    """What a verified delete will do to one name, as the confirmation modal says it."""
    steps: list[str] = []
    instance = getattr(row, "instance", None)
    if instance is not None and instance.state is not None and instance.state.value != "close":
        steps.append("logout")
    if instance is not None or (isinstance(row, OrphanRecordRow)
                                and row.probe is not OrphanProbe.ABSENT):
        steps.append("delete")
    steps.append("verify the name is free")
    if isinstance(row, LinkedRow | OrphanRecordRow):
        steps.append("remove the record")
    return " → ".join(steps)


def plan_lines(plan: Plan, first: int = 5) -> list[str]:
    """Counts per outcome class and the first names of each, for the clear-all modal."""
    lines: list[str] = []
    groups: dict[str, list[str]] = {}
    for target in plan.targets:
        key = "skipped" if target.skip_reason else target.kind
        groups.setdefault(key, []).append(target.name)
    labels = {"linked": "linked (instance + record)", "orphan_instance": "orphan instances",
              "orphan_record": "orphan records", "unknown": "unknown names",
              "skipped": "skipped"}
    for key in ("linked", "orphan_instance", "orphan_record", "unknown", "skipped"):
        names = groups.get(key)
        if not names:
            continue
        shown = ", ".join(names[:first]) + (f", … +{len(names) - first}" if len(names) > first
                                            else "")
        lines.append(f"{len(names):>4}  {labels[key]}: {shown}")
    return lines


def row_kind_text(row: Row) -> str:
    if isinstance(row, LinkedRow):
        return "linked"
    if isinstance(row, OrphanInstanceRow):
        return "orphan instance (no database record)"
    return f"orphan record (name {row.probe.value} on Evolution)"
