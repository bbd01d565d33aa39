"""Example-based tests of `tui.reconcile.classify`: every class, drift reason, attribution,
duplicates, case collisions, suspicious names, ordering and tenant scope."""

from __future__ import annotations

from tui.evolution.models import Instance, InstanceState, ProbeResult, ProbeState
from tui.reconcile import (
    LinkedRow,
    OrphanInstanceRow,
    OrphanProbe,
    OrphanRecordRow,
    owner_ids,
    reconcile,
    same_phone,
    scope,
)
from tui.store.models import ConnectionRecord, InvalidRow, Reseller

FABIO = Reseller(id="r1", name="Fabio")
ANA = Reseller(id="r2", name="Ana Lúcia")
RESELLERS = [FABIO, ANA]
OPEN, CLOSE, CONNECTING = InstanceState.OPEN, InstanceState.CLOSE, InstanceState.CONNECTING


def inst(name: str, state: InstanceState | None = None, owner: str | None = None) -> Instance:
    return Instance(name=name, state=state, owner=owner)


def rec(doc_id: str, name: str, reseller_id: str | None = "r1", status: str | None = None,
        phone: str | None = None) -> ConnectionRecord:
    return ConnectionRecord(doc_id=doc_id, instance_name=name, reseller_id=reseller_id,
                            status=status, phone_number=phone)


def probe(name: str, state: ProbeState) -> ProbeResult:
    return ProbeResult(name=name, state=state)


def linked_drift(instance: Instance, record: ConnectionRecord, **kw) -> tuple[str, ...]:
    recon = reconcile([instance], [record], RESELLERS, **kw)
    assert len(recon.linked) == 1 and not recon.orphan_instances and not recon.orphan_records
    return recon.linked[0].drift


# --- linked and drift --------------------------------------------------------------------


def test_consistent_pair_is_linked_without_drift() -> None:
    recon = reconcile(
        [inst("fabio_1_1", OPEN, "5511987654321@s.whatsapp.net")],
        [rec("d1", "fabio_1_1", status="Connected", phone="5511987654321")],
        RESELLERS,
    )
    (row,) = recon.linked
    assert isinstance(row, LinkedRow)
    assert (row.name, row.reseller, row.drift, row.suspicious) == ("fabio_1_1", FABIO, (), ())
    assert recon.is_consistent
    assert recon.counts.linked == 1 and recon.counts.drifted == 0


def test_drift_record_connected_but_instance_down() -> None:
    for status in ("connected", "OPEN", " online "):
        for state in (CLOSE, CONNECTING):
            drift = linked_drift(inst("fabio_1_1", state), rec("d1", "fabio_1_1", status=status))
            assert drift == (f"record says {status!r} but instance is {state.value}",)


def test_drift_record_disconnected_but_instance_open() -> None:
    for status in ("disconnected", "Closed", "offline"):
        drift = linked_drift(inst("fabio_1_1", OPEN), rec("d1", "fabio_1_1", status=status))
        assert drift == (f"record says {status!r} but instance is open",)


def test_no_status_drift_when_consistent_or_unknown() -> None:
    assert linked_drift(inst("a", CLOSE), rec("d1", "a", status="disconnected")) == ()
    assert linked_drift(inst("a", OPEN), rec("d1", "a", status="connected")) == ()
    assert linked_drift(inst("a", None), rec("d1", "a", status="connected")) == ()
    assert linked_drift(inst("a", OPEN), rec("d1", "a", status="pending")) == ()


def test_drift_phone_differs_from_owner() -> None:
    drift = linked_drift(inst("a", OPEN, "5511911112222@s.whatsapp.net"),
                         rec("d1", "a", phone="5511933334444"))
    assert drift == ("record phone 5511933334444 but instance owner 5511911112222",)


