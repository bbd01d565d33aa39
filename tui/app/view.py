"""Pure view model of the dashboard: reconciliation rows -> keyed table rows, ages, the plan
and delete descriptions shown in modals. No Textual, no I/O: easy to test and to diff.

Orphans and drift are marked in text (`ORPHAN · absent`, `drift`) and only then coloured,
so the dashboard reads the same without colour (`NO_COLOR`). A record whose name another
Evolution server sharing the database holds (v2) says `other server`: not an orphan to
repair here, and never touched from here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from rich.text import Text

from tui.app.literal import shown
from tui.evolution.models import ProbeState
from tui.lifecycle.advice import include_hint
from tui.lifecycle.domain import OperationKind
from tui.lifecycle.plans import Plan, Target
from tui.lifecycle.words import step_text
from tui.reconcile.kinds import TargetKind
from tui.reconcile.models import (
    LinkedRow,
    OrphanInstanceRow,
    OrphanProbe,
    OrphanRecordRow,
    Reconciliation,
    Row,
)
from tui.store.models import ConnectionRecord, Reseller

if TYPE_CHECKING:
    from tui.lifecycle.observe import Observation

# (key, label, width). The widths are the first ones only: each pane then fits its columns
# to its own width (`INSTANCE_FIT` / `RECORD_FIT`, `fit_widths`). Cells are not padded by
# the table (cell_padding 0): every cell after the name starts with one space, and a longer
# value ends in an ellipsis instead of pushing the next columns off screen. The link column
# comes right after the name: ORPHAN (and drift) must stay visible when a terminal is too
# narrow for every column.
INSTANCE_COLUMNS = (("mark", "", 1), ("name", "Name", 24), ("link", " Reseller", 15),
                    ("state", " State", 11), ("owner", " Owner number", 14),
                    ("profile", " Profile", 12))
RECORD_COLUMNS = (("mark", "", 1), ("name", "Instance name", 24), ("link", " Link", 18),
                  ("reseller", " Reseller", 12), ("status", " Status", 13),
                  ("created", " Created", 9))

#: How a pane's columns share its width, most useful first: (key, least, want, most, keep).
#: Every shown column gets at least `least` cells; while those do not fit, the droppable
#: columns (`keep` False) go, the least useful (last) first; a kept column is never dropped
#: (name, link, state, status, reseller: the table scrolls sideways instead, the mark and the
#: name staying put). Room left over widens the shown columns to `want`, then to `most`,
#: the most useful first. The instances pane always shows a whole orphan attribution such as
#: `ORPHAN (Fabio Telecom?)` and leaves out Profile when that does not fit (side by side at
#: 160, 77 cells a pane, and stacked at 80); the records pane leaves out Created before it
#: cuts a reseller name under 13 characters (side by side at 160 it shows 20). Stacked at
#: 100 every column shows.
FitSpec = tuple[tuple[str, int, int, int, bool], ...]
INSTANCE_FIT: FitSpec = (
    ("mark", 1, 1, 1, True), ("name", 24, 24, 24, True), ("link", 24, 24, 32, True),
    ("state", 11, 11, 11, True), ("owner", 14, 14, 14, False),
    ("profile", 8, 12, 20, False))
RECORD_FIT: FitSpec = (
    ("mark", 1, 1, 1, True), ("name", 24, 24, 24, True), ("link", 18, 18, 18, True),
    ("status", 13, 13, 13, True), ("reseller", 14, 17, 24, True),
    ("created", 9, 9, 9, False))


def fit_widths(fit: FitSpec, room: int) -> dict[str, int]:
    """Each column's width (0: dropped) in a pane `room` cells wide (see `INSTANCE_FIT`).
    O(columns): called on every resize, whatever the number of rows."""
    widths = {key: least for key, least, _want, _most, _keep in fit}
    used = sum(widths.values())
    for key, least, _want, _most, keep in reversed(fit):
        if used <= room:
            break
        if not keep:
            widths[key] = 0
            used -= least
    left = room - used
    for want_most in (False, True):  # up to `want`, then up to `most`
        for key, _least, want, most, _keep in fit:
            if left <= 0:
                return widths
            if widths[key]:
                grow = min(max((most if want_most else want) - widths[key], 0), left)
                widths[key] += grow
                left -= grow
    return widths


ORPHAN_STYLE = "bold red"
RESERVED_STYLE = "bold magenta"
FOREIGN_STYLE = "bold bright_blue"
FOREIGN_LABEL = "other server"  # the link of a record whose name another server holds
_ORPHAN_STYLES = {OrphanProbe.RESERVED: RESERVED_STYLE, OrphanProbe.FOREIGN: FOREIGN_STYLE}
DRIFT_STYLE = "yellow"
INFLIGHT_STYLE = "bold cyan"
MARK = "*"

#: A row of the instances pane stands for one of these; a row of the records pane, for one
#: of those.
InstanceSide = LinkedRow | OrphanInstanceRow
RecordSide = LinkedRow | OrphanRecordRow


@dataclass(slots=True, eq=False)
class PaneRow:
    """One table row: its key, the cells after the mark column, and what it stands for.

    `cells` is reused (same tuple) while what the row shows does not change, so the table's
    diff can skip it by identity. `row` (the reconciliation row) is looked up in the pane's
    latest reconciliation when asked for, so a reused `PaneRow` never keeps an old
    observation alive; `probe` is the orphan record's probe (`absent` / `reserved`)."""

    key: str
    name: str
    kind: TargetKind  # LINKED / ORPHAN_INSTANCE / ORPHAN_RECORD
    cells: tuple[Text, ...]
    resolve: Callable[[str], Row]
    sort_key: tuple = ()
    probe: str | None = None
    phone: str | None = None  # the owner number (instances) / the record's phone number
    _search: str | None = None
    _digits: str | None = None

    @property
    def row(self) -> Row:
        return self.resolve(self.key)

    @property
    def is_orphan(self) -> bool:
        return self.kind is not TargetKind.LINKED

    @property
    def search(self) -> str:
        """The shown cells, folded (`fold`: no accents, case-folded), for the filter."""
        if self._search is None:
            self._search = fold(" ".join(cell.plain.strip() for cell in self.cells))
        return self._search

    @property
    def digits(self) -> str:
        """The digits of the phone number (`+55 (11) 9…` -> `55119…`), for the filter."""
        if self._digits is None:
            self._digits = "".join(c for c in self.phone or "" if c.isdigit())
        return self._digits

    def plain(self, index: int) -> str:
        """Cell `index` (0 = name) as shown, without the leading separator space."""
        return self.cells[index].plain.strip()


