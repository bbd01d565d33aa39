"""The headless CLI end to end: `python -m tui ...` in a subprocess (stdin not a TTY) with a
settings file pointing at the simulator and Mongo-wire fixtures, the API key from
EVODASH_* environment. Exit codes, --json lines, refusals, doctor, one-line errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.mongo import CONNECTIONS
from tests.fixtures.sim import API_KEY, dialect_free, v2_only, v18_only
from tests.test_lifecycle_support import (
    add_record,
    listed_ghosts,
    probe_status,
    seed_resellers,
    seed_world,
    snapshot,
)

REPO = Path(__file__).resolve().parents[1]


class Cli:
    def __init__(self, tmp_path: Path, sim, mongo_uri: str, database: str):
        self.tmp_path = tmp_path
        self.settings = tmp_path / "settings.json"
        self.audit = tmp_path / "audit.jsonl"
        self.write(sim.url, mongo_uri, database)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("EVODASH_")}
        self.env.update(PYTHONPATH=str(REPO), EVODASH_EVOLUTION__API_KEY=API_KEY,
                        EVODASH_EVOLUTION__TIMEOUT_S="2")

    def write(self, url: str, mongo_uri: str, database: str) -> None:
        self.settings.write_text(json.dumps({
            "evolution": {"url": url},
            "mongo": {"uri": mongo_uri, "database": database},
            "cleanup": {"concurrency": 3, "verify_timeout_s": 0.6, "max_delete_attempts": 2,
                        "free_hold_s": 0.4, "orphan_grace_s": 0},
            "audit_log": str(self.audit),
        }))
        self.settings.chmod(0o600)

    def __call__(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return self.many(list(args), env=env)[0]

    def many(self, *arglists: list[str], env: dict | None = None,
             envs: list[dict] | None = None) -> list[subprocess.CompletedProcess]:
        """Run several invocations at once, each a new process (read-only ones, refused
        ones, or mutations of names of their own); `envs`: one more environment each."""
        extra = envs or [{}] * len(arglists)
        procs = [subprocess.Popen(
            [sys.executable, "-m", "tui", "--settings", str(self.settings), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=self.tmp_path, env={**self.env, **(env or {}), **more})
            for args, more in zip(arglists, extra)]
        results = []
        for args, proc in zip(arglists, procs):
            out, err = proc.communicate(timeout=60)
            result = subprocess.CompletedProcess(args, proc.returncode, out, err)
            for stream in (result.stdout, result.stderr):
                assert API_KEY not in stream, "the API key leaked into the output"
                assert "Traceback" not in stream, stream
            results.append(result)
        return results


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def sim(dialect_sim):
    """The commands that talk to Evolution run on v1.8 and on v2 (`dialect_sim`)."""
    return dialect_sim


@pytest.fixture
def cli(tmp_path, sim, mongo_server, mongo_database) -> Cli:
    return Cli(tmp_path, sim, mongo_server.uri, mongo_database)


FOREIGN = "fabio_8_1700000008"  # on v2: a row of another server sharing the database


def drop_foreign_row(sim, name: str) -> None:
    """Remove another client name's row from the shared database at once (a reset of this
    server keeps other servers' rows): this server's delete destroys it, with no window."""
    sim.faults(delete_window_ms=0, window_cost_ms=0, cleanup_lag_ms=0)
    sim.request("DELETE", f"/instance/delete/{name}")
    assert probe_status(sim, name) == "absent"


@pytest.fixture
def held(sim, mongo_db):
    """An orphan record of r1 whose name the server holds without listing it, and what the
    report's probe calls it: on v1.8 seed_world's ghost (`reserved`); on v2 - whose ghost
    rows are listed, so that record is linked there - a name of another server sharing the
    database (`foreign`)."""
    if sim.dialect != "v2":
        yield "fabio_5_1700000005", "reserved"
        return
    sim.seed([{"name": FOREIGN, "client_name": "evo_b", "live": False}])
    add_record(mongo_db, "r1", FOREIGN)
    yield FOREIGN, "foreign"
    drop_foreign_row(sim, FOREIGN)


def seed_small(sim, mongo_db) -> None:
    """r1: two linked instances and an orphan record (name free); r2: one linked."""
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "open"}, {"name": "fabio_2_2", "state": "close"},
              {"name": "ana_1_1", "state": "close"}])
    for name in ("fabio_1_1", "fabio_2_2", "fabio_3_3"):
        add_record(mongo_db, "r1", name)
    add_record(mongo_db, "r2", "ana_1_1")


# ---------------------------------------------------------------------------- report
def test_report_text_and_json_exit_1_with_drift_and_0_when_consistent(cli, sim, mongo_db,
                                                                       held):
    world = seed_world(sim, mongo_db)
    held_name, held_probe = held
    result, as_json, scoped_run = cli.many(["report"], ["report", "--json"],
                                           ["--reseller", "r2", "report", "--json"])
    assert result.returncode == 1 == as_json.returncode, result.stderr
    assert "ORPHAN INSTANCES" in result.stdout and "ORPHAN RECORDS" in result.stdout
    [line] = [x for x in result.stdout.splitlines() if x.strip().startswith(held_name)]
    assert {"reserved": "reserved", "foreign": "other server"}[held_probe] in line, line

    [report] = json_lines(as_json.stdout)  # one object
    assert {"linked", "orphan_instances", "orphan_records", "counts"} <= set(report)
    probes = {r["name"]: r["probe"] for r in report["orphan_records"]}
    assert probes == {"fabio_4_1700000004": "absent", held_name: held_probe,
                      "ana_3_1700000003": "absent"}
    linked = {r["name"] for r in report["linked"]}
    assert set(listed_ghosts(sim)) <= linked  # v2 lists its ghost row: that record is linked
    assert sorted({r["name"] for r in report["orphan_instances"]}) == sorted(
        world["r1_attributed"] + world["r2_attributed"] + world["unattributed"])
    assert report["counts"]["orphan_records"] == 3

    [scoped] = json_lines(scoped_run.stdout)
    names = {r["name"] for key in ("linked", "orphan_instances", "orphan_records")
             for r in scoped[key]}
    assert names and all(n.startswith(("ana_", "shared_")) for n in names)

    sim.reset()
    mongo_db[CONNECTIONS].delete_many({})
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    result = cli("report")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "consistent" in result.stdout


# ---------------------------------------------------------------------------- refusals
REFUSED = [
    ["delete", "fabio_1_1"],
    ["clear-all", "--all", "--json"],
    ["create", "--reseller", "r1"],
]


@dialect_free("refused before anything runs: the prompt's rule")
def test_mutations_refuse_without_tty_and_without_yes(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    before = snapshot(sim, mongo_db)
    for args, result in zip(REFUSED, cli.many(*REFUSED)):
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "--yes" in result.stderr and len(result.stderr.strip().splitlines()) == 1, args
    assert snapshot(sim, mongo_db) == before
    assert not {"delete", "logout", "create"} & set(sim.stats()["requests"])
    assert not cli.audit.exists()


@dialect_free("refused before anything runs: the read-only rule")
def test_read_only_flag_refuses_even_with_yes(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    before = snapshot(sim, mongo_db)
    runs = [[*args, "--yes"] for args in REFUSED[:2]]
    for args, result in zip(runs, cli.many(*[["--read-only", *a] for a in runs])):
        assert result.returncode == 2 and "read-only" in result.stderr, args
    assert snapshot(sim, mongo_db) == before
    assert not {"delete", "logout", "create"} & set(sim.stats()["requests"])


# ---------------------------------------------------------------------------- mutations
def test_clear_all_json_lines_end_with_the_summary(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    result = cli("clear-all", "--reseller", "r1", "--yes", "--json", "--concurrency", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = json_lines(result.stdout)
    assert lines[-1]["type"] == "summary"
    assert all(line["type"] != "summary" for line in lines[:-1])
    assert {line["type"] for line in lines[:-1]} <= {"step", "info"}
    summary = lines[-1]
    assert summary["deleted_from_evolution"] == 2 and summary["deleted_from_db"] == 3
    assert summary["already_absent"] == 1 and summary["failed"] == 0
    assert sorted(t["name"] for t in summary["targets"]) == ["fabio_1_1", "fabio_2_2",
                                                             "fabio_3_3"]
    assert probe_status(sim, "ana_1_1") == "present"
    assert mongo_db[CONNECTIONS].count_documents({}) == 1
    events = json_lines(cli.audit.read_text())  # written ahead: start, intent/outcome, summary
    assert events[0]["event"] == "start" and events[-1]["event"] == "summary"
    audit = events[-1]
    assert audit["operation"] == "clear-all" and audit["scope"] == "reseller:r1"


@dialect_free("a dry run plans and sends nothing that changes: the plan's code whichever dialect")
def test_clear_all_dry_run_changes_nothing(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    before = snapshot(sim, mongo_db)
    result = cli("clear-all", "--all", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    summary = json_lines(result.stdout)[-1]
    assert summary["type"] == "summary" and summary["dry_run"] is True
    assert {t["outcome"] for t in summary["targets"]} == {"planned"}
    assert snapshot(sim, mongo_db) == before
    text = cli("clear-all", "--reseller", "r3", "--dry-run")
    assert text.returncode == 0 and "no records" in text.stdout
    assert snapshot(sim, mongo_db) == before


@v18_only("stuck_reserved from v1.8's orphan re-reservation (v2: below)")
def test_delete_exit_1_when_a_target_is_not_removed(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    sim.faults(reconnect_loop=["fabio_2_2"], connecting_share=0, orphan_outcome="reserved")
    result = cli("delete", "fabio_1_1", "fabio_2_2", "--yes", "--json")
    assert result.returncode == 1
    summary = json_lines(result.stdout)[-1]
    assert summary["type"] == "summary"
    outcomes = {t["name"]: t["outcome"] for t in summary["targets"]}
    assert outcomes == {"fabio_1_1": "removed", "fabio_2_2": "stuck_reserved"}
    assert summary["stuck_reserved"] == 1 and summary["errors"]
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "fabio_2_2"}) == 1


@v2_only("names v2 holds: past the budget by its cleanup, or by another server sharing its database")
def test_v2_held_names_through_the_cli(cli, sim, mongo_db, held):
    """At once: a delete whose names the server's cleanup still holds past the verification
    budget exits 1, stuck with the cleanup reason, records kept, no logout (v1.8's stuck
    name: above); another server's name is reported `foreign` and left by delete and
    clear-all (skipped: another server's), its record kept, its row still there."""
    name, probe = held
    seed_small(sim, mongo_db)
    sim.faults(delete_window_ms=5000)  # the server's cleanup outlasts the verification
    stuck, report, delete, clear = cli.many(
        ["delete", "fabio_1_1", "fabio_2_2", "--yes", "--json"],
        ["report", "--json"], ["delete", name, "--yes", "--json"],
        ["clear-all", "--reseller", "r1", "--yes", "--json", "--orphans-only"])

    assert stuck.returncode == 1, stuck.stdout + stuck.stderr
    summary = json_lines(stuck.stdout)[-1]
    assert {t["name"]: t["outcome"] for t in summary["targets"]} == {
        "fabio_1_1": "stuck_reserved", "fabio_2_2": "stuck_reserved"}
    assert all("cleanup has not finished" in t["reason"] for t in summary["targets"])
    assert summary["stuck_reserved"] == 2 and summary["deleted_from_db"] == 0
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": {"$in": [
        "fabio_1_1", "fabio_2_2"]}}) == 2
    assert sim.stats()["requests"].get("logout", 0) == 0

    [orphan] = [r for r in json_lines(report.stdout)[0]["orphan_records"] if r["name"] == name]
    assert orphan["probe"] == probe == "foreign"
    for run in (delete, clear):
        [target] = [t for t in json_lines(run.stdout)[-1]["targets"] if t["name"] == name]
        assert target["outcome"] == "skipped", run.stdout
        assert "another Evolution server" in target["reason"]
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": name}) == 1
    assert probe_status(sim, name) == "reserved"
    assert sim.stats()["requests"]["delete"] == 2  # the two stuck ones, never the other's