def test_phone_equal_modulo_formatting_device_and_brazilian_ninth_digit() -> None:
    owner = "5511987654321:12@s.whatsapp.net"
    assert linked_drift(inst("a", OPEN, owner), rec("d1", "a", phone="+55 (11) 98765-4321")) == ()
    assert linked_drift(inst("a", OPEN, "551187654321@s.whatsapp.net"),
                        rec("d1", "a", phone="5511987654321")) == ()
    assert same_phone("5511987654321", "551187654321")
    assert not same_phone("5511987654321", "551187654320")
    assert not same_phone("4411987654321", "441187654321")  # only Brazil


def test_no_phone_drift_when_one_side_unknown() -> None:
    assert linked_drift(inst("a", OPEN, None), rec("d1", "a", phone="5511933334444")) == ()
    assert linked_drift(inst("a", OPEN, "5511911112222@s.whatsapp.net"), rec("d1", "a")) == ()


def test_drift_unknown_or_missing_reseller() -> None:
    assert linked_drift(inst("a"), rec("d1", "a", reseller_id="r404")) == ("unknown reseller 'r404'",)
    assert linked_drift(inst("a"), rec("d1", "a", reseller_id=None)) == ("record has no reseller_id",)


def test_drift_probe_contradicts_listing() -> None:
    drift = linked_drift(inst("a"), rec("d1", "a"), probes={"a": probe("a", ProbeState.ABSENT)})
    assert drift == ("probe says absent although fetchInstances lists it (race)",)
    assert linked_drift(inst("a"), rec("d1", "a"), probes={"a": probe("a", ProbeState.PRESENT)}) == ()


def test_several_drift_reasons_at_once() -> None:
    drift = linked_drift(
        inst("a", CLOSE, "5511911112222@s.whatsapp.net"),
        rec("d1", "a", reseller_id="zz", status="connected", phone="5511933334444"),
    )
    assert len(drift) == 3
    assert reconcile([inst("a", CLOSE)], [rec("d1", "a", status="open")], RESELLERS).is_consistent is False


# --- orphan instances and attribution ----------------------------------------------------


def orphan_instance(name: str, resellers=RESELLERS) -> OrphanInstanceRow:
    recon = reconcile([inst(name)], [], resellers)
    (row,) = recon.orphan_instances
    assert not recon.linked and not recon.orphan_records
    return row


def test_orphan_instance_attributed_to_the_one_matching_reseller() -> None:
    row = orphan_instance("analucia_2_1761316665")
    assert row.attributed_reseller == ANA
    assert row.attribution_note == "prefix analucia_ of reseller Ana Lúcia (r2)"
    assert row.owner_id == "r2"


def test_orphan_instance_ambiguous_attribution() -> None:
    twins = [*RESELLERS, Reseller(id="r3", name="fabio"), Reseller(id="r0", name="Fábio")]
    row = orphan_instance("fabio_1_1", twins)
    assert row.attributed_reseller is None
    assert row.attribution_note == "ambiguous: resellers Fábio (r0), Fabio (r1), fabio (r3)"


def test_orphan_instance_without_matching_reseller() -> None:
    row = orphan_instance("joao_1_1")
    assert (row.attributed_reseller, row.attribution_note) == (None, "no reseller with prefix joao_")
    row = orphan_instance("fabio-test")  # prefix matches but not the platform pattern
    assert row.attributed_reseller is None and "platform pattern" in row.attribution_note
    row = orphan_instance("fabio_1")  # the old pattern
    assert row.attributed_reseller is None


# --- orphan records and probes -----------------------------------------------------------


