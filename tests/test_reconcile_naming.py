"""Naming rules of `tui.reconcile.naming`: base, names, parsing, unique names, suspicious names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.reconcile.naming import (
    instance_name,
    name_base,
    name_prefix,
    parse_instance_name,
    suspicious_name_reasons,
    unique_instance_name,
)


@pytest.mark.parametrize(
    ("reseller", "base"),
    [
        ("Fabio", "fabio"),
        ("José Peña-Águas", "josepenaag"),  # accents folded, space and '-' removed, cut at 10
        ("Ana Lúcia", "analucia"),
        ("  Ç-ão  ", "cao"),
        ("ABCDEFGHIJKLMNOP", "abcdefghij"),
        ("Loja #1 (SP)", "loja1sp"),
        ("", "reseller"),
        ("   ", "reseller"),
        ("日本", "reseller"),  # nothing left in [a-z0-9]
        ("ｆａｂｉｏ", "fabio"),  # NFKD folds full-width letters
    ],
)
def test_name_base(reseller: str, base: str) -> None:
    assert name_base(reseller) == base


def test_instance_name_and_prefix() -> None:
    assert instance_name("Fabio", 1, 1761316665) == "fabio_1_1761316665"
    assert instance_name("", 2, 5) == "reseller_2_5"
    assert name_prefix("José Peña-Águas") == "josepenaag_"
    assert instance_name("José Peña-Águas", 3, 7).startswith(name_prefix("José Peña-Águas"))


def test_instance_name_rejects_negative_numbers() -> None:
    with pytest.raises(ValueError):
        instance_name("Fabio", -1, 5)
    with pytest.raises(ValueError):
        instance_name("Fabio", 1, -5)


@pytest.mark.parametrize(
    ("name", "parsed"),
    [
        ("fabio_1_1761316665", ("fabio", 1, 1761316665)),
        ("abcdefghij_12_0", ("abcdefghij", 12, 0)),
        ("abcdefghijk_1_2", None),  # base longer than 10
        ("Fabio_1_2", None),  # upper case
        ("fabio_1", None),  # the old pattern without timestamp
        ("fabio_1_2\n", None),
        ("fabio_1_٣", None),  # non-ASCII digit
        ("fa-bio_1_2", None),
        ("", None),
    ],
)
def test_parse_instance_name(name: str, parsed: tuple[str, int, int] | None) -> None:
    assert parse_instance_name(name) == parsed


def test_unique_instance_name_bumps_timestamp_on_collision() -> None:
    assert unique_instance_name("Fabio", 1, 100, []) == "fabio_1_100"
    taken = {"fabio_1_100", "fabio_1_101", "other_1_102"}
    assert unique_instance_name("Fabio", 1, 100, taken) == "fabio_1_102"
    # a taken name differing only in case counts as taken
    assert unique_instance_name("Fabio", 1, 100, ["FABIO_1_100"]) == "fabio_1_101"


def test_unique_instance_name_is_bounded() -> None:
    taken = [f"fabio_1_{ts}" for ts in range(100, 110)]
    with pytest.raises(ValueError, match="no free instance name"):
        unique_instance_name("Fabio", 1, 100, taken, max_tries=10)
    assert unique_instance_name("Fabio", 1, 100, taken, max_tries=11) == "fabio_1_110"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fabio_1_1761316665", []),
        ("Loja-SP.2", []),
        ("", ["empty name"]),
        (" fabio", ["leading/trailing whitespace"]),
        ("fabio\t", ["leading/trailing whitespace", "control characters"]),
        ("fa\x00bio", ["control characters"]),
        ("fa\u200bbio", ["invisible format characters", "warning: non-ASCII characters"]),
        ("a/b", ["breaks URLs: /"]),
        ("a?b#c%d\\e", ["breaks URLs: # % ? \\"]),
        ("loja sp", ["breaks URLs: space"]),
        ("josé_1_2", ["warning: non-ASCII characters"]),
    ],
)
def test_suspicious_name_reasons(name: str, expected: list[str]) -> None:
    assert suspicious_name_reasons(name) == expected


@given(st.text())
def test_name_base_always_matches_pattern(reseller: str) -> None:
    assert re.fullmatch(r"[a-z0-9]{1,10}", name_base(reseller))


@given(st.text(), st.integers(0, 10**6), st.integers(0, 2**40))
def test_instance_name_round_trips_through_parse(reseller: str, n: int, ts: int) -> None:
    name = instance_name(reseller, n, ts)
    assert parse_instance_name(name) == (name_base(reseller), n, ts)
    assert suspicious_name_reasons(name) == []


@given(st.text(), st.integers(0, 50), st.sets(st.integers(0, 30)))
def test_unique_instance_name_never_returns_a_taken_name(reseller: str, n: int, used: set[int]) -> None:
    taken = {instance_name(reseller, n, ts) for ts in used}
    name = unique_instance_name(reseller, n, 0, taken)
    assert name not in taken
    assert parse_instance_name(name)[2] == min(set(range(32)) - used)