def test_create_with_qr_forget_adopt_and_reprovision_through_the_cli(cli, sim, mongo_db):
    """Four runs at once, each on names of its own (the create's: a new one for r3, Zed)."""
    seed_small(sim, mongo_db)  # fabio_3_3: an orphan record, its name free
    sim.seed([{"name": "legacy-box", "state": "open"}])
    add_record(mongo_db, "r1", "fabio_4_4")
    create, forget, adopt, reprovision = cli.many(
        ["create", "--reseller", "r3", "--qr", "--yes", "--json"],
        ["forget", "fabio_4_4", "--yes", "--json"],
        ["adopt", "legacy-box", "--reseller", "r2", "--yes", "--json"],
        ["reprovision", "fabio_3_3", "--yes", "--json"])
    outcomes = {}
    for run in (create, forget, adopt, reprovision):
        assert run.returncode == 0, run.stdout + run.stderr
        [target] = json_lines(run.stdout)[-1]["targets"]
        outcomes[target["name"]] = target["outcome"]
    [created] = json_lines(create.stdout)[-1]["targets"]
    assert created["name"].startswith("zed_1_") and created["extra"]["qrcode"]["code"]
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": created["name"]}) == 1
    assert outcomes == {created["name"]: "created", "fabio_4_4": "forgotten",
                        "legacy-box": "adopted", "fabio_3_3": "reprovisioned"}
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": "fabio_4_4"}) == 0
    [adopted] = mongo_db[CONNECTIONS].find({"instance_name": "legacy-box"})
    assert adopted["reseller_id"] == "r2"
    assert probe_status(sim, "fabio_3_3") == "present"
    assert probe_status(sim, "legacy-box") == "present"