def fold(text: str) -> str:
    """Text as the filter compares it: accents stripped (NFKD, combining marks dropped) and
    case-folded, so `joao` finds `João` and `ANA` finds `ana`."""
    if text.isascii():
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_PHONE_LIKE = re.compile(r"[\d\s()+.\-]*\d[\d\s()+.\-]*")

_NATURAL: dict[str, tuple] = {}


def natural_key(name: str) -> tuple:
    """`fabio_2_…` before `fabio_10_…`: digit runs compare as numbers (memoised)."""
    key = _NATURAL.get(name)
    if key is None:
        if len(_NATURAL) > 200_000:
            _NATURAL.clear()
        key = _NATURAL[name] = tuple((0, int(part)) if part.isdigit() else (1, part.casefold())
                                     for part in re.split(r"(\d+)", name) if part)
    return key


def fmt_age(seconds: float) -> str:
    """Compact age: `40s`, `12m`, `5h`, `3d`."""
    return _age(seconds)[0]


def _age(seconds: float) -> tuple[str, int]:
    """The compact age and how many more seconds it stays the same."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}", size - seconds % size
    return f"{seconds}s", 1


def reseller_label(reseller: Reseller | None, reseller_id: str | None) -> str:
    if reseller is not None and reseller.name:
        return reseller.name
    return reseller_id or "(no reseller)"


def cell(text: str, style: str = "", *, lead: bool = True) -> Text:
    """One table cell: one line, an ellipsis when it is cut, a leading separator space.
    `text` is shown literally (`shown`: control and bidi characters as visible escapes)."""
    text = shown(text)
    return Text(f" {text}" if lead else text, style=style, no_wrap=True, overflow="ellipsis",
                end="")


#: Probe column of an orphan record while the first refresh is still probing its name.
PROBING = "probing…"

_SHARED: dict[tuple[str, str], Text] = {}


def shared_cell(text: str, style: str = "") -> Text:
    """`cell()` for values that repeat across rows (states, statuses, resellers, ages, `-`):
    one Text per distinct value, shared by every row that shows it. Never mutate it."""
    key = (text, style)
    found = _SHARED.get(key)
    if found is None:
        if len(_SHARED) > 50_000:
            _SHARED.clear()
        found = _SHARED[key] = cell(text, style)
    return found


#: The in-flight marker of a busy row (`» clear`, then `» logout`, `» verify`, …) must read
#: whole in the State column (11 cells: a space, `»`, a space, 8 letters): one short word
#: per operation (before the target's first step) and per step.
INFLIGHT_WIDTH = 8
_INFLIGHT_WORDS = {
    OperationKind.DELETE.value: "delete", OperationKind.CLEAR_ALL.value: "clear",
    OperationKind.FORGET.value: "forget", OperationKind.ADOPT.value: "adopt",
    OperationKind.REPROVISION.value: "recreate", OperationKind.CREATE.value: "create",
    OperationKind.PAIR.value: "pair",
}


def inflight_word(what: str) -> str:
    """An operation or a step (`clear-all`, `reprovision`, `verify`) as the short word its
    busy row shows (at most `INFLIGHT_WIDTH` characters)."""
    return _INFLIGHT_WORDS.get(what, what)[:INFLIGHT_WIDTH]


def _state_text(state: str, inflight: str | None) -> Text:
    if inflight:
        return shared_cell(f"» {inflight}", INFLIGHT_STYLE)
    return shared_cell(state)


@dataclass(frozen=True)
class ObservationDelta:
    """What changed between two observations, by name (computed by the refresh worker off
    the UI loop): `names` whose instance, records or probe differ; the new view's rows of
    those names. `None` instead of a delta means: rebuild everything."""

    base_view: Reconciliation  # the previous observation's view
    names: frozenset[str]
    instance_row: dict[str, InstanceSide]  # changed name -> its instances-pane row (if any)
    record_rows: dict[str, list[RecordSide]]  # changed name -> its records-pane rows


def observation_delta(prev: Observation | None, new: Observation) -> ObservationDelta | None:
    """Compare two `Observation`s (pure; runs in a worker thread)."""
    if prev is None or prev.resellers != new.resellers or prev.invalid != new.invalid:
        return None
    changed: set[str] = set()
    if prev.instances is not new.instances:  # (the same lists after a probe-only update)
        old_inst = {i.name: i for i in prev.instances}
        for inst in new.instances:
            if old_inst.pop(inst.name, None) != inst:
                changed.add(inst.name)
        changed.update(old_inst)
    if prev.records is not new.records:
        old_rec: dict[str, list[ConnectionRecord]] = {}
        for rec in prev.records:
            old_rec.setdefault(rec.instance_name, []).append(rec)
        new_rec: dict[str, list[ConnectionRecord]] = {}
        for rec in new.records:
            new_rec.setdefault(rec.instance_name, []).append(rec)
        for name in old_rec.keys() | new_rec.keys():
            if old_rec.get(name) != new_rec.get(name):
                changed.add(name)
    for name in prev.probes.keys() | new.probes.keys():
        if prev.probes.get(name) != new.probes.get(name):
            changed.add(name)
    if prev.probes_pending != new.probes_pending:
        # every orphan record row said `probing…` (or now does): a probe that failed leaves
        # the probe unchanged (None) but the row's text changes
        changed.update(row.name for row in prev.full.orphan_records)
        changed.update(row.name for row in new.full.orphan_records)
    view = new.view
    instance_row: dict[str, InstanceSide] = {}
    record_rows: dict[str, list[RecordSide]] = {}
    if changed:
        for row in view.linked:
            if row.name in changed:
                instance_row.setdefault(row.name, row)
                record_rows.setdefault(row.name, []).append(row)
        for orow in view.orphan_instances:
            if orow.name in changed:
                instance_row.setdefault(orow.name, orow)
        for rrow in view.orphan_records:
            if rrow.name in changed:
                record_rows.setdefault(rrow.name, []).append(rrow)
    return ObservationDelta(prev.view, frozenset(changed), instance_row, record_rows)


class PaneModel:
    """Builds one pane's rows from a reconciliation, reusing the `PaneRow` (and its Rich
    cells) of every row whose shown values did not change, and the previous order when the
    set of keys did not change: an unchanged refresh builds no Text and sorts nothing.

    With an `ObservationDelta` against the reconciliation it built last, only the rows of
    the changed names (and of names whose in-flight step changed) are rebuilt, in place:
    `changed` (second value returned) lists them; `None` there means a full rebuild."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[tuple, PaneRow]] = {}
        self._order: list[str] = []
        self._ages: dict[str, tuple[object, float, str, float, float]] = {}
        self._recon: Reconciliation | None = None
        self._inflight: dict[str, str] = {}
        self._rows: list[PaneRow] = []
        self._index: dict[str, int] = {}  # key -> position in _rows
        self._keys_by_name: dict[str, list[str]] = {}
        self._ages_valid_until = 0.0
        # key -> row of self._recon, built on first use: names of the instances pane's rows,
        # doc ids of the records pane's rows
        self._instance_index: dict[str, InstanceSide] | None = None
        self._record_index: dict[str, RecordSide] | None = None
        # the orphan records' names are being probed: an unprobed row says `probing…`
        self.probing = False

    def _set_recon(self, recon: Reconciliation) -> None:
        if recon is not self._recon:
            self._recon = recon
            self._instance_index = self._record_index = None

    def resolve_instance(self, name: str) -> InstanceSide:
        """The instances pane's row `name` in the latest reconciliation."""
        if self._instance_index is None:
            index: dict[str, InstanceSide] = {}
            recon = self._recon
            if recon is not None:
                for row in recon.linked:
                    index.setdefault(row.name, row)
                for orow in recon.orphan_instances:
                    index.setdefault(orow.name, orow)
            self._instance_index = index
        return self._instance_index[name]

    def resolve_record(self, doc_id: str) -> RecordSide:
        """The records pane's row `doc_id` in the latest reconciliation."""
        if self._record_index is None:
            index: dict[str, RecordSide] = {}
            recon = self._recon
            if recon is not None:
                for row in recon.linked:
                    index.setdefault(row.record.doc_id, row)
                for rrow in recon.orphan_records:
                    index.setdefault(rrow.record.doc_id, rrow)
            self._record_index = index
        return self._record_index[doc_id]

    def _reuse(self, key: str, sig: tuple) -> PaneRow | None:
        hit = self._cache.get(key)
        if hit is not None and hit[0] == sig:
            return hit[1]
        return None

    def _finish(self, rows: dict[str, PaneRow], sigs: dict[str, tuple],
                recon: Reconciliation, inflight: dict[str, str]) -> list[PaneRow]:
        self._cache = {k: (sigs[k], r) for k, r in rows.items()}
        if len(rows) == len(self._order) and all(k in rows for k in self._order):
            ordered = [rows[k] for k in self._order]
        else:
            ordered = sorted(rows.values(), key=lambda r: r.sort_key)
            self._order = [r.key for r in ordered]
        self._rows = ordered
        self._index = {r.key: i for i, r in enumerate(ordered)}
        by_name: dict[str, list[str]] = {}
        for r in ordered:
            by_name.setdefault(r.name, []).append(r.key)
        self._keys_by_name = by_name
        self._set_recon(recon)
        self._inflight = dict(inflight)
        return ordered

    def _affected(self, recon: Reconciliation, inflight: dict[str, str],
                  delta: ObservationDelta | None) -> set[str] | None:
        """Names to rebuild in place, or None when the whole pane must be rebuilt."""
        if self._recon is None:
            return None
        if delta is None:
            if recon is not self._recon:
                return None
            names: set[str] = set()
        elif delta.base_view is not self._recon:
            return None
        else:
            names = set(delta.names)
        old = self._inflight
        if old or inflight:
            names.update(n for n in old.keys() | inflight.keys() if old.get(n) != inflight.get(n))
        return names

    # -- instances pane -------------------------------------------------------------------
    def _instance_row(self, row: InstanceSide,
                      inflight: dict[str, str]) -> tuple[tuple, PaneRow]:
        name = row.name
        inst = row.instance
        state = inst.shown_state
        busy = inflight.get(name)
        owner, profile = inst.owner_number, inst.profile_name
        sig: tuple
        if isinstance(row, LinkedRow):
            label = reseller_label(row.reseller, row.record.reseller_id)
            sig = (0, label, bool(row.drift), state, busy, owner, profile)
            pane_row = self._reuse(name, sig)
            if pane_row is None:
                if row.drift:
                    link = cell("drift", DRIFT_STYLE)
                    link.append(f" · {shown(label)}")
                else:
                    link = shared_cell(label)
                cells = (cell(name, lead=False), link, _state_text(state, busy),
                         shared_cell(owner or "-"), shared_cell(profile or "-"))
                pane_row = PaneRow(name, name, TargetKind.LINKED, cells, self.resolve_instance,
                                   natural_key(name), phone=owner or None)
            return sig, pane_row
        attributed = row.attributed_reseller
        who = (attributed.name or attributed.id) if attributed is not None else None
        sig = (1, who, state, busy, owner, profile)
        pane_row = self._reuse(name, sig)
        if pane_row is None:
            if who is not None:
                link = cell("ORPHAN", ORPHAN_STYLE)
                link.append(f" ({shown(who)}?)")
            else:
                link = shared_cell("ORPHAN", ORPHAN_STYLE)
            cells = (cell(name, ORPHAN_STYLE, lead=False), link, _state_text(state, busy),
                     shared_cell(owner or "-"), shared_cell(profile or "-"))
            pane_row = PaneRow(name, name, TargetKind.ORPHAN_INSTANCE, cells, self.resolve_instance,
                               natural_key(name), phone=owner or None)
        return sig, pane_row

    def instance_rows(self, recon: Reconciliation, inflight: dict[str, str],
                      delta: ObservationDelta | None = None) -> list[PaneRow]:
        """The instance half of linked rows, then orphan instances (by name)."""
        return self.update_instances(recon, inflight, delta)[0]

    def update_instances(self, recon: Reconciliation, inflight: dict[str, str],
                         delta: ObservationDelta | None = None
                         ) -> tuple[list[PaneRow], list[PaneRow] | None]:
        affected = self._affected(recon, inflight, delta)
        if affected is not None:
            self._set_recon(recon)
            changed = self._patch_instances(affected, inflight, delta)
            if changed is not None:
                self._inflight = dict(inflight)
                return self._rows, changed
        rows: dict[str, PaneRow] = {}
        sigs: dict[str, tuple] = {}
        for group in (recon.linked, recon.orphan_instances):
            for row in group:
                name = row.name
                if name not in rows:
                    sigs[name], rows[name] = self._instance_row(row, inflight)
        return self._finish(rows, sigs, recon, inflight), None

    def _patch_instances(self, names: set[str], inflight: dict[str, str],
                         delta: ObservationDelta | None) -> list[PaneRow] | None:
        changed: list[PaneRow] = []
        for name in names:
            index = self._index.get(name)
            row: InstanceSide | None
            if delta is not None and name in delta.names:
                row = delta.instance_row.get(name)
                if (row is None) != (index is None):
                    return None  # a row appears or vanishes: rebuild
            elif index is not None:
                row = self.resolve_instance(name)
            else:
                row = None
            if row is None or index is None:  # (both or neither, by now)
                continue
            sig, pane_row = self._instance_row(row, inflight)
            self._cache[name] = (sig, pane_row)
            if pane_row is not self._rows[index]:
                self._rows[index] = pane_row
                changed.append(pane_row)
        return changed

    # -- records pane ---------------------------------------------------------------------
    def _created(self, key: str, value: datetime | None, now: float) -> str:
        """`3d ago`, recomputed only when the shown age changes."""
        if value is None:
            return "-"
        hit = self._ages.get(key)
        if hit is not None and hit[0] is value:
            if hit[3] <= now < hit[4]:
                return hit[2]
            ts = hit[1]
        else:
            ts = value.timestamp()
        text, left = _age(now - ts)
        age = text + " ago"
        self._ages[key] = (value, ts, age, now, now + left)
        return age

    def _record_row(self, row: RecordSide, inflight: dict[str, str],
                    now: float) -> tuple[tuple, PaneRow]:
        rec = row.record
        key = rec.doc_id
        label = reseller_label(row.reseller, rec.reseller_id)
        busy = inflight.get(row.name)
        status = rec.status
        created = self._created(key, rec.created_at, now)
        phone = rec.phone_number or None
        sig: tuple
        if isinstance(row, LinkedRow):
            phone = phone or row.instance.owner_number or None
            sig = (0, row.name, bool(row.drift), label, busy, status, created, phone)
            pane_row = self._reuse(key, sig)
            if pane_row is None:
                if row.drift:
                    link = cell("linked")
                    link.append(" · drift", style=DRIFT_STYLE)
                else:
                    link = shared_cell("linked")
                cells = (cell(row.name, lead=False), link, shared_cell(label),
                         _state_text(status or "-", busy), shared_cell(created))
                pane_row = PaneRow(key, row.name, TargetKind.LINKED, cells, self.resolve_record,
                                   (natural_key(row.name), key), phone=phone)
            return sig, pane_row
        probe = PROBING if self.probing and row.probe is OrphanProbe.UNKNOWN else row.probe.value
        sig = (1, row.name, probe, label, busy, status, created, phone)
        pane_row = self._reuse(key, sig)
        if pane_row is None:
            style = _ORPHAN_STYLES.get(row.probe, ORPHAN_STYLE)
            link_text = FOREIGN_LABEL if row.probe is OrphanProbe.FOREIGN else f"ORPHAN · {probe}"
            cells = (cell(row.name, style, lead=False),
                     shared_cell(link_text, style), shared_cell(label),
                     _state_text(status or "-", busy), shared_cell(created))
            pane_row = PaneRow(key, row.name, TargetKind.ORPHAN_RECORD, cells, self.resolve_record,
                               (natural_key(row.name), key), probe=row.probe.value,
                               phone=phone)
        return sig, pane_row

    def record_rows(self, recon: Reconciliation, inflight: dict[str, str], now: float,
                    delta: ObservationDelta | None = None) -> list[PaneRow]:
        """The record half of linked rows, then orphan records (by doc id)."""
        return self.update_records(recon, inflight, now, delta)[0]

    def update_records(self, recon: Reconciliation, inflight: dict[str, str], now: float,
                       delta: ObservationDelta | None = None
                       ) -> tuple[list[PaneRow], list[PaneRow] | None]:
        affected = self._affected(recon, inflight, delta)
        if affected is not None and now < self._ages_valid_until:
            self._set_recon(recon)
            changed = self._patch_records(affected, inflight, now, delta)
            if changed is not None:
                self._inflight = dict(inflight)
                return self._rows, changed
        rows: dict[str, PaneRow] = {}
        sigs: dict[str, tuple] = {}
        for group in (recon.linked, recon.orphan_records):
            for row in group:
                sig, pane_row = self._record_row(row, inflight, now)
                sigs[pane_row.key], rows[pane_row.key] = sig, pane_row
        if len(self._ages) > 2 * len(rows) + 1000:
            self._ages = {k: v for k, v in self._ages.items() if k in rows}
        self._ages_valid_until = min((v[4] for v in self._ages.values()), default=float("inf"))
        return self._finish(rows, sigs, recon, inflight), None

    def _patch_records(self, names: set[str], inflight: dict[str, str], now: float,
                       delta: ObservationDelta | None) -> list[PaneRow] | None:
        changed: list[PaneRow] = []
        for name in names:
            keys = self._keys_by_name.get(name, [])
            rows: list[RecordSide]
            if delta is not None and name in delta.names:
                rows = delta.record_rows.get(name, [])
                if sorted(r.record.doc_id for r in rows) != sorted(keys):
                    return None  # records appear or vanish: rebuild
            else:
                rows = [self.resolve_record(k) for k in keys]
            for row in rows:
                sig, pane_row = self._record_row(row, inflight, now)
                index = self._index[pane_row.key]
                self._cache[pane_row.key] = (sig, pane_row)
                if pane_row is not self._rows[index]:
                    if pane_row.sort_key != self._rows[index].sort_key:
                        return None
                    self._rows[index] = pane_row
                    changed.append(pane_row)
        if changed:
            self._ages_valid_until = min(self._ages_valid_until,
                                         *(self._ages[r.key][4] for r in changed
                                           if r.key in self._ages), float("inf"))
        return changed


