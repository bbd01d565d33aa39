"""Classification of every name: linked, orphan instance or orphan record (pure, no I/O).

Owns `reconcile` (instances x records x resellers x probes -> `Reconciliation`) and
`scope` (the part of a reconciliation that belongs to one reseller).

Names match exactly (case-sensitive). Nothing is merged: duplicate records of one name
are each their own row and are reported in `duplicate_names`; names differing only in
case are reported in `case_collisions`.

Speed: 100k instances x 100k records must take well under 0.5 s, so the work is done with
dicts and set operations, rows are NamedTuples, per-row work is inlined and the only sort
is over distinct names (duplicates are sorted inside their tiny group).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import filterfalse

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
)
from tui.reconcile.naming import PLATFORM_NAME_RE, name_base, suspicious_name_reasons
from tui.store.models import ConnectionRecord, InvalidRow, Reseller

#: Record `status` values (lower-cased) that claim the connection is up / down.
CONNECTED_STATUSES = frozenset({"connected", "open", "online"})
DISCONNECTED_STATUSES = frozenset({"disconnected", "closed", "close", "offline"})

_DOWN_STATES = (InstanceState.CLOSE, InstanceState.CONNECTING)
_PROBE_OF = {
    ProbeState.ABSENT: OrphanProbe.ABSENT,
    ProbeState.RESERVED: OrphanProbe.RESERVED,
    ProbeState.PRESENT: OrphanProbe.PRESENT,
}
_ORPHAN_NOTES = {
    OrphanProbe.ABSENT: "name is free on the server",
    OrphanProbe.RESERVED: "server still holds the name but does not list it (ghost)",
    OrphanProbe.PRESENT: "probe sees the instance although fetchInstances did not list it (race)",
    OrphanProbe.UNKNOWN: "not probed",
}
_NON_DIGITS = re.compile(r"[^0-9]")


def reconcile(
    instances: Sequence[Instance],
    records: Sequence[ConnectionRecord],
    resellers: Sequence[Reseller],
    probes: Mapping[str, ProbeResult] | None = None,
    invalid_rows: Sequence[InvalidRow] = (),
) -> Reconciliation:
    """Classify every instance and record by exact name (see module docstring)."""
    probes = probes or {}
    resellers_by_id = _resellers_by_id(resellers)
    inst_by_name, inst_groups = _group(instances, [i.name for i in instances], _instance_key)
    rec_by_name, rec_groups = _group(records, [r.instance_name for r in records], _record_key)
    inst_names = inst_by_name.keys()
    rec_names = rec_by_name.keys()
    all_names = inst_names | rec_names
    suspicious = _suspicious(all_names)

    linked = _linked_rows(
        sorted(inst_names & rec_names),
        inst_by_name, inst_groups, rec_by_name, rec_groups,
        resellers_by_id, probes, suspicious,
    )
    orphan_instances = _orphan_instance_rows(
        sorted(inst_names - rec_names), inst_by_name, inst_groups, resellers, suspicious
    )
    orphan_records = _orphan_record_rows(
        sorted(rec_names - inst_names), rec_by_name, rec_groups, resellers_by_id, probes, suspicious
    )
    duplicates = _duplicate_names(inst_by_name, inst_groups, rec_by_name, rec_groups)
    collisions = _case_collisions(all_names, inst_names, rec_names)
    invalid = sorted(invalid_rows, key=lambda row: (row.doc_id, row.reseller_id or "", row.reason))
    return _build(
        linked, orphan_instances, orphan_records, invalid, duplicates, collisions,
        n_instances=len(instances), n_records=len(records),
    )


def scope(recon: Reconciliation, reseller_id: str | None) -> Reconciliation:
    """Only the rows that belong to `reseller_id`.

    A row belongs to the reseller_id of its record (linked rows, orphan records) or to the
    reseller an orphan instance is attributed to. `reseller_id=None` gives the rows that
    belong to nobody (records without reseller_id, unattributed orphan instances).
    Report entries are cut down to what the reseller owns; what was cut is only counted.
    """
    linked = [row for row in recon.linked if row.record.reseller_id == reseller_id]
    orphan_instances = [row for row in recon.orphan_instances if row.owner_id == reseller_id]
    orphan_records = [row for row in recon.orphan_records if row.record.reseller_id == reseller_id]
    invalid = [row for row in recon.invalid_rows if row.reseller_id == reseller_id]

    duplicates = []
    for dup in recon.duplicate_names:
        mine = [i for i, rid in enumerate(dup.reseller_ids) if rid == reseller_id]
        if mine:
            duplicates.append(
                dup.model_copy(update={
                    "doc_ids": [dup.doc_ids[i] for i in mine],
                    "reseller_ids": [reseller_id] * len(mine),
                    "hidden_records": dup.hidden_records + len(dup.doc_ids) - len(mine),
                })
            )

    visible = {row.name for row in (*linked, *orphan_instances, *orphan_records)}
    collisions = []
    for col in recon.case_collisions:
        names = [name for name in col.names if name in visible]
        if names:
            collisions.append(
                col.model_copy(update={
                    "names": names,
                    "instance_names": [n for n in col.instance_names if n in visible],
                    "record_names": [n for n in col.record_names if n in visible],
                    "hidden_names": col.hidden_names + len(col.names) - len(names),
                })
            )

    return _build(
        linked, orphan_instances, orphan_records, invalid, duplicates, collisions,
        n_instances=len({id(row.instance) for row in linked}) + len(orphan_instances),
        n_records=len({id(row.record) for row in linked}) + len(orphan_records),
    )


def owner_ids(recon: Reconciliation) -> list[str | None]:
    """Every distinct owner of a row (reseller ids, and None for ownerless rows), sorted."""
    owners = {row.owner_id for row in recon.rows()}
    return sorted(owners, key=lambda rid: (rid is not None, rid or ""))


# --- building blocks -------------------------------------------------------------------


def _instance_key(instance: Instance) -> tuple[str, ...]:
    return (instance.id or "", instance.state or "", instance.owner or "")


def _record_key(record: ConnectionRecord) -> tuple[object, ...]:
    return (record.reseller_id or "", record.reseller_id is not None, record.doc_id, record.id or "")


def _group(items, names, key):
    """`{name: item}` plus, only for names carried by several items, `{name: [items sorted]}`.

    For a repeated name, `{name: item}` holds the first item of the sorted group.
    """
    by_name = dict(zip(names, items))
    groups: dict[str, list] = {}
    if len(by_name) != len(items):
        repeated = {name for name, n in Counter(names).items() if n > 1}
        for name, item in zip(names, items):
            if name in repeated:
                groups.setdefault(name, []).append(item)
        for name, members in groups.items():
            members.sort(key=key)
            by_name[name] = members[0]
    return by_name, groups


def _resellers_by_id(resellers: Iterable[Reseller]) -> dict[str, Reseller]:
    by_id: dict[str, Reseller] = {}
    for reseller in sorted(resellers, key=lambda r: (r.id, r.name)):
        by_id.setdefault(reseller.id, reseller)
    return by_id


def _suspicious(names: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """`{name: reasons}` for the names with reasons; plain ASCII identifiers are skipped in C."""
    candidates = set(filterfalse(str.isidentifier, names))
    candidates.update(filterfalse(str.isascii, names))
    found = {name: tuple(suspicious_name_reasons(name)) for name in candidates}
    return {name: reasons for name, reasons in found.items() if reasons}


def _linked_rows(names, inst_by_name, inst_groups, rec_by_name, rec_groups,
                 resellers_by_id, probes, suspicious) -> list[LinkedRow]:
    rows = []
    append = rows.append
    for name in names:
        susp = suspicious.get(name, ())
        probe = probes.get(name)
        if inst_groups and name in inst_groups or rec_groups and name in rec_groups:
            pairs = [
                (inst, rec)
                for inst in inst_groups.get(name) or (inst_by_name[name],)
                for rec in rec_groups.get(name) or (rec_by_name[name],)
            ]
        else:
            pairs = ((inst_by_name[name], rec_by_name[name]),)
        for inst, rec in pairs:
            reseller = resellers_by_id.get(rec.reseller_id)
            drift = _drift(inst, rec, reseller, probe)
            append(LinkedRow(name, inst, rec, reseller, drift, susp))
    return rows


def _drift(inst: Instance, rec: ConnectionRecord, reseller: Reseller | None,
           probe: ProbeResult | None) -> tuple[str, ...]:
    """Short reasons why the record and the instance of one name disagree (() if none)."""
    reasons = []
    status = rec.status
    state = inst.state
    if status and state is not None:
        said = status.strip().lower()
        if said in CONNECTED_STATUSES and state in _DOWN_STATES:
            reasons.append(f"record says {status!r} but instance is {state.value}")
        elif said in DISCONNECTED_STATUSES and state is InstanceState.OPEN:
            reasons.append(f"record says {status!r} but instance is open")
    phone = rec.phone_number
    if phone and inst.owner:
        owner = inst.owner_number
        if phone != owner and owner and not same_phone(phone, owner):
            reasons.append(f"record phone {phone} but instance owner {owner}")
    if reseller is None:
        rid = rec.reseller_id
        reasons.append(f"unknown reseller {rid!r}" if rid is not None else "record has no reseller_id")
    if probe is not None and probe.state is not ProbeState.PRESENT:
        reasons.append(f"probe says {probe.state.value} although fetchInstances lists it (race)")
    return tuple(reasons) if reasons else ()


def same_phone(a: str, b: str) -> bool:
    """Equal phone numbers, ignoring formatting (`+55 (11) 9...`) and the Brazilian 9th digit.

    WhatsApp JIDs of older Brazilian mobiles lack the 9 added after the area code in 2012-16,
    so `5511987654321` and `551187654321` are the same line.
    """
    a, b = _NON_DIGITS.sub("", a), _NON_DIGITS.sub("", b)
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return (
        len(long_) == 13 and len(short) == 12 and long_.startswith("55")
        and long_[4] == "9" and long_[:4] + long_[5:] == short
    )


def _orphan_instance_rows(names, inst_by_name, inst_groups, resellers, suspicious):
    attribution = _attribution_by_base(resellers)
    unattributed = (None, "name does not follow the platform pattern <base>_<n>_<ts>")
    rows = []
    append = rows.append
    for name in names:
        match = PLATFORM_NAME_RE.fullmatch(name)
        if match is None:
            reseller, note = unattributed
        else:
            base = match[1]
            reseller, note = attribution.get(base) or (None, f"no reseller with prefix {base}_")
        susp = suspicious.get(name, ())
        for inst in inst_groups.get(name) or (inst_by_name[name],):
            append(OrphanInstanceRow(name, inst, reseller, note, susp))
    return rows


def _attribution_by_base(resellers: Iterable[Reseller]) -> dict[str, tuple[Reseller | None, str]]:
    """`{base: (reseller or None, note)}`: one reseller per base, or None when ambiguous."""
    by_base: dict[str, dict[str, Reseller]] = {}
    for reseller in resellers:
        by_base.setdefault(name_base(reseller.name), {}).setdefault(reseller.id, reseller)
    attribution = {}
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


def _orphan_record_rows(names, rec_by_name, rec_groups, resellers_by_id, probes, suspicious):
    rows = []
    append = rows.append
    unknown = OrphanProbe.UNKNOWN
    for name in names:
        result = probes.get(name)
        probe = _PROBE_OF[result.state] if result is not None else unknown
        note = _ORPHAN_NOTES[probe]
        susp = suspicious.get(name, ())
        for rec in rec_groups.get(name) or (rec_by_name[name],):
            append(OrphanRecordRow(name, rec, resellers_by_id.get(rec.reseller_id), probe, note, susp))
    return rows


def _duplicate_names(inst_by_name, inst_groups, rec_by_name, rec_groups) -> list[DuplicateName]:
    duplicates = []
    for name in sorted(inst_groups.keys() | rec_groups.keys()):
        recs = rec_groups.get(name) or ([rec_by_name[name]] if name in rec_by_name else [])
        n_inst = len(inst_groups.get(name) or ()) or (1 if name in inst_by_name else 0)
        duplicates.append(DuplicateName(
            name=name,
            doc_ids=[r.doc_id for r in recs],
            reseller_ids=[r.reseller_id for r in recs],
            instance_count=n_inst,
        ))
    return duplicates


def _case_collisions(all_names, inst_names, rec_names) -> list[CaseCollision]:
    if len(set(map(str.casefold, all_names))) == len(all_names):
        return []
    by_folded: dict[str, list[str]] = {}
    for name in all_names:
        by_folded.setdefault(name.casefold(), []).append(name)
    collisions = []
    for folded in sorted(by_folded):
        names = sorted(by_folded[folded])
        if len(names) > 1:
            collisions.append(CaseCollision(
                folded=folded,
                names=names,
                instance_names=[n for n in names if n in inst_names],
                record_names=[n for n in names if n in rec_names],
            ))
    return collisions


def _build(linked, orphan_instances, orphan_records, invalid, duplicates, collisions,
           *, n_instances: int, n_records: int) -> Reconciliation:
    probes = Counter(row.probe for row in orphan_records)
    counts = Counts(
        instances=n_instances,
        records=n_records,
        linked=len(linked),
        orphan_instances=len(orphan_instances),
        orphan_records=len(orphan_records),
        reserved=probes[OrphanProbe.RESERVED],
        absent=probes[OrphanProbe.ABSENT],
        present=probes[OrphanProbe.PRESENT],
        unknown=probes[OrphanProbe.UNKNOWN],
        drifted=sum(1 for row in linked if row.drift),
        invalid=len(invalid),
        duplicates=len(duplicates),
        case_collisions=len(collisions),
    )
    return Reconciliation.model_construct(
        linked=linked,
        orphan_instances=orphan_instances,
        orphan_records=orphan_records,
        invalid_rows=list(invalid),
        duplicate_names=duplicates,
        case_collisions=collisions,
        counts=counts,
    )
