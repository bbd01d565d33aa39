"""Finding a reseller by what an operator types (`tui.lifecycle.resellers`, pure): the id or
the name, case / accents / punctuation ignored; ambiguity named; a near miss suggested but
never taken; per-reseller counts of an observation."""

from __future__ import annotations

import pytest

from tui.lifecycle.resellers import (
    AmbiguousResellerError,
    UnknownResellerNameError,
    counts,
    describe,
    nearest,
    resolve,
)
from tui.store.models import Reseller

DEMO = [Reseller(id="r-fabio", name="Fabio Telecom"),
        Reseller(id="r-maria", name="María Peña-Águas"),
        Reseller(id="r-zap", name="ZapLink")]


@pytest.mark.parametrize("typed, rid", [
    ("r-maria", "r-maria"),  # the id
    ("R-MARIA", "r-maria"),  # the id, any case
    ("María Peña-Águas", "r-maria"),  # the name as stored
    ("maria pena-aguas", "r-maria"),  # accents and case ignored
    ("  MARÍA   PEÑA-ÁGUAS ", "r-maria"),  # runs of spaces
    ("maria pena aguas", "r-maria"),  # punctuation ignored
    ("zaplink", "r-zap"),
    ("Fabio Telecom", "r-fabio"),
])
def test_an_id_or_a_name_resolves(typed, rid):
    assert resolve(typed, DEMO).id == rid


@pytest.mark.parametrize("typed, suggested", [
    ("maria", "r-maria"),  # part of the id and of the name: suggested, never taken
    ("r-mria", "r-maria"),  # a typo of the id
    ("mariapenaa", "r-maria"),  # the name base seen in instance names
    ("fabio telecon", "r-fabio"),
    ("zap", "r-zap"),
])
def test_a_near_miss_is_suggested_not_taken(typed, suggested):
    with pytest.raises(UnknownResellerNameError) as info:
        resolve(typed, DEMO)
    assert info.value.suggestion is not None and info.value.suggestion.id == suggested
    message = str(info.value)
    assert message == (f"unknown reseller {typed!r}: did you mean "
                       f"{describe(info.value.suggestion)}?")
    assert "\n" not in message


def test_the_issue_example_line():
    with pytest.raises(UnknownResellerNameError) as info:
        resolve("maria", DEMO)
    assert str(info.value) == ("unknown reseller 'maria': did you mean r-maria "
                               "(María Peña-Águas)?")


@pytest.mark.parametrize("typed", ["r-nope", "x", "qqqqqqq", "r4"])
def test_nothing_near_says_where_the_list_is(typed):
    resellers = DEMO + [Reseller(id="r1", name="Fabio"), Reseller(id="r2", name="Ana")]
    with pytest.raises(UnknownResellerNameError) as info:
        resolve(typed, resellers)
    assert info.value.suggestion is None
    assert str(info.value) == (f"unknown reseller {typed!r}: no reseller has that id or name "
                               "(evodash resellers lists them)")


def test_the_id_wins_over_a_name_and_a_shared_name_is_ambiguous():
    resellers = [Reseller(id="ana", name="Someone"), Reseller(id="r2", name="Ana"),
                 Reseller(id="r9", name="ANA"), Reseller(id="r2", name="Ana")]  # r2 twice
    assert resolve("ana", resellers).id == "ana"  # the exact id first
    with pytest.raises(AmbiguousResellerError) as info:
        resolve("Âna", resellers[1:])
    assert [r.id for r in info.value.matches] == ["r2", "r9"]  # r2 once
    assert str(info.value) == "reseller 'Âna' is ambiguous: r2 (Ana), r9 (ANA); give the id"


def test_empty_and_nameless():
    assert nearest("   ", DEMO) is None
    nameless = [Reseller(id="r-5", name="")]
    assert describe(nameless[0]) == "r-5"
    assert resolve("R-5", nameless).id == "r-5"
    with pytest.raises(UnknownResellerNameError):
        resolve("", nameless)


def test_counts_per_reseller_and_those_only_records_name():
    rows = counts(DEMO[:2],
                  linked=["r-fabio", "r-fabio", "r-maria", None],
                  orphan_records=["r-maria", "r-gone"],
                  orphan_instances=["r-fabio", None])
    table = {r.reseller.id: (r.known, r.records, r.linked, r.orphan_records,
                             r.orphan_instances) for r in rows}
    assert table == {"r-fabio": (True, 2, 2, 0, 1), "r-maria": (True, 2, 1, 1, 0),
                     "r-gone": (False, 1, 0, 1, 0)}
    assert [r.reseller.id for r in rows] == ["r-fabio", "r-maria", "r-gone"]
    assert rows[0].to_json() == {"id": "r-fabio", "name": "Fabio Telecom", "known": True,
                                 "records": 2, "linked": 2, "orphan_records": 0,
                                 "orphan_instances": 1}