def instance_rows(recon: Reconciliation, inflight: dict[str, str]) -> list[PaneRow]:
    """Instances pane rows, without a cache (tests, one-off use)."""
    return PaneModel().instance_rows(recon, inflight)


def record_rows(recon: Reconciliation, inflight: dict[str, str], now: float) -> list[PaneRow]:
    """Records pane rows, without a cache (tests, one-off use)."""
    return PaneModel().record_rows(recon, inflight, now)


def visible(rows: list[PaneRow], text: str, orphans_only: bool) -> list[PaneRow]:
    """Rows that match the filter and the orphans-only switch. The filter is a substring of
    the shown cells, accent- and case-insensitive (`fold`); a filter of only digits and
    phone punctuation (`11 91111-0001`) also matches the digits of the row's phone number."""
    needle = fold(text.strip())
    if not needle and not orphans_only:
        return rows
    digits = "".join(c for c in needle if c.isdigit()) if _PHONE_LIKE.fullmatch(needle) else ""
    return [r for r in rows
            if (not needle or needle in r.search or (digits and digits in r.digits))
            and (not orphans_only or r.is_orphan)]


#: The columns `o` cycles through, per pane, in order (after them: no sort, the default
#: order by name). (column key, label in the pane title)
SORT_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "instances": (("name", "name"), ("state", "state"), ("link", "reseller"),
                  ("owner", "owner number"), ("profile", "profile")),
    "records": (("name", "name"), ("status", "status"), ("reseller", "reseller"),
                ("link", "link"), ("created", "created")),
}


