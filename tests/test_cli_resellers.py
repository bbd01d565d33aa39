"""Resellers by id or name on the command line (issue 16): `--reseller` takes an id or a
name (case and accents ignored) before or after every command, suggests the nearest on a
miss (one line, exit 2, nothing asked of Evolution), refuses two different values;
`evodash resellers` lists id, name and counts (text and JSON)."""

from __future__ import annotations

import pytest

from tests.fixtures.mongo import RESELLERS, insert_raw
from tests.test_cli_commands import cli, json_lines, seed_small  # noqa: F401 - fixture
from tests.test_lifecycle_support import add_record, seed_world


def seed_accented(mongo_db) -> None:
    insert_raw(mongo_db, {"id": "r-maria", "name": "María Peña-Águas"}, collection=RESELLERS)
    add_record(mongo_db, "r-maria", "mariapenaa_1_1700000001")


# every command, with `--reseller` before it and after it: (arguments, what shows the scope)
COMMANDS = [
    (["report", "--json"], "report"),
    (["resellers", "--json"], "resellers"),
    (["delete", "fabio_1_1", "--dry-run", "--json"], "summary"),
    (["clear-all", "--dry-run", "--json"], "summary"),
    (["forget", "fabio_3_3", "--dry-run", "--json"], "summary"),
    (["adopt", "fabio_9_9", "--dry-run", "--json"], "summary"),
    (["reprovision", "fabio_3_3", "--dry-run", "--json"], "summary"),
    (["doctor", "--json"], "check"),
]


@pytest.mark.parametrize("args, kind", COMMANDS, ids=[c[0][0] for c in COMMANDS])
def test_reseller_by_name_before_or_after_every_command(cli, sim, mongo_db, args, kind):
    seed_small(sim, mongo_db)
    sim.seed([{"name": "fabio_9_9", "state": "close"}])
    before, after = cli.many(["--reseller", "FÁBIO", *args], [*args, "--reseller", "fabio"])
    outputs = []
    for result in (before, after):
        assert result.returncode in (0, 1), (result.args, result.stdout, result.stderr)
        assert "unknown reseller" not in result.stderr and "error" not in result.stderr
        lines = json_lines(result.stdout)
        if kind == "report":
            names = {r["name"] for key in ("linked", "orphan_records") for r in lines[-1][key]}
            assert names == {"fabio_1_1", "fabio_2_2", "fabio_3_3"}  # r1's only
        elif kind == "resellers":
            assert [r["id"] for r in lines[-1]["resellers"]] == ["r1"]
        elif kind == "summary":
            assert lines[-1]["type"] == "summary" and lines[-1]["scope"] == "reseller:r1"
        else:
            [scope] = [c for c in lines if c["check"] == "scope"]
            assert scope["ok"] and scope["detail"] == "reseller r1 (Fabio)"
        outputs.append(lines[-1].get("targets") if kind == "summary" else None)
    assert outputs[0] == outputs[1]  # the same plan from either position