# ---------------------------------------------------------------------------- doctor / errors
def test_doctor_ok_and_wrong_api_key(cli, sim, mongo_db):
    seed_small(sim, mongo_db)
    wrong = "wrong-key-abcdef123456"
    result, bad = cli.many(["doctor"], ["doctor"],
                           envs=[{}, {"EVODASH_EVOLUTION__API_KEY": wrong}])
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * 7
    assert [line.split()[1] for line in lines] == ["settings", "evolution", "api", "server",
                                                   "mongodb", "audit", "scope"]
    assert bad.returncode == 2
    assert any(line.startswith("FAIL api key") for line in bad.stdout.splitlines())
    assert wrong not in bad.stdout + bad.stderr


@dialect_free("nothing listens: no dialect to find")
def test_unreachable_server_is_one_line_exit_2(cli, sim, mongo_server, mongo_database):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    cli.write(f"http://127.0.0.1:{port}", mongo_server.uri, mongo_database)
    result, doctor = cli.many(["report"], ["doctor"])
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("evodash: ")
    assert doctor.returncode == 2 and "FAIL evolution" in doctor.stdout


@dialect_free("argument parsing, before any server")
@pytest.mark.parametrize("args", [
    ["clear-all"],  # neither --all nor --reseller
    ["clear-all", "--all", "--reseller", "r1"],
    ["clear-all", "--all", "--concurrency", "many"],
    ["frobnicate"],
    ["delete"],
])
def test_usage_errors_exit_2(cli, args):
    result = cli(*args)
    assert result.returncode == 2
    assert result.stderr.startswith("evodash: error:") and result.stdout == ""