def next_sort(pane: str, column: str | None) -> str | None:
    """The column after `column` in the pane's cycle (None: back to the default order)."""
    keys = [k for k, _label in SORT_COLUMNS[pane]]
    if column is None:
        return keys[0]
    index = keys.index(column) + 1 if column in keys else 0
    return keys[index] if index < len(keys) else None


def sort_label(pane: str, column: str) -> str:
    return dict(SORT_COLUMNS[pane]).get(column, column)


def sorted_rows(rows: list[PaneRow], columns: tuple[tuple[str, str, int], ...],
                column: str | None, reverse: bool) -> list[PaneRow]:
    """`rows` ordered by the shown text of `column` (digits as numbers, accent- and
    case-insensitive), ties in the default order; `created` by the record's creation time.
    No column: `rows` itself (the default order, by name)."""
    if column is None:
        return rows
    if column == "created":
        def when(r: PaneRow) -> tuple:
            created = getattr(getattr(r.row, "record", None), "created_at", None)
            return (created is None, -created.timestamp() if created else 0.0, r.sort_key)
        return sorted(rows, key=when, reverse=reverse)  # newest first, then older
    index = [key for key, _label, _w in columns].index(column) - 1  # (cells skip the mark)
    return sorted(rows, key=lambda r: (natural_key(fold(r.cells[index].plain.strip())),
                                       r.sort_key), reverse=reverse)


