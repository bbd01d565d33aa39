"""Property-based tests of `reconcile` and `scope` (hypothesis)."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from tui.evolution.models import Instance, InstanceState, ProbeResult, ProbeState
from tui.reconcile import Reconciliation, owner_ids, reconcile, scope
from tui.store.models import ConnectionRecord, InvalidRow, Reseller

# A small vocabulary so that names collide (exactly and by case) and prefixes match.
NAMES = st.one_of(
    st.sampled_from(["fabio_1_1", "Fabio_1_1", "fabio_2_9", "analucia_1_5", "ana_3_3", "joao_1_1",
                     "x", "X", "a b", "", "loja/1"]),
    st.text(max_size=6),
)
RESELLER_IDS = st.sampled_from(["r1", "r2", "r3", "r9", None])
RESELLERS = st.lists(
    st.builds(Reseller, id=st.sampled_from(["r1", "r2", "r3"]),
              name=st.sampled_from(["Fabio", "fábio", "Ana Lúcia", "Ana", "João", ""])),
    max_size=4,
)
INSTANCES = st.lists(
    st.builds(Instance, name=NAMES, state=st.none() | st.sampled_from(InstanceState),
              owner=st.none() | st.sampled_from(["5511911112222@s.whatsapp.net", "551191111222@s.whatsapp.net"])),
    max_size=12,
)
RECORD_FIELDS = st.tuples(
    NAMES, RESELLER_IDS,
    st.none() | st.sampled_from(["connected", "disconnected", "Open", "pending"]),
    st.none() | st.sampled_from(["5511911112222", "5511933334444"]),
)


@st.composite
def inputs(draw):
    records = [
        ConnectionRecord(doc_id=f"d{k}", instance_name=name, reseller_id=rid, status=status,
                         phone_number=phone)
        for k, (name, rid, status, phone) in enumerate(draw(st.lists(RECORD_FIELDS, max_size=12)))
    ]
    instances = draw(INSTANCES)
    names = [i.name for i in instances] + [r.instance_name for r in records]
    probed = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    probes = {n: ProbeResult(name=n, state=draw(st.sampled_from(ProbeState))) for n in probed}
    invalid = [InvalidRow(doc_id=f"i{k}", reason="no instance_name", reseller_id=rid)
               for k, rid in enumerate(draw(st.lists(RESELLER_IDS, max_size=3)))]
    return instances, records, draw(RESELLERS), probes, invalid


@given(inputs())
def test_every_instance_and_record_lands_in_exactly_one_class(data) -> None:
    instances, records, resellers, probes, invalid = data
    recon = reconcile(instances, records, resellers, probes, invalid)
    records_per_name = Counter(r.instance_name for r in records)
    instances_per_name = Counter(i.name for i in instances)
    for instance in instances:
        as_linked = sum(row.instance is instance for row in recon.linked)
        as_orphan = sum(row.instance is instance for row in recon.orphan_instances)
        if records_per_name[instance.name]:
            assert (as_linked, as_orphan) == (records_per_name[instance.name], 0)
        else:
            assert (as_linked, as_orphan) == (0, 1)
    for record in records:
        as_linked = sum(row.record is record for row in recon.linked)
        as_orphan = sum(row.record is record for row in recon.orphan_records)
        if instances_per_name[record.instance_name]:
            assert (as_linked, as_orphan) == (instances_per_name[record.instance_name], 0)
        else:
            assert (as_linked, as_orphan) == (0, 1)


@given(inputs())
def test_linked_iff_name_on_both_sides(data) -> None:
    instances, records, resellers, probes, invalid = data
    recon = reconcile(instances, records, resellers, probes, invalid)
    inst_names = {i.name for i in instances}
    rec_names = {r.instance_name for r in records}
    assert {row.name for row in recon.linked} == inst_names & rec_names
    assert {row.name for row in recon.orphan_instances} == inst_names - rec_names
    assert {row.name for row in recon.orphan_records} == rec_names - inst_names
    for row in recon.linked:
        assert row.instance.name == row.record.instance_name == row.name


@given(inputs())
def test_counts_match_the_lists(data) -> None:
    instances, records, resellers, probes, invalid = data
    recon = reconcile(instances, records, resellers, probes, invalid)
    c = recon.counts
    assert (c.instances, c.records) == (len(instances), len(records))
    assert c.linked == len(recon.linked)
    assert c.orphan_instances == len(recon.orphan_instances)
    assert c.orphan_records == len(recon.orphan_records)
    probes_seen = Counter(row.probe.value for row in recon.orphan_records)
    assert (c.absent, c.reserved, c.present, c.unknown) == (
        probes_seen["absent"], probes_seen["reserved"], probes_seen["present"], probes_seen["unknown"])
    assert c.drifted == len(recon.drifted) == sum(1 for row in recon.linked if row.drift)
    assert c.invalid == len(recon.invalid_rows) == len(invalid)
    assert c.duplicates == len(recon.duplicate_names)
    assert c.case_collisions == len(recon.case_collisions)
    assert recon.is_consistent == (
        not recon.orphan_instances and not recon.orphan_records and not recon.drifted
        and not recon.invalid_rows and not recon.duplicate_names)


@given(inputs())
def test_duplicates_and_case_collisions_are_exact(data) -> None:
    instances, records, resellers, probes, invalid = data
    recon = reconcile(instances, records, resellers, probes, invalid)
    per_name = Counter(i.name for i in instances) + Counter(r.instance_name for r in records)
    repeated = {n for n in per_name
                if Counter(i.name for i in instances)[n] > 1
                or Counter(r.instance_name for r in records)[n] > 1}
    assert [d.name for d in recon.duplicate_names] == sorted(repeated)
    by_lower: dict[str, set[str]] = {}
    for name in per_name:
        by_lower.setdefault(name.lower(), set()).add(name)
    expected = {lower: sorted(names) for lower, names in by_lower.items() if len(names) > 1}
    assert {c.folded: c.names for c in recon.case_collisions} == expected


@given(inputs(), st.randoms(use_true_random=False))
def test_invariant_under_input_order(data, rnd) -> None:
    instances, records, resellers, probes, invalid = data
    recon = reconcile(instances, records, resellers, probes, invalid)
    shuffled = [list(x) for x in (instances, records, resellers, invalid)]
    for part in shuffled:
        rnd.shuffle(part)
    probes_shuffled = dict(rnd.sample(sorted(probes.items()), len(probes)))
    again = reconcile(shuffled[0], shuffled[1], shuffled[2], probes_shuffled, shuffled[3])
    assert again == recon
    for rows in (recon.linked, recon.orphan_instances, recon.orphan_records):
        assert [row.name for row in rows] == sorted(row.name for row in rows)


def _row_ids(recon: Reconciliation) -> Counter:
    return Counter(
        [("L", id(r.instance), id(r.record)) for r in recon.linked]
        + [("I", id(r.instance)) for r in recon.orphan_instances]
        + [("R", id(r.record)) for r in recon.orphan_records]
        + [("V", r.doc_id) for r in recon.invalid_rows]
    )


@settings(max_examples=150)
@given(inputs(), st.sampled_from(["r1", "r2", "r3", "r9", None]))
def test_scope_only_contains_the_resellers_rows(data, reseller_id) -> None:
    instances, records, resellers, probes, invalid = data
    view = scope(reconcile(instances, records, resellers, probes, invalid), reseller_id)
    for row in view.linked:
        assert row.record.reseller_id == reseller_id
    for row in view.orphan_records:
        assert row.record.reseller_id == reseller_id
    for row in view.orphan_instances:
        assert (row.attributed_reseller.id if row.attributed_reseller else None) == reseller_id
    assert all(r.reseller_id == reseller_id for r in view.invalid_rows)
    assert all(set(d.reseller_ids) == {reseller_id} for d in view.duplicate_names)
    visible = {row.name for row in view.rows()}
    assert all(set(c.names) <= visible for c in view.case_collisions)
    assert view.counts.linked == len(view.linked)
    assert view.counts.orphan_records == len(view.orphan_records)


@given(inputs())
def test_scopes_partition_the_rows(data) -> None:
    instances, records, resellers, probes, invalid = data
    recon = reconcile(instances, records, resellers, probes, invalid)
    owners = set(owner_ids(recon)) | {r.reseller_id for r in invalid}
    total = Counter()
    for owner in owners:
        part = _row_ids(scope(recon, owner))
        assert not (total & part)
        total += part
    assert total == _row_ids(recon)
    assert sum(scope(recon, o).counts.records for o in owners) == len(records)