def test_orphan_records_split_by_probe() -> None:
    records = [rec("d1", "free_1_1"), rec("d2", "ghost_1_1"), rec("d3", "race_1_1"), rec("d4", "new_1_1")]
    probes = {
        "free_1_1": probe("free_1_1", ProbeState.ABSENT),
        "ghost_1_1": probe("ghost_1_1", ProbeState.RESERVED),
        "race_1_1": probe("race_1_1", ProbeState.PRESENT),
    }
    recon = reconcile([], records, RESELLERS, probes)
    by_name = {row.name: row for row in recon.orphan_records}
    assert all(isinstance(row, OrphanRecordRow) for row in recon.orphan_records)
    assert by_name["free_1_1"].probe is OrphanProbe.ABSENT
    assert by_name["ghost_1_1"].probe is OrphanProbe.RESERVED
    assert by_name["race_1_1"].probe is OrphanProbe.PRESENT
    assert "race" in by_name["race_1_1"].note
    assert by_name["new_1_1"].probe is OrphanProbe.UNKNOWN
    assert by_name["new_1_1"].reseller == FABIO
    c = recon.counts
    assert (c.absent, c.reserved, c.present, c.unknown, c.orphan_records) == (1, 1, 1, 1, 4)
    assert not recon.is_consistent
    assert reconcile([], records, RESELLERS).counts.unknown == 4  # probes default to none


# --- duplicates, case collisions, suspicious names, invalid rows -------------------------


def test_two_records_one_instance_are_two_linked_rows_and_a_duplicate() -> None:
    instance = inst("fabio_1_1", OPEN)
    recon = reconcile([instance], [rec("d2", "fabio_1_1", "r2"), rec("d1", "fabio_1_1", "r1")], RESELLERS)
    assert [(row.record.doc_id, row.instance) for row in recon.linked] == [("d1", instance), ("d2", instance)]
    (dup,) = recon.duplicate_names
    assert (dup.name, dup.doc_ids, dup.reseller_ids, dup.instance_count) == (
        "fabio_1_1", ["d1", "d2"], ["r1", "r2"], 1)
    assert recon.counts.duplicates == 1 and recon.counts.records == 2
    assert not recon.is_consistent


def test_duplicate_orphan_records_and_duplicate_instances() -> None:
    recon = reconcile(
        [inst("x_1_1", CLOSE), inst("x_1_1", OPEN)],
        [rec("d1", "y_1_1"), rec("d0", "y_1_1", None)],
        RESELLERS,
    )
    assert [row.instance.state for row in recon.orphan_instances] == [CLOSE, OPEN]
    assert [row.record.doc_id for row in recon.orphan_records] == ["d0", "d1"]
    assert {(d.name, d.instance_count, len(d.doc_ids)) for d in recon.duplicate_names} == {
        ("x_1_1", 2, 0), ("y_1_1", 0, 2)}


def test_case_collisions_are_reported_not_merged() -> None:
    recon = reconcile([inst("Foo"), inst("FOO")], [rec("d1", "foo")], RESELLERS)
    assert [row.name for row in recon.orphan_instances] == ["FOO", "Foo"]
    assert [row.name for row in recon.orphan_records] == ["foo"]
    assert not recon.linked
    (col,) = recon.case_collisions
    assert (col.folded, col.names, col.instance_names, col.record_names) == (
        "foo", ["FOO", "Foo", "foo"], ["FOO", "Foo"], ["foo"])
    assert recon.counts.case_collisions == 1
    assert reconcile([inst("Foo")], [rec("d1", "Foo")], RESELLERS).case_collisions == []


def test_suspicious_names_flagged_on_every_kind_of_row() -> None:
    recon = reconcile(
        [inst("a b"), inst("c/d")],
        [rec("d1", "a b"), rec("d2", " e")],
        RESELLERS,
    )
    assert recon.linked[0].suspicious == ("breaks URLs: space",)
    assert recon.orphan_instances[0].suspicious == ("breaks URLs: /",)
    assert recon.orphan_records[0].suspicious == ("leading/trailing whitespace",)


def test_invalid_rows_are_carried_and_break_consistency() -> None:
    bad = [InvalidRow(doc_id="z", reason="instance_name missing", reseller_id="r2"),
           InvalidRow(doc_id="y", reason="instance_name is 3")]
    recon = reconcile([], [], RESELLERS, invalid_rows=bad)
    assert [row.doc_id for row in recon.invalid_rows] == ["y", "z"]
    assert recon.counts.invalid == 2 and not recon.is_consistent
    assert reconcile([], [], RESELLERS).is_consistent


