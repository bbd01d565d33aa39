"""Classification of every name: linked, orphan instance or orphan record (pure, no I/O).

Owns `reconcile` (instances x records x resellers x probes -> `Reconciliation`) and
`scope` (the part of a reconciliation that belongs to one reseller).

Names match exactly (case-sensitive). Nothing is merged: duplicate records of one name
are each their own row and are reported in `duplicate_names`; names differing only in
case are reported in `case_collisions`.

Speed (100k instances x 100k records in ~0.3-0.45 s on a 2-core VM, see
`tests/bench/bench_reconcile.py`): the cost is memory traffic more than interpretation. 200k
pydantic objects and their dicts do not fit in the CPU caches, so every walk over them costs
~15-20 ms per 100k, and a walk in random order several times that. Hence:
- the inputs are walked in their own (memory) order. Names are taken by C-level `map`s; one
  loop visits each record once, splits linked from orphan records and works out a linked
  row's drift inline (the status reason is cached per (status, state); the careful phone
  comparison only runs when the owner JID is not simply the phone plus the WhatsApp suffix;
  the full `drift_reasons` only for unknown resellers and contradicting probes);
- orphan rows are built by C-level `map`/`zip` passes (probe states read once per probe, in
  the probes' own order; prefix attribution computed once per base);
- suspicious names are looked for once per instance name and orphan record name (every
  record name is one or the other), and one `lower()` of all names joined usually shows
  that no name can collide by case;
- rows are NamedTuples built in input order, counted, then each list is sorted once by name
  (a stable sort; the rare repeated names are emitted group by group, already in
  (reseller_id, doc_id) order);
- the cyclic garbage collector is paused meanwhile (no reference cycles are created).
`scope` matches rows to their owner through the row's Reseller object (few distinct
objects), without reading every row's record.
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, count, filterfalse, repeat
from operator import attrgetter, gt, is_, itemgetter, not_
from typing import TYPE_CHECKING, TypeVar

from tui.evolution.models import Instance, InstanceState, ProbeResult, ProbeState
from tui.reconcile.models import (
    CaseCollision,
    Counts,
    DuplicateName,
    LinkedRow,
    OrphanInstanceRow,
    OrphanProbe,
    OrphanRecordRow,
    Reconciliation,
    Row,
)
from tui.reconcile.naming import PLATFORM_NAME_RE, name_base, suspicious_name_reasons
from tui.store.models import ConnectionRecord, InvalidRow, Reseller

#: Record `status` values (compared stripped and lower-cased) that claim the link is up/down.
CONNECTED_STATUSES = frozenset({"connected", "open", "online"})
DISCONNECTED_STATUSES = frozenset({"disconnected", "closed", "close", "offline"})

_OPEN = InstanceState.OPEN
_PRESENT = ProbeState.PRESENT
_PROBE_OF = {
    ProbeState.ABSENT: OrphanProbe.ABSENT,
    ProbeState.RESERVED: OrphanProbe.RESERVED,
    ProbeState.FOREIGN: OrphanProbe.FOREIGN,
    ProbeState.PRESENT: OrphanProbe.PRESENT,
}
ORPHAN_NOTES = {
    OrphanProbe.ABSENT: "name is free on the server",
    OrphanProbe.RESERVED: "server still holds the name but does not list it (ghost)",
    OrphanProbe.FOREIGN: "another Evolution server sharing the database holds the name",
    OrphanProbe.PRESENT: "probe sees the instance although fetchInstances did not list it (race)",
    OrphanProbe.UNKNOWN: "not probed",
}
NOT_PLATFORM_NOTE = "name does not follow the platform pattern <base>_<n>_<ts>"
_NON_DIGITS = re.compile(r"[^0-9]")
_UNPROBED = object()  # `getattr(None, "state", _UNPROBED)`: a None probe result is no probe
# keyed by a probe's state, or by `_UNPROBED` for a name whose probe result is None
_PROBE_OF_STATE: dict[object, OrphanProbe] = dict(
    [*_PROBE_OF.items(), (_UNPROBED, OrphanProbe.UNKNOWN)]
)
_by_name = itemgetter(0)
_first, _second = itemgetter(0), itemgetter(1)
_tuple_new = tuple.__new__  # builds a NamedTuple row without its Python-level __new__
_get_name = attrgetter("name")
_get_instance_name = attrgetter("instance_name")
_get_reseller_id = attrgetter("reseller_id")
_get_record_reseller_id = attrgetter("record.reseller_id")
_get_drift = itemgetter(LinkedRow._fields.index("drift"))
_reseller_of_linked = itemgetter(LinkedRow._fields.index("reseller"))
_reseller_of_orphan_record = itemgetter(OrphanRecordRow._fields.index("reseller"))
_reseller_of_orphan_instance = itemgetter(OrphanInstanceRow._fields.index("attributed_reseller"))
_get_probe = itemgetter(OrphanRecordRow._fields.index("probe"))
_JID_SUFFIX = "@s.whatsapp.net"

_T = TypeVar("_T")
# one of the three row types (each list of rows holds only one of them)
_RowT = TypeVar("_RowT", LinkedRow, OrphanInstanceRow, OrphanRecordRow)

if TYPE_CHECKING:
    # mypy checks the lists passed to `_trusted_reconciliation` against the model's fields
    _trusted_reconciliation = Reconciliation
else:
    # at run time the lists (built typed here) skip pydantic's validation of ~200k rows
    _trusted_reconciliation = Reconciliation.model_construct


def reconcile(
    instances: Sequence[Instance],
    records: Sequence[ConnectionRecord],
    resellers: Sequence[Reseller],
    probes: Mapping[str, ProbeResult] | None = None,
    invalid_rows: Sequence[InvalidRow] = (),
) -> Reconciliation:
    """Classify every instance and record by exact name (see module docstring)."""
    with _gc_paused():
        return _reconcile(instances, records, resellers, probes or {}, invalid_rows)


def scope(recon: Reconciliation, reseller_id: str | None) -> Reconciliation:
    """Only the rows that belong to `reseller_id`.

    A row belongs to the reseller_id of its record (linked rows, orphan records) or to the
    reseller an orphan instance is attributed to. `reseller_id=None` gives the rows that
    belong to nobody (records without reseller_id, unattributed orphan instances).
    Report entries are cut down to what the reseller owns; what was cut is only counted.
    """
    linked = _owned(recon.linked, _reseller_of_linked, _get_record_reseller_id, reseller_id)
    orphan_instances = _owned(
        recon.orphan_instances, _reseller_of_orphan_instance, _no_owner, reseller_id
    )
    orphan_records = _owned(
        recon.orphan_records, _reseller_of_orphan_record, _get_record_reseller_id, reseller_id
    )
    invalid = [row for row in recon.invalid_rows if row.reseller_id == reseller_id]

    duplicates = []
    for dup in recon.duplicate_names:
        mine = [i for i, rid in enumerate(dup.reseller_ids) if rid == reseller_id]
        if mine:
            duplicates.append(dup.model_copy(update={
                "doc_ids": [dup.doc_ids[i] for i in mine],
                "reseller_ids": [reseller_id] * len(mine),
                "hidden_records": dup.hidden_records + len(dup.doc_ids) - len(mine),
            }))

    collisions = []
    if recon.case_collisions:
        every: tuple[Row, ...] = (*linked, *orphan_instances, *orphan_records)
        visible = {row.name for row in every}
        for col in recon.case_collisions:
            names = [name for name in col.names if name in visible]
            if names:
                collisions.append(col.model_copy(update={
                    "names": names,
                    "instance_names": [n for n in col.instance_names if n in visible],
                    "record_names": [n for n in col.record_names if n in visible],
                    "hidden_names": col.hidden_names + len(col.names) - len(names),
                }))

    return _build(
        linked, orphan_instances, orphan_records, invalid, duplicates, collisions,
        n_instances=len({id(row.instance) for row in linked}) + len(orphan_instances),
        n_records=len({id(row.record) for row in linked}) + len(orphan_records),
    )


def owner_ids(recon: Reconciliation) -> list[str | None]:
    """Every distinct owner of a row (reseller ids, then None for ownerless rows)."""
    owners = {row.owner_id for row in recon.rows()}
    return sorted(owners, key=lambda rid: (rid is None, rid or ""))


def same_phone(a: str, b: str) -> bool:
    """Equal phone numbers, ignoring formatting (`+55 (11) 9...`) and the Brazilian 9th digit.

    WhatsApp JIDs of older Brazilian mobiles lack the 9 added after the area code in 2012-16,
    so `5511987654321` and `551187654321` are the same line.
    """
    a = a if a.isascii() and a.isdigit() else _NON_DIGITS.sub("", a)
    b = b if b.isascii() and b.isdigit() else _NON_DIGITS.sub("", b)
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    return (
        len(long_) == 13 and len(short) == 12 and long_.startswith("55")
        and long_[4] == "9" and long_[:4] + long_[5:] == short
    )


def drift_reasons(
    instance: Instance,
    record: ConnectionRecord,
    reseller: Reseller | None,
    probe: ProbeResult | None = None,
) -> tuple[str, ...]:
    """Short reasons why the record and the instance of one name disagree (() if none)."""
    status, state = record.status, instance.state
    reasons = list(_status_drift(status, state)) if status and state is not None else []
    if phone := record.phone_number:
        reasons += _phone_drift(phone, instance.owner_number)
    if reseller is None:
        rid = record.reseller_id
        reasons.append("record has no reseller_id" if rid is None else f"unknown reseller {rid!r}")
    if probe is not None and probe.state is not ProbeState.PRESENT:
        reasons.append(f"probe says {probe.state.value} although fetchInstances lists it (race)")
    return tuple(reasons)


# --- the pass ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    """What every row needs to know, computed once per reconciliation."""

    # looked up with a record's reseller_id, which may be None (never a key: no reseller)
    resellers_by_id: dict[str | None, Reseller]
    attribution: dict[str, tuple[Reseller | None, str]]
    probes: Mapping[str, ProbeResult]
    probe_of: dict[str, OrphanProbe]  # what the probe of each probed name says


def _reconcile(instances: Sequence[Instance], records: Sequence[ConnectionRecord],
               resellers: Sequence[Reseller], probes: Mapping[str, ProbeResult],
               invalid_rows: Sequence[InvalidRow]) -> Reconciliation:
    """`reconcile` without the GC pause: rows of the names carried once, then of the
    repeated names, then the reports."""
    inst_names = list(map(_get_name, instances))
    rec_names = list(map(_get_instance_name, records))
    inst_by_name = dict(zip(inst_names, instances))
    rec_name_set = set(rec_names)
    inst_groups = _groups(instances, inst_names, len(inst_by_name), _instance_key)
    rec_groups = _groups(records, rec_names, len(rec_name_set), _record_key)
    repeated = sorted(inst_groups.keys() | rec_groups.keys())
    resellers_by_id = _resellers_by_id(resellers)
    ctx = _Context(
        resellers_by_id=resellers_by_id,
        attribution=_attribution_by_base(resellers_by_id),
        probes=probes,
        probe_of=_probe_of(probes),
    )

    linked: list[LinkedRow] = []
    orphan_instances: list[OrphanInstanceRow] = []
    orphan_records: list[OrphanRecordRow] = []
    # Names carried by at most one instance and one record, in input order.
    skip = set(repeated)
    _record_rows(*_without(skip, rec_names, records), inst_by_name, ctx, linked, orphan_records)
    single_instances = len(inst_by_name) - len(inst_by_name.keys() & skip)
    if len(linked) < single_instances:  # else every such instance is linked
        unrecorded = filterfalse(rec_name_set.__contains__, inst_names)
        names = list(filterfalse(skip.__contains__, unrecorded))
        insts = list(map(inst_by_name.__getitem__, names))  # the only instance of the name
        _orphan_instance_rows(names, insts, ctx, orphan_instances)
    # Repeated names: every (instance, record) pair of the name is its own row, emitted in
    # group order; the stable sorts in `_build` keep that order among equal names.
    single_recs = _records_named(records, rec_names, inst_groups.keys() - rec_groups.keys())
    duplicates = []
    for name in repeated:
        insts = inst_groups.get(name) or ([inst_by_name[name]] if name in inst_by_name else [])
        recs = rec_groups.get(name) or single_recs.get(name, [])
        for rec in recs:
            for inst in insts or [None]:
                by_inst = {} if inst is None else {name: inst}
                _record_rows([name], [rec], by_inst, ctx, linked, orphan_records)
        if not recs:
            _orphan_instance_rows([name] * len(insts), insts, ctx, orphan_instances)
        duplicates.append(DuplicateName(
            name=name,
            doc_ids=[rec.doc_id for rec in recs],
            reseller_ids=[rec.reseller_id for rec in recs],
            instance_count=len(insts),
        ))
    # Every record name is an instance name or the name of an orphan record row.
    all_names = [*inst_names, *map(_by_name, orphan_records)]
    suspicious = _suspicious(all_names)
    _mark_suspicious(linked, suspicious)
    _mark_suspicious(orphan_instances, suspicious)
    _mark_suspicious(orphan_records, suspicious)

    collisions = _case_collisions(all_names, inst_names, rec_names)
    invalid = sorted(invalid_rows, key=lambda row: (row.doc_id, row.reseller_id or "", row.reason))
    return _build(
        linked, orphan_instances, orphan_records, invalid, duplicates, collisions,
        n_instances=len(instances), n_records=len(records), sort_rows=True,
    )


def _record_rows(
    names: Sequence[str],
    records: Sequence[ConnectionRecord],
    inst_by_name: Mapping[str, Instance],
    ctx: _Context,
    linked: list[LinkedRow],
    orphan_records: list[OrphanRecordRow],
) -> None:
    """One row per record (`names[i]` is the name of `records[i]`): linked when the name is
    an instance, else orphan record.

    The drift of a linked row is worked out inline from the parts of `drift_reasons` (the
    status part is cached per (status, state); an owner JID that is the record's phone plus
    the WhatsApp suffix needs no careful phone comparison). Orphan records are set aside and
    built in bulk.
    """
    reseller_get = ctx.resellers_by_id.get
    probe_get = ctx.probes.get
    probe_at = ctx.probes.__getitem__  # for a name in `probed` (the same keys)
    probed = ctx.probe_of  # a dict, for speed; a linked name is rarely probed
    link = linked.append
    new, status_drift, phone_drift, none = _tuple_new, _status_drift, _phone_drift, ()
    orphan_names: list[str] = []
    orphans: list[ConnectionRecord] = []
    for name, rec, inst in zip(names, records, map(inst_by_name.get, names)):
        if inst is None:
            orphan_names.append(name)
            orphans.append(rec)
            continue
        reseller = reseller_get(rec.reseller_id)
        if reseller is None or name in probed and probe_at(name).state is not _PRESENT:
            drift = drift_reasons(inst, rec, reseller, probe_get(name))  # it has more to say
        else:  # the parts of drift_reasons that apply, the common cases cheaply
            status, state = rec.status, inst.state
            drift = status_drift(status, state) if status and state is not None else none
            # The phones are compared carefully if the status drifts or the owner JID is not
            # simply the record's phone plus the WhatsApp suffix.
            phone = rec.phone_number
            if phone and (drift or (owner := inst.owner) and owner != phone + _JID_SUFFIX):
                drift += phone_drift(phone, inst.owner_number)
        link(new(LinkedRow, (name, inst, rec, reseller, drift, none)))
    if orphans:
        _orphan_record_rows(orphan_names, orphans, ctx, orphan_records)


def _orphan_record_rows(
    names: list[str], records: list[ConnectionRecord], ctx: _Context, rows: list[OrphanRecordRow]
) -> None:
    """One row per record whose name is no instance, with what the probe says of the name."""
    probes = list(map(ctx.probe_of.get, names, repeat(OrphanProbe.UNKNOWN)))
    resellers = map(ctx.resellers_by_id.get, map(_get_reseller_id, records))
    notes = map(ORPHAN_NOTES.__getitem__, probes)
    fields = zip(names, records, resellers, probes, notes, repeat(()))
    rows.extend(map(_tuple_new, repeat(OrphanRecordRow), fields))


def _orphan_instance_rows(
    names: list[str], instances: list[Instance], ctx: _Context, rows: list[OrphanInstanceRow]
) -> None:
    """One row per instance without a record, attributed by the base of its name.

    The pattern is matched per name in C; the attribution is computed once per base.
    """
    bases = [match and match[1] for match in map(PLATFORM_NAME_RE.fullmatch, names)]
    attribution = ctx.attribution
    by_base = {
        base: attribution.get(base) or (None, f"no reseller with prefix {base}_")
        for base in set(bases) if base is not None
    }
    by_base[None] = (None, NOT_PLATFORM_NOTE)
    pairs = list(map(by_base.__getitem__, bases))
    fields = zip(names, instances, map(_first, pairs), map(_second, pairs), repeat(()))
    rows.extend(map(_tuple_new, repeat(OrphanInstanceRow), fields))


def _mark_suspicious(rows: list[_RowT], suspicious: dict[str, tuple[str, ...]]) -> None:
    """Fill in the `suspicious` field of the (rare) rows whose name has reasons.

    Rows are built with `suspicious=()`; finding the few others is one pass in C.
    """
    if not suspicious:
        return
    for i in list(compress(count(), map(suspicious.__contains__, map(_by_name, rows)))):
        rows[i] = rows[i]._replace(suspicious=suspicious[rows[i][0]])


# --- building blocks -------------------------------------------------------------------


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while ~200k rows are built, then hand them to the oldest generation.

    Without the pause, the new rows trigger repeated collections that walk the 200k inputs;
    re-enabling alone would make the next allocation scan all the rows at once. `freeze()` +
    `unfreeze()` moves every young object into the oldest generation without a scan (where a
    long-lived result belongs anyway). Nothing here creates reference cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:  # never undo a freeze the application made
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _status_kind(status: str) -> int:
    """1 if the record status claims connected, -1 if disconnected, 0 otherwise."""
    said = status.strip().lower()
    return 1 if said in CONNECTED_STATUSES else -1 if said in DISCONNECTED_STATUSES else 0


@lru_cache(maxsize=1024, typed=True)
def _status_drift(status: str, state: InstanceState) -> tuple[str, ...]:
    """The drift reason when the record's `status` contradicts the instance's `state`, if any.

    There are few distinct (status, state) pairs, so the answer is cached (rows with the same
    contradiction share one tuple). `typed`: a plain "open" string is not InstanceState.OPEN.
    """
    kind = _status_kind(status)
    if kind > 0 and state is not _OPEN:
        return (f"record says {status!r} but instance is {state.value}",)
    if kind < 0 and state is _OPEN:
        return (f"record says {status!r} but instance is open",)
    return ()


def _phone_drift(phone: str, owner: str) -> tuple[str, ...]:
    """The drift reason when the record's phone is not the instance's owner number, if any."""
    if owner and not same_phone(phone, owner):
        return (f"record phone {phone} but instance owner {owner}",)
    return ()


def _probe_of(probes: Mapping[str, ProbeResult]) -> dict[str, OrphanProbe]:
    """`{name: what its probe says}`, walking the probes in their own (memory) order."""
    states = map(getattr, probes.values(), repeat("state"), repeat(_UNPROBED))
    return dict(zip(probes.keys(), map(_PROBE_OF_STATE.__getitem__, states)))


def _without(
    excluded: Collection[str], names: list[str], items: Sequence[_T]
) -> tuple[list[str], Sequence[_T]]:
    """`(names, items)` without the items whose name is in `excluded`, in order (in C)."""
    if not excluded:
        return names, items
    keep = list(map(not_, map(excluded.__contains__, names)))
    return list(compress(names, keep)), list(compress(items, keep))


def _owned(
    rows: list[_RowT],
    reseller_of: Callable[[_RowT], Reseller | None],
    owner_of_unknown: Callable[[_RowT], str | None],
    reseller_id: str | None,
) -> list[_RowT]:
    """The rows owned by `reseller_id`, in order.

    A row's Reseller (`reseller_of(row)`, the attributed one for an orphan instance) was looked
    up by the row's owner id, so its `id` is the owner. There are few distinct Reseller
    objects: their ids are compared once each, and the rows are matched to them by object
    identity, in C (reading each row, not its record). Rows without a Reseller are asked
    `owner_of_unknown(row)`.
    """
    resellers = list(map(reseller_of, rows))
    keys = list(map(id, resellers))
    distinct = dict(zip(keys, resellers))
    mine = {key for key, r in distinct.items() if r is not None and r.id == reseller_id}
    keep = list(map(mine.__contains__, keys))
    if id(None) in distinct:
        for i in compress(count(), map(is_, resellers, repeat(None))):
            keep[i] = owner_of_unknown(rows[i]) == reseller_id
    return list(compress(rows, keep))


def _no_owner(row: OrphanInstanceRow) -> None:
    """The owner of an orphan instance that is attributed to no reseller."""
    return None


def _instance_key(instance: Instance) -> tuple[str, ...]:
    return (instance.id or "", instance.state or "", instance.owner or "")


def _record_key(record: ConnectionRecord) -> tuple[object, ...]:
    return (record.reseller_id or "", record.reseller_id is not None, record.doc_id, record.id or "")


def _groups(
    items: Sequence[_T], names: list[str], n_distinct: int, key: Callable[[_T], tuple[object, ...]]
) -> dict[str, list[_T]]:
    """`{name: items sorted by key}` for the names carried by several items (usually {})."""
    if n_distinct == len(names):
        return {}
    counts = Counter(names)
    repeated = set(compress(counts.keys(), map(gt, counts.values(), repeat(1))))
    groups: dict[str, list[_T]] = {}
    for name, item in compress(zip(names, items), map(repeated.__contains__, names)):
        groups.setdefault(name, []).append(item)
    for members in groups.values():
        members.sort(key=key)
    return groups


def _records_named(
    records: Sequence[ConnectionRecord], rec_names: list[str], wanted: set[str]
) -> dict[str, list[ConnectionRecord]]:
    if not wanted:
        return {}
    return {name: [rec] for rec, name in zip(records, rec_names) if name in wanted}


def _resellers_by_id(resellers: Iterable[Reseller]) -> dict[str | None, Reseller]:
    by_id: dict[str | None, Reseller] = {}
    for reseller in sorted(resellers, key=lambda r: (r.id, r.name)):
        by_id.setdefault(reseller.id, reseller)
    return by_id


def _attribution_by_base(
    resellers_by_id: Mapping[str | None, Reseller],
) -> dict[str, tuple[Reseller | None, str]]:
    """`{base: (reseller or None, note)}`: the one reseller of a base, or None when ambiguous."""
    by_base: dict[str, dict[str, Reseller]] = {}
    for reseller in resellers_by_id.values():
        by_base.setdefault(name_base(reseller.name), {})[reseller.id] = reseller
    attribution: dict[str, tuple[Reseller | None, str]] = {}
    for base, owners in by_base.items():
        ordered = [owners[rid] for rid in sorted(owners)]
        if len(ordered) == 1:
            attribution[base] = (ordered[0], f"prefix {base}_ of reseller {_label(ordered[0])}")
        else:
            labels = ", ".join(_label(r) for r in ordered)
            attribution[base] = (None, f"ambiguous: resellers {labels}")
    return attribution


def _label(reseller: Reseller) -> str:
    return f"{reseller.name} ({reseller.id})" if reseller.name else reseller.id


def _suspicious(names: list[str]) -> dict[str, tuple[str, ...]]:
    """`{name: reasons}` for names with reasons; plain ASCII identifiers are skipped in C.

    The names are walked as a list (in input order, repeats allowed): a set would be walked
    in hash order, at random places in memory.
    """
    candidates = set(filterfalse(str.isidentifier, names))
    if not "".join(names).isascii():
        candidates.update(filterfalse(str.isascii, names))
    found = {name: tuple(suspicious_name_reasons(name)) for name in candidates}
    return {name: reasons for name, reasons in found.items() if reasons}


def _case_collisions(
    all_names: list[str], inst_names: list[str], rec_names: list[str]
) -> list[CaseCollision]:
    """Groups of distinct names with the same `lower()` (`all_names` holds every name at least
    once; the lists may repeat names).

    Only a name that `lower()` changes can collide. Usually none does, which one `lower()` of
    all names joined says at once; otherwise the names that are not already lower-case are
    looked at (skipping the others in C).
    """
    joined = "".join(all_names)
    if joined.lower() == joined:
        return []
    inst_set, rec_set = set(inst_names), set(rec_names)
    by_lower: dict[str, set[str]] = {}
    for distinct in (inst_set, rec_set):
        for name in filterfalse(str.islower, distinct):
            lower = name.lower()
            if lower != name:
                by_lower.setdefault(lower, set()).add(name)
    collisions = []
    for lower in sorted(by_lower):
        spellings = by_lower[lower]
        if lower in inst_set or lower in rec_set:
            spellings.add(lower)
        if len(spellings) > 1:
            names = sorted(spellings)
            collisions.append(CaseCollision(
                folded=lower,
                names=names,
                instance_names=[n for n in names if n in inst_set],
                record_names=[n for n in names if n in rec_set],
            ))
    return collisions


def _build(
    linked: list[LinkedRow],
    orphan_instances: list[OrphanInstanceRow],
    orphan_records: list[OrphanRecordRow],
    invalid: Sequence[InvalidRow],
    duplicates: list[DuplicateName],
    collisions: list[CaseCollision],
    *,
    n_instances: int,
    n_records: int,
    sort_rows: bool = False,
) -> Reconciliation:
    """The `Reconciliation` of these lists; with `sort_rows`, the row lists are sorted by name
    in place after counting (counting walks the rows while they are still in input order)."""
    probes = Counter(map(_get_probe, orphan_records))
    counts = Counts(
        instances=n_instances,
        records=n_records,
        linked=len(linked),
        orphan_instances=len(orphan_instances),
        orphan_records=len(orphan_records),
        reserved=probes[OrphanProbe.RESERVED],
        foreign=probes[OrphanProbe.FOREIGN],
        absent=probes[OrphanProbe.ABSENT],
        present=probes[OrphanProbe.PRESENT],
        unknown=probes[OrphanProbe.UNKNOWN],
        drifted=sum(map(bool, map(_get_drift, linked))),
        invalid=len(invalid),
        duplicates=len(duplicates),
        case_collisions=len(collisions),
    )
    if sort_rows:
        for rows in (linked, orphan_instances, orphan_records):
            rows.sort(key=_by_name)
    return _trusted_reconciliation(
        linked=linked,
        orphan_instances=orphan_instances,
        orphan_records=orphan_records,
        invalid_rows=list(invalid),
        duplicate_names=duplicates,
        case_collisions=collisions,
        counts=counts,
    )