#: A reseller id as the modals name it (its name; the id when the name is not known).
ResellerName = Callable[[str | None], str]

#: How many targets a modal's plan lists one by one per group (the rest are counted; the
#: body scrolls, so a delete of every marked row still lists every target).
PLAN_NAMES = 500


def plan_scope_label(plan: Plan, name_of: ResellerName) -> str:
    """The plan's scope as the modal, the progress line and the toast all say it: `all
    resellers`, or the reseller's name with the scope's own words (`reseller:r-maria`, as
    the summary line says it)."""
    if plan.scope.is_all:
        return "all resellers"
    rid = plan.scope.reseller_id
    name = name_of(rid)
    return f"{name} ({plan.scope})" if name != rid else str(plan.scope)


def target_reseller(plan: Plan, target: Target | None) -> str | None:
    """The reseller (id) a target is for: the one the operator chose (adopt, create), its
    records' reseller, or the reseller of a reseller scope's clear-all (its attributed
    orphan instances have no record yet); None: nobody's (an orphan instance)."""
    chosen = getattr(plan.request, "reseller_id", None)
    if chosen is not None:
        return str(chosen)
    if target is not None and target.reseller_id is not None:
        return target.reseller_id
    if plan.operation is OperationKind.CLEAR_ALL and not plan.scope.is_all:
        return plan.scope.reseller_id
    return None