def test_rows_are_sorted_by_name_then_reseller_then_doc_id() -> None:
    records = [rec("d3", "b_1_1", "r2"), rec("d2", "a_1_1", "r2"), rec("d9", "b_1_1", "r1"),
               rec("d1", "b_1_1", "r1"), rec("d0", "c_1_1", None)]
    recon = reconcile([], records, RESELLERS)
    assert [(r.name, r.record.reseller_id, r.record.doc_id) for r in recon.orphan_records] == [
        ("a_1_1", "r2", "d2"), ("b_1_1", "r1", "d1"), ("b_1_1", "r1", "d9"),
        ("b_1_1", "r2", "d3"), ("c_1_1", None, "d0")]


# --- scope -------------------------------------------------------------------------------


def mixed():
    instances = [inst("fabio_1_1", OPEN), inst("fabio_2_2"), inst("analucia_1_1"), inst("joao_1_1"),
                 inst("shared_1_1")]
    records = [rec("d1", "fabio_1_1", "r1"), rec("d2", "analucia_1_1", "r2"),
               rec("d3", "analucia_9_9", "r2"), rec("d4", "fabio_7_7", "r1"),
               rec("d5", "shared_1_1", "r1"), rec("d6", "shared_1_1", "r2"), rec("d7", "nobody", None)]
    invalid = [InvalidRow(doc_id="i1", reason="x", reseller_id="r2")]
    return reconcile(instances, records, RESELLERS, invalid_rows=invalid)


def test_scope_keeps_only_the_resellers_rows() -> None:
    recon = mixed()
    fabio = scope(recon, "r1")
    assert [r.record.doc_id for r in fabio.linked] == ["d1", "d5"]
    assert [r.name for r in fabio.orphan_instances] == ["fabio_2_2"]
    assert [r.record.doc_id for r in fabio.orphan_records] == ["d4"]
    assert fabio.invalid_rows == []
    ana = scope(recon, "r2")
    assert [r.record.doc_id for r in ana.linked] == ["d2", "d6"]
    assert ana.orphan_instances == []  # analucia_1_1 is linked, not an orphan
    assert [r.record.doc_id for r in ana.orphan_records] == ["d3"]
    assert [r.doc_id for r in ana.invalid_rows] == ["i1"]
    for rid, view in (("r1", fabio), ("r2", ana)):
        assert all(row.owner_id == rid for row in view.rows())
        assert view.counts.linked == len(view.linked)
        assert view.counts.records == len(view.linked) + len(view.orphan_records)


def test_scope_cuts_report_entries_to_the_reseller() -> None:
    recon = mixed()
    (dup,) = scope(recon, "r2").duplicate_names
    assert (dup.name, dup.doc_ids, dup.reseller_ids, dup.hidden_records) == ("shared_1_1", ["d6"], ["r2"], 1)
    nobody = scope(recon, None)
    assert [r.name for r in nobody.orphan_instances] == ["joao_1_1"]
    assert [r.record.doc_id for r in nobody.orphan_records] == ["d7"]
    assert nobody.duplicate_names == [] and nobody.linked == []


def test_scope_cuts_case_collisions_to_visible_names() -> None:
    recon = reconcile([inst("Fabio_1_1")], [rec("d1", "fabio_1_1", "r1"), rec("d2", "FABIO_1_1", "r2")],
                      RESELLERS)
    (col,) = scope(recon, "r1").case_collisions
    assert (col.names, col.record_names, col.instance_names, col.hidden_names) == (
        ["fabio_1_1"], ["fabio_1_1"], [], 2)


def test_owner_ids_lists_every_owner() -> None:
    assert owner_ids(mixed()) == ["r1", "r2", None]