def test_create_and_pair_take_the_reseller_after_or_before(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    created = cli("create", "--reseller", "ana", "--yes", "--json")
    assert created.returncode == 0, created.stderr
    [target] = json_lines(created.stdout)[-1]["targets"]
    assert target["reseller_id"] == "r2" and target["name"].startswith("ana_")
    assert cli("--reseller", "Ana", "create", "--yes").returncode == 0
    # pair in r2's scope: r1's instance is not r2's (one line, exit 2, nothing asked)
    outside = cli("pair", "fabio_2_2", "--reseller", "ana", "--yes")
    assert outside.returncode == 2 and outside.stderr.splitlines() == [
        "evodash: fabio_2_2: outside scope reseller:r2"]
    assert "connect" not in sim.stats()["requests"]


@pytest.mark.parametrize("typed, line", [
    ("fab", "evodash: unknown reseller 'fab': did you mean r1 (Fabio)?"),
    ("r-mria", "evodash: unknown reseller 'r-mria': did you mean r-maria (María Peña-Águas)?"),
    ("maria", "evodash: unknown reseller 'maria': did you mean r-maria (María Peña-Águas)?"),
    ("nobody-at-all", "evodash: unknown reseller 'nobody-at-all': no reseller has that id or "
                      "name (evodash resellers lists them)"),
])
def test_a_miss_is_one_line_with_the_nearest_exit_2(cli, sim, mongo_db, typed, line):
    seed_small(sim, mongo_db)
    seed_accented(mongo_db)
    before = sim.stats()["requests"]
    runs = [["--reseller", typed, "report"], ["report", "--reseller", typed, "--json"],
            ["clear-all", "--reseller", typed, "--yes"], ["delete", "x", "--reseller", typed],
            ["create", "--reseller", typed, "--yes"], ["pair", "x", "--reseller", typed]]
    for result in cli.many(*runs):
        assert result.returncode == 2, (result.args, result.stdout, result.stderr)
        assert result.stderr.splitlines() == [line] and result.stdout == "", result.args
    assert sim.stats()["requests"] == before  # resolved from the database before anything


def test_accented_names_resolve_and_show(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    seed_accented(mongo_db)
    for typed in ("María Peña-Águas", "maria pena-aguas", "MARIA PENA AGUAS", "R-MARIA"):
        result = cli("report", "--reseller", typed)
        assert result.returncode == 1, (typed, result.stderr)  # its orphan record
        first = result.stdout.splitlines()[0]
        assert first.endswith(" · reseller r-maria (María Peña-Águas)"), first
        assert "mariapenaa_1_1700000001" in result.stdout and "fabio_" not in result.stdout


def test_two_different_resellers_and_clear_all_scope_are_usage_errors(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    runs = [["--reseller", "r1", "report", "--reseller", "r2"],
            ["--reseller", "r1", "clear-all", "--all", "--dry-run"],
            ["clear-all", "--dry-run"], ["create", "--yes"], ["adopt", "x", "--yes"]]
    results = cli.many(*runs)
    for result in results:
        assert result.returncode == 2 and result.stdout == "", result.args
        assert len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith("evodash: error: "), result.stderr
    assert "given twice with different values ('r1' before the command, 'r2' after it)" \
        in results[0].stderr
    assert "needs --all (every tenant) or --reseller ID|NAME" in results[2].stderr
    assert "create needs --reseller ID|NAME" in results[3].stderr
    same = cli("--reseller", "r1", "report", "--reseller", "r1")  # the same twice: fine
    assert same.returncode == 1 and not same.stderr


def test_resellers_lists_ids_names_and_counts(cli, sim, mongo_db):
    seed_world(sim, mongo_db)
    add_record(mongo_db, "r-gone", "gone_1_1700000001")  # a reseller the collection lacks
    text, as_json, scoped = cli.many(["resellers"], ["resellers", "--json"],
                                     ["--reseller", "ana", "resellers", "--json"])
    assert text.returncode == 0 == as_json.returncode == scoped.returncode, text.stderr
    [listing] = json_lines(as_json.stdout)
    assert listing["type"] == "resellers"
    rows = {r["id"]: r for r in listing["resellers"]}
    # r1: fabio_1..3 + shared linked, fabio_4 / fabio_5 orphan records, fabio_9 attributed
    assert rows["r1"] == {"id": "r1", "name": "Fabio", "known": True, "records": 6,
                          "linked": 4, "orphan_records": 2, "orphan_instances": 1}
    assert rows["r2"] == {"id": "r2", "name": "Ana", "known": True, "records": 4,
                          "linked": 3, "orphan_records": 1, "orphan_instances": 1}
    assert rows["r3"]["records"] == 0 and rows["r3"]["known"]
    assert rows["r-gone"] == {"id": "r-gone", "name": "", "known": False, "records": 1,
                              "linked": 0, "orphan_records": 1, "orphan_instances": 0}
    assert list(rows) == ["r1", "r2", "r3", "r-gone"]
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["ID", "RECORDS", "LINKED", "ORPHAN", "RECORDS", "ORPHAN",
                                "INSTANCES*", "NAME"]
    assert lines[1].split() == ["r1", "6", "4", "2", "1", "Fabio"]
    assert lines[4].endswith("  (not in the resellers collection)")
    assert [r["id"] for r in json_lines(scoped.stdout)[0]["resellers"]] == ["r2"]


def test_a_reseller_id_stored_as_a_number_resolves_by_id_and_by_name(cli, sim, mongo_db):
    """`reseller_id` of any type is matched the same way: a reseller whose id is the integer
    7 (and its records' `reseller_id` 7) is found by `7` and by its name."""
    seed_small(sim, mongo_db)
    insert_raw(mongo_db, {"id": 7, "name": "Numbered"}, collection=RESELLERS)
    insert_raw(mongo_db, {"id": "rec-7", "reseller_id": 7, "instance_name": "numbered_1_1"})
    by_id, by_name, listing = cli.many(["--reseller", "7", "report", "--json"],
                                       ["report", "--reseller", "NUMBERED", "--json"],
                                       ["resellers", "--json"])
    for result in (by_id, by_name):
        assert result.returncode == 1, result.stderr  # its orphan record
        [report] = json_lines(result.stdout)
        assert [r["name"] for r in report["orphan_records"]] == ["numbered_1_1"]
        assert report["linked"] == []
    rows = {r["id"]: r for r in json_lines(listing.stdout)[0]["resellers"]}
    assert rows["7"]["name"] == "Numbered" and rows["7"]["records"] == 1 and rows["7"]["known"]