def _for_whom(plan: Plan, reseller_id: str | None, name_of: ResellerName) -> str:
    if reseller_id is not None:
        return f"for reseller {name_of(reseller_id)}"
    return "for no reseller (no record)"


def _names(names: list[str], limit: int) -> str:
    listed = ", ".join(names[:limit])
    return listed + (f", … +{len(names) - limit}" if len(names) > limit else "")


def plan_body(plan: Plan, name_of: ResellerName, *, limit: int = PLAN_NAMES,
              scope_line: bool = True) -> list[str]:
    """What a confirmation says, from the plan alone: its scope, then per reseller the
    targets it is for, grouped by what each is and the steps the run will take on it (the
    plan's own words, `Target.step_words`; the steps on a line of their own, so that the
    longest fits 80 columns), then every skipped target with why (`skip_reason`) and how to
    include it (`advice.include_hint`), then the plan's notes. Lines are outside text:
    shown literally by the caller."""
    lines: list[str] = []
    if scope_line and getattr(plan.request, "reseller_id", None) is None:
        lines.append(f"scope: {plan_scope_label(plan, name_of)}")
    if not plan.targets:  # create: the name is chosen when it runs
        lines.append(f"{_for_whom(plan, target_reseller(plan, None), name_of)}:")
        words = [step_text(step) for step in plan.steps]
        lines.append("  steps: " + " → ".join(words) if words else "  (no steps)")
    # reseller -> (what the target is, its steps) -> names
    groups: dict[str | None, dict[tuple[str, str], list[str]]] = {}
    for target in plan.actionable:
        what = f"{target.kind.value.replace('_', ' ')} ({target.state_text()})"
        steps = " → ".join(target.step_words())
        by_steps = groups.setdefault(target_reseller(plan, target), {})
        by_steps.setdefault((what, steps), []).append(target.name)
    for reseller_id in sorted(groups, key=lambda r: (r is None, name_of(r) if r else "")):
        by_steps = groups[reseller_id]
        count = sum(len(names) for names in by_steps.values())
        lines.append(f"{_for_whom(plan, reseller_id, name_of)} · "
                     f"{count} name{'s' * (count != 1)}:")
        for (what, steps), names in by_steps.items():
            lines.append(f"  {what} · {len(names)}: {_names(names, limit)}")
            lines.append(f"    steps: {steps}")
    skipped = plan.skipped
    if skipped:
        lines.append(f"skipped · {len(skipped)} name{'s' * (len(skipped) != 1)} "
                     "(why, and how to include it):")
        for target in skipped[:limit]:
            lines.append(f"  {target.name}: {target.skip_reason}")
            hint = include_hint(target.skip, plan.operation, target.name) \
                if target.skip is not None else ""
            if hint:
                lines.append(f"    to include it: {hint}")
        if len(skipped) > limit:
            lines.append(f"  … and {len(skipped) - limit} more")
    lines += [f"note: {note}" for note in plan.notes]
    if not plan.runnable:
        lines.append("Nothing to do: every target is skipped.")
    return lines


