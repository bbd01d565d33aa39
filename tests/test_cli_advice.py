"""Every finding ends in a command (issue 16): `report` gives each orphan instance, orphan
record and drifting link the command that repairs it - and running those commands, as
printed, repairs the world; every `--dry-run` says of each skipped or left-out target why
and how to include it, and following the hint includes it. End to end: `python -m tui` in a
subprocess against the simulator and a MongoDB-wire server."""

from __future__ import annotations

import shlex
import time

import pytest

from tests.fixtures.mongo import CONNECTIONS
from tests.test_cli_commands import Cli, cli, json_lines, seed_small  # noqa: F401 - fixture
from tests.test_lifecycle_support import add_record, probe_status, seed_resellers, seed_world


def run_printed(cli: Cli, command: str, *extra: str):
    """Run a command exactly as evodash printed it (its `--settings PATH` included)."""
    words = shlex.split(command)
    assert words[0] == "evodash", command
    return cli.bare(*words[1:], *extra)


def _bare(self: Cli, *args: str):
    """`python -m tui ARGS` without the fixture's own `--settings` (the printed command
    carries it)."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "tui", *args], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, cwd=self.tmp_path,
                            env=self.env)
    assert "Traceback" not in result.stdout + result.stderr
    return result


Cli.bare = _bare  # type: ignore[attr-defined]


def findings(report: dict) -> list[dict]:
    rows = report["orphan_instances"] + report["orphan_records"]
    return rows + [r for r in report["linked"] if r["drift"]]


# ---------------------------------------------------------------------------- report
def test_each_finding_has_a_repair_and_the_repairs_repair(cli, sim, mongo_db):
    seed_world(sim, mongo_db)
    open_ones = ["ana_1_1700000001", "fabio_1_1700000001"]  # their records agree now
    mongo_db[CONNECTIONS].update_many({"instance_name": {"$in": open_ones}},
                                      {"$set": {"status": "connected"}})
    mongo_db[CONNECTIONS].update_many({"instance_name": "ana_2_1700000002"},
                                      {"$set": {"status": "connected"}})  # drift: it is close
    text, as_json = cli.many(["report"], ["report", "--json"])
    assert text.returncode == 1 == as_json.returncode, text.stderr
    [report] = json_lines(as_json.stdout)
    rows = findings(report)
    assert {r["name"] for r in rows} >= {"fabio_9_1700000009", "legacy-box", "zed_leftover",
                                         "fabio_4_1700000004", "fabio_5_1700000005",
                                         "ana_2_1700000002"}
    settings = shlex.quote(str(cli.settings))
    for row in rows:
        assert row["repair"], row["name"]
        for repair in row["repair"]:
            assert repair["command"].startswith(f"evodash --settings {settings} "), repair
            assert repair["why"]
    first = {r["name"]: r["repair"][0]["command"].split(settings + " ", 1)[1] for r in rows}
    assert first["fabio_4_1700000004"] == "forget fabio_4_1700000004"  # free: forget
    assert first["fabio_5_1700000005"] == "delete fabio_5_1700000005"  # reserved: delete
    assert first["legacy-box"] == "delete legacy-box"
    assert first["ana_2_1700000002"] == "pair ana_2_1700000002"  # drift: pair again
    assert [a["command"].split(settings + " ", 1)[1] for a in adopt_of(report)] \
        == ["delete fabio_9_1700000009", "adopt fabio_9_1700000009 --reseller r1"]
    healthy = [r for r in report["linked"] if not r["drift"]]
    assert healthy and all(r["repair"] == [] for r in healthy)

    # the text report shows the same commands, each under its finding
    lines = text.stdout.splitlines()
    for row in rows:
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(row["name"]))
        assert lines[at + 1].strip() == f"fix: {row['repair'][0]['command']}   # " \
                                        f"{row['repair'][0]['why']}", lines[at:at + 3]

    # run every orphan's first repair as printed: the world becomes consistent but for the
    # drift (pairing needs a phone) and the shared name (two tenants' records on one name)
    for row in report["orphan_instances"] + report["orphan_records"]:
        result = run_printed(cli, row["repair"][0]["command"], "--yes")
        assert result.returncode == 0, (row["name"], result.stdout, result.stderr)
    [after] = json_lines(cli("report", "--json").stdout)
    assert after["orphan_instances"] == [] and after["orphan_records"] == []
    assert probe_status(sim, "fabio_5_1700000005") == "absent"
    drift = [r for r in after["linked"] if r["drift"]]
    assert [r["name"] for r in drift] == ["ana_2_1700000002"], drift
    sim.seed([{"name": "ana_2_1700000002", "state": "open"}])  # the phone scanned the code
    assert not [r for r in json_lines(cli("report", "--json").stdout)[0]["linked"] if r["drift"]]


def adopt_of(report: dict) -> list[dict]:
    return next(r["repair"] for r in report["orphan_instances"]
                if r["name"] == "fabio_9_1700000009")


def test_repairs_in_a_reseller_report_keep_the_scope(cli, sim, mongo_db):
    seed_world(sim, mongo_db)
    [report] = json_lines(cli("report", "--json", "--reseller", "Fabio").stdout)
    commands = [a["command"] for row in findings(report) for a in row["repair"]]
    def scope_of(command: str) -> list[str]:
        words = shlex.split(command)
        return [words[i + 1] for i, w in enumerate(words) if w == "--reseller"]

    assert commands and all(scope_of(c) == ["r1"] for c in commands), commands
    assert not [c for c in commands if "ana_" in c or "legacy" in c]  # only r1's rows
    text = cli("--reseller", "fabio", "report").stdout
    assert text.splitlines()[0].endswith(" · reseller r1 (Fabio)")


def test_hostile_names_in_repairs_are_quoted_and_literal(cli, sim, mongo_db):
    seed_resellers(mongo_db)
    name = "evil name;rm -rf ~\x1b[2J"
    sim.seed([{"name": name, "state": "close"}])
    text, as_json = cli.many(["report"], ["report", "--json"])
    assert "\x1b" not in text.stdout and "\\x1b" in text.stdout
    [report] = json_lines(as_json.stdout)
    [row] = report["orphan_instances"]
    command = row["repair"][0]["command"]
    assert shlex.split(command)[-1] == name  # one shell word: the name, whole
    result = run_printed(cli, command, "--yes")
    assert result.returncode == 0, result.stderr
    assert json_lines(cli("report", "--json").stdout)[0]["orphan_instances"] == []


# ---------------------------------------------------------------------------- dry runs
def test_clear_all_orphans_only_dry_run_names_what_it_leaves_out(cli, sim, mongo_db):
    world = seed_world(sim, mongo_db)
    attributed = world["r1_attributed"][0]
    as_json, text = cli.many(
        ["--reseller", "r1", "clear-all", "--orphans-only", "--dry-run", "--json"],
        ["clear-all", "--reseller", "r1", "--orphans-only", "--dry-run"])
    assert as_json.returncode == 0 == text.returncode, as_json.stderr + text.stderr
    summary = json_lines(as_json.stdout)[-1]
    planned = {t["name"] for t in summary["targets"]}
    assert planned == set(world["r1_orphan_records"])
    left = {entry["name"]: entry for entry in summary["left_out"]}
    assert attributed in left and "attributed to r1" in left[attributed]["why"]
    assert left[attributed]["hint"] == "add --include-attributed to include it"
    assert set(world["r1_linked"]) <= set(left)  # left out by --orphans-only
    assert all("--orphans-only" in left[n]["hint"] for n in world["r1_linked"])
    assert f"left out: {attributed} · orphan instance attributed to r1" in text.stdout
    assert "    include: add --include-attributed to include it" in text.stdout.splitlines()

    # following the hint includes it
    summary = json_lines(cli("--reseller", "r1", "clear-all", "--orphans-only",
                             "--include-attributed", "--dry-run", "--json").stdout)[-1]
    assert attributed in {t["name"] for t in summary["targets"]}
    assert attributed not in {e["name"] for e in summary.get("left_out", [])}


def test_a_young_orphan_says_how_the_grace_works(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    young = f"fabio_7_{int(time.time()) - 60}"  # a minute old by its name
    sim.seed([{"name": young, "state": "close"}])
    grace = {"EVODASH_CLEANUP__ORPHAN_GRACE_S": "600"}
    as_json = cli("clear-all", "--all", "--dry-run", "--json", env=grace)
    assert as_json.returncode == 0, as_json.stderr
    [target] = [t for t in json_lines(as_json.stdout)[-1]["targets"] if t["name"] == young]
    assert target["outcome"] == "skipped" and target["cause"] == "young_orphan"
    hint = target["hint"]
    assert "cleanup.orphan_grace_s" in hint and "10 min old" in hint and "0 turns" in hint
    assert "eligible in about 9 min" in hint
    command = hint[hint.index("evodash "):]
    assert command == f"evodash --settings {shlex.quote(str(cli.settings))} delete {young}"
    text = cli("clear-all", "--all", "--dry-run", env=grace).stdout.splitlines()
    at = next(i for i, line in enumerate(text) if line.startswith(f"  {young}: skipped"))
    assert text[at + 1] == f"    include: {hint}"
    # the way it names works: a delete by name does not wait for the grace
    result = run_printed(cli, command, "--yes")
    assert result.returncode == 0, result.stdout + result.stderr
    assert probe_status(sim, young) == "absent"


@pytest.mark.parametrize("args, name, hint", [
    (["forget", "fabio_1_1", "--dry-run"], "fabio_1_1", "delete fabio_1_1"),
    (["--reseller", "r2", "delete", "fabio_1_1", "--dry-run"], "fabio_1_1",
     "run without --reseller (admin)"),
    (["reprovision", "fabio_2_2", "--dry-run"], "fabio_2_2", "pair fabio_2_2"),
])
def test_every_dry_run_says_how_to_include_a_skipped_target(cli, sim, mongo_db, args, name,
                                                            hint):
    seed_small(sim, mongo_db)
    before = sim.stats()["requests"]
    text, as_json = cli.many(args, [*args, "--json"])
    assert text.returncode == 0 == as_json.returncode, text.stderr + as_json.stderr
    lines = text.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(f"  {name}: skipped"))
    assert lines[at + 1].startswith("    include: ") and lines[at + 1].endswith(hint), lines
    [target] = [t for t in json_lines(as_json.stdout)[-1]["targets"] if t["name"] == name]
    assert target["outcome"] == "skipped" and target["hint"].endswith(hint)
    after = sim.stats()["requests"]
    assert not {"delete", "logout", "create", "connect"} & {
        k for k in after if after[k] != before.get(k)}  # a dry run changes nothing


def test_adopt_dry_run_plans_the_insert_and_changes_nothing(cli, sim, mongo_db):
    seed_world(sim, mongo_db)
    result = cli("adopt", "legacy-box", "--reseller", "ana", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    summary = json_lines(result.stdout)[-1]
    assert summary["scope"] == "reseller:r2" and summary["dry_run"] is True
    [target] = summary["targets"]
    assert target["outcome"] == "planned" and "insert the record" in target["reason"]
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "legacy-box"}) == 0