@dialect_free("the settings file, before any server")
def test_missing_settings_file_exit_2(cli, tmp_path):
    result = subprocess.run([sys.executable, "-m", "tui", "--settings",
                             str(tmp_path / "nope.json"), "report"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=60, env=cli.env, cwd=tmp_path)
    assert result.returncode == 2 and "settings file not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@v18_only("v1.8's list shows a flapping instance's live state (v2's: the stored column)")
def test_report_shows_a_dialing_instance_as_dialing(cli, sim, mongo_db):
    """A flapping instance mostly lists as `close`: `report` samples the list and says
    `dialing` (text and JSON); a quiet `close` one stays `close`."""
    seed_small(sim, mongo_db)
    sim.seed([{"name": "zed_dialing", "state": "close"}, {"name": "zed_quiet", "state": "close"}])
    sim.faults(reconnect_loop=["fabio_2_2", "zed_dialing"], connecting_share=0.5, dial_cost_ms=0)
    report = json_lines(cli("report", "--json").stdout)[-1]
    linked = {r["name"]: r for r in report["linked"]}
    orphans = {r["name"]: r for r in report["orphan_instances"]}
    assert linked["fabio_2_2"]["dialing"] or linked["fabio_2_2"]["state"] == "connecting"
    assert not linked["fabio_1_1"]["dialing"] and not orphans["zed_quiet"]["dialing"]
    assert orphans["zed_dialing"]["dialing"] or orphans["zed_dialing"]["state"] == "connecting"
    lines = cli("report").stdout.splitlines()
    [dialing] = [line for line in lines if line.strip().startswith("zed_dialing")][:1]
    [quiet] = [line for line in lines if line.strip().startswith("zed_quiet")]
    assert dialing.split()[1] in ("dialing", "connecting") and quiet.split()[1] == "close"


@v2_only("v2's list is its database: connectionStatus is the stored column")
def test_v2_report_shows_a_dialing_instance_with_its_stored_status(cli, sim, mongo_db):
    """v2 lists database rows: the column of a flapping instance says `close` (recorded:
    it never says `connecting`), so the report shows what the server lists - its stored
    status - and never `dialing` for a quiet one. (Its dialing shows in connectionState
    only, which the report does not sample.)"""
    seed_small(sim, mongo_db)
    sim.seed([{"name": "zed_dialing", "state": "close", "dialing": True},
              {"name": "zed_quiet", "state": "close"}])
    sim.faults(reconnect_loop=["zed_dialing"], connecting_share=0.5, dial_cost_ms=0)
    report = json_lines(cli("report", "--json").stdout)[-1]
    orphans = {r["name"]: r for r in report["orphan_instances"]}
    assert orphans["zed_dialing"]["state"] == "close" == orphans["zed_quiet"]["state"]
    assert not orphans["zed_quiet"]["dialing"]
    assert "zed_dialing" in sim.state()["reconnect_loop"]


@dialect_free("the reseller is looked up in MongoDB before any server")
def test_unknown_reseller_scope_is_one_line_exit_2_for_every_command(cli, sim, mongo_db):
    """A typo in `--reseller` is not an empty, consistent tenant: one line naming it, exit 2,
    for the report and for every mutation (nothing asked, nothing changed)."""
    seed_small(sim, mongo_db)
    before = mongo_db[CONNECTIONS].count_documents({})
    results = cli.many(["--reseller", "r-nope", "report"],
                       ["--reseller", "r-nope", "report", "--json"],
                       ["--reseller", "r-nope", "delete", "fabio_1_1", "--yes"],
                       ["--reseller", "r-nope", "clear-all", "--reseller", "r-nope", "--yes"],
                       ["--reseller", "r1", "report"])
    for result in results[:4]:
        assert result.returncode == 2, (result.args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert lines == ["evodash: unknown reseller 'r-nope': no reseller has that id or name "
                         "(evodash resellers lists them)"], lines
        assert "consistent" not in result.stdout
    known = results[4]  # r1 exists: its report (drift: exit 1), not the error line
    assert known.returncode == 1 and "fabio_3_3" in known.stdout and not known.stderr
    assert mongo_db[CONNECTIONS].count_documents({}) == before


def test_every_argument_has_help_text():
    """`--help` explains every option and positional of every command (issue 16, point 11)."""
    import argparse

    from tui.cli.main import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    missing = []
    for prog, p in [("evodash", parser), *commands.choices.items()]:
        if prog == "sim":  # its own parser (tui/simulator/cli.py) has help on every option
            continue
        for action in p._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            if not (action.help or "").strip():
                missing.append(f"{prog} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []
    from tui.simulator.cli import _parser as sim_parser

    assert all((a.help or "").strip() for a in sim_parser()._actions)
    assert {"report", "resellers", "pair", "delete", "clear-all", "create", "forget", "adopt",
            "reprovision", "doctor"} <= set(commands.choices)