def plan_count_line(plan: Plan) -> str:
    """`39 names will be deleted (verified) · 2 skipped`: the clear-all's first line."""
    n, skipped = len(plan.actionable), len(plan.skipped)
    text = f"{n} name{'s' * (n != 1)} will be deleted (verified)"
    return text + (f" · {skipped} skipped" if skipped else "")


def row_kind_text(row: Row) -> str:
    if isinstance(row, LinkedRow):
        return "linked"
    if isinstance(row, OrphanInstanceRow):
        return "orphan instance (no database record)"
    if row.probe is OrphanProbe.FOREIGN:
        return (f"orphan record here ({FOREIGN_LABEL}: another Evolution server sharing the "
                "database holds the name; never touched from here)")
    return f"orphan record (name {row.probe.value} on Evolution)"


def pane_target(row: PaneRow) -> Target:
    """A dashboard row as the target an operation would see (its kind, its instance's state,
    its records, its probe), so the dashboard asks the service's rules
    (`LifecycleService.refusal`) instead of repeating them."""
    found = row.row
    state = found.instance.state if isinstance(found, (LinkedRow, OrphanInstanceRow)) else None
    records = [found.record] if isinstance(found, (LinkedRow, OrphanRecordRow)) else []
    probed = _PROBED.get(row.probe or "")
    return Target(row.name, records, state, probed, row.kind)


_PROBED = {p.value: p for p in ProbeState}
