"""Which server the CLI talks to: `doctor` names its version, dialect, v2 client name and
how the dialect was found (and fails when a set dialect contradicts the server's version),
`report` (text and `--json`) carries the server and v2's `foreign` count and lists a record
whose name another server holds apart, `--dialect` overrides `evolution.dialect` (or picks
the demo's simulator), and a hostile version or client name is literal on every line.
Real `python -m tui` processes (`Cli` of test_cli_commands) against the v1.8 simulator, or
the stub of `tests/evolution_stub.py` (a v2 server, or a chosen `GET /` in front of the
simulator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.demo_support import PtyTerminal
from tests.evolution_stub import V2_ROOT, StubEvolution, v2_row
from tests.test_cli_commands import REPO, Cli, json_lines
from tests.test_cli_hostile import assert_clean
from tests.test_lifecycle_support import add_record, seed_resellers
from tui.cli.advising import Advisor
from tui.demo.runtime import DemoEnvironment
from tui.demo.world import DemoWorld
from tui.evolution.dialect import Dialect
from tui.settings import SettingsError
from tui.text import visible


@pytest.fixture
def cli(tmp_path, sim, mongo_server, mongo_database) -> Cli:
    return Cli(tmp_path, sim, mongo_server.uri, mongo_database)


def point(cli: Cli, url: str, **evolution) -> None:
    """The settings file of `cli` aimed at `url`, with these `evolution` fields."""
    data = json.loads(cli.settings.read_text())
    data["evolution"] = {"url": url, **evolution}
    cli.settings.write_text(json.dumps(data))


def check(result: subprocess.CompletedProcess, name: str) -> str:
    """The doctor's line of check `name`."""
    return next(line for line in result.stdout.splitlines() if line[5:].startswith(name))


def checks(result: subprocess.CompletedProcess) -> dict[str, dict]:
    return {c["check"]: c for c in json_lines(result.stdout)}


# ---------------------------------------------------------------------------- doctor
def test_doctor_says_which_server_and_how_its_dialect_was_found(cli):
    text, as_json, by_option = cli.many(["doctor"], ["doctor", "--json"],
                                        ["--dialect", "v1.8", "doctor"])
    assert text.returncode == 0 == as_json.returncode, text.stdout + text.stderr
    assert check(text, "server") == (
        "ok   server     Evolution API 1.8.6 (v1.8) · detected from GET / version")
    server = checks(as_json)["server"]
    assert server["ok"] and server["server"] == {
        "version": "1.8.6", "dialect": "v1.8", "client_name": None, "detected_by": "version"}
    assert by_option.returncode == 0
    assert check(by_option, "server").endswith("(v1.8) · set by --dialect")
    assert "overridden by --dialect v1.8" in check(by_option, "settings")
    point(cli, json.loads(cli.settings.read_text())["evolution"]["url"], dialect="v1.8")
    assert check(cli("doctor"), "server").endswith("(v1.8) · set by evolution.dialect")


def test_doctor_on_v2_names_the_client_and_fails_on_a_contradicting_setting(cli):
    with StubEvolution(V2_ROOT) as stub:
        point(cli, stub.url)
        auto, as_json = cli.many(["doctor"], ["doctor", "--json"])
        point(cli, stub.url, dialect="v1.8")
        wrong = cli("doctor")
    assert auto.returncode == 0, auto.stdout
    assert check(auto, "server") == ("ok   server     Evolution API 2.3.6 (v2, client evo_a) · "
                                     "detected from GET / version")
    assert checks(as_json)["server"]["server"] == {
        "version": "2.3.6", "dialect": "v2", "client_name": "evo_a", "detected_by": "version"}
    assert wrong.returncode == 2
    line = check(wrong, "server")
    assert line.startswith("FAIL server     evolution.dialect is v1.8 but the server says "
                           "version 2.3.6 (v2)")
    assert line.endswith("set evolution.dialect to auto or v2")
    assert "1 check(s) failed" in wrong.stderr


def test_a_dialect_option_the_server_contradicts_names_the_option(cli):
    result = cli("--dialect", "v2", "doctor")
    assert result.returncode == 2
    line = check(result, "server")
    assert "--dialect is v2 but the server says version 1.8.6 (v1.8)" in line
    assert line.endswith("use --dialect v1.8, or leave it out")


@pytest.mark.parametrize("listed, how", [(False, "detected from /verify-creds"),
                                         (True, "detected from the instance list's shape")])
def test_doctor_says_a_dialect_found_without_a_version(cli, sim, listed, how):
    if listed:
        sim.seed([{"name": "a_1_1", "state": "close"}])
    root = {k: v for k, v in V2_ROOT.items() if k not in ("version", "clientName")}
    with StubEvolution(root, upstream=sim.url) as front:  # a v1.8 server, GET / proxied away
        point(cli, front.url)
        result = cli("doctor")
    assert check(result, "server") == f"ok   server     Evolution API (v1.8) · {how}"


def test_a_bad_dialect_is_one_line_naming_the_choices(cli):
    for args in (["--dialect", "v3", "report"], ["--demo", "--dialect", "auto"]):
        result = cli(*args)
        value = args[args.index("--dialect") + 1]
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip() == (
            f"evodash: error: argument --dialect: invalid choice: {value!r} "
            "(choose from 'v1.8', 'v2') (see evodash --help)")


# ---------------------------------------------------------------------------- report
THEIRS = "fabio_9_1700000009"  # a record whose name another server's row holds


def test_report_on_v2_carries_the_server_and_lists_other_servers_names_apart(cli, mongo_db):
    seed_resellers(mongo_db)
    for name in ("fabio_1_1", "fabio_2_2", THEIRS, "fabio_4_4"):
        add_record(mongo_db, "r1", name)
    rows = [v2_row("fabio_1_1", "open", messages=3), v2_row("fabio_2_2")]
    held = {"fabio_1_1": "open", "fabio_2_2": "close", THEIRS: None}  # fabio_4_4: free
    with StubEvolution(V2_ROOT, rows=rows, held=held) as stub:
        point(cli, stub.url)
        text, as_json = cli.many(["report"], ["report", "--json"])
    assert text.returncode == 1 == as_json.returncode, text.stderr
    lines = text.stdout.splitlines()
    assert lines[1] == "server: Evolution API 2.3.6 (v2, client evo_a) · detected from GET / version"
    assert "orphan records 2 (absent 1, reserved 0, foreign 1)" in lines[2]
    section = lines.index(next(line for line in lines if line.startswith("OTHER SERVER")))
    assert lines[section + 1].split() == [THEIRS, "r1", "other", "server", "another",
                                          "Evolution", "server", "sharing", "the", "database",
                                          "holds", "the", "name"]
    assert lines[section + 2].startswith(
        "    fix: EVODASH_EVOLUTION__URL=<its URL> evodash --settings ")
    orphans = lines[lines.index("ORPHAN RECORDS (in the database, no instance)") + 1:section]
    assert not any(THEIRS in line for line in orphans)  # not among the reserved or absent
    [report] = json_lines(as_json.stdout)
    assert report["server"] == {"version": "2.3.6", "dialect": "v2", "client_name": "evo_a",
                                "detected_by": "version"}
    assert report["counts"]["foreign"] == 1 and report["counts"]["reserved"] == 0
    theirs = next(r for r in report["orphan_records"] if r["name"] == THEIRS)
    assert theirs["probe"] == "foreign"
    assert theirs["repair"][0]["command"].startswith("EVODASH_EVOLUTION__URL=<its URL>")


def test_report_on_v18_says_the_server_and_no_foreign_count(cli, sim, mongo_db):
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    text, as_json = cli.many(["report"], ["report", "--json"])
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[1] == ("server: Evolution API 1.8.6 (v1.8) · detected "
                                           "from GET / version")
    assert "foreign" not in text.stdout
    [report] = json_lines(as_json.stdout)
    assert report["server"]["dialect"] == "v1.8" and report["counts"]["foreign"] == 0


# ---------------------------------------------------------------------------- hostile
HOSTILE_VERSION = "1.8.6[red]x[/]\x1b[2J\u202e"
HOSTILE_CLIENT = "evo[bold]b[/]\x1b]0;pwned\x07\r\n"


def test_a_hostile_version_and_client_name_are_literal_in_doctor_and_report(cli, sim,
                                                                            mongo_db):
    seed_resellers(mongo_db)
    sim.seed([{"name": "fabio_1_1", "state": "close"}])
    add_record(mongo_db, "r1", "fabio_1_1")
    root = {**V2_ROOT, "version": HOSTILE_VERSION, "clientName": HOSTILE_CLIENT}
    with StubEvolution(root, upstream=sim.url) as front:  # the simulator, a hostile GET /
        point(cli, front.url)
        doctor, doctor_json, report, report_json = cli.many(
            ["doctor"], ["doctor", "--json"], ["report"], ["report", "--json"])
    for result in (doctor, doctor_json, report, report_json):
        assert_clean(result.stdout, result.stderr)
    label = f"Evolution API {visible(HOSTILE_VERSION)} (v1.8, client {visible(HOSTILE_CLIENT)})"
    assert check(doctor, "server") == f"ok   server     {label} · detected from GET / version"
    assert report.stdout.splitlines()[1] == f"server: {label} · detected from GET / version"
    server = {"version": HOSTILE_VERSION, "dialect": "v1.8", "client_name": HOSTILE_CLIENT,
              "detected_by": "version"}
    assert checks(doctor_json)["server"]["server"] == server  # the exact strings, escaped
    assert json_lines(report_json.stdout)[0]["server"] == server


# ---------------------------------------------------------------------------- the demo
def test_each_dialect_keeps_a_demo_world_of_its_own(tmp_path):
    v18 = DemoWorld(tmp_path / "demo")
    v2 = DemoWorld(tmp_path / "demo", dialect=Dialect.V2)
    assert v2.path == v18.path / "v2" and v2.simulator_file != v18.simulator_file
    for world in (v18, v2):
        world.path.mkdir(parents=True, exist_ok=True)
        world.mark_seeded(7)
        (world.path / "simulator.json").write_text("{}")
    assert v18.seeded and v2.seeded
    v18.wipe()  # --demo-reset of the v1.8 world leaves the v2 one alone
    assert not v18.seeded and v2.seeded and v2.simulator_file.exists()
    # a marker of the other dialect (or of none: an older v1.8 world) is not this world's
    (v18.path / "world.json").write_text(json.dumps({"format": 1, "seed": 7}))
    assert v18.seeded
    (v2.path / "world.json").write_text(json.dumps({"format": 1, "seed": 7}))
    assert not v2.seeded


def test_the_advice_of_a_v2_demo_keeps_its_dialect():
    advisor = Advisor(demo=True, dialect="v2")
    assert advisor.command("evodash delete x") == "evodash --demo --dialect v2 delete x"
    assert advisor.command("EVODASH_EVOLUTION__URL=<its URL> evodash report") == \
        "EVODASH_EVOLUTION__URL=<its URL> evodash --demo --dialect v2 report"
    assert advisor.command("cat evodash report") == "cat evodash report"


def test_the_demo_on_v2(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVODASH_")}
    env.update(PYTHONPATH=str(REPO), EVODASH_DEMO_DIR=str(tmp_path / "demo"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                              text=True, env=env, cwd=tmp_path, timeout=120,
                              stdin=subprocess.DEVNULL)

    first = run("--demo", "--dialect", "v2", "report", "--json")
    assert "a new v2 world in" in first.stderr and first.returncode == 1, first.stderr
    [report] = json_lines(first.stdout)
    assert report["server"]["dialect"] == "v2" and report["server"]["detected_by"] == "version"
    assert report["server"]["client_name"]
    assert report["counts"]["foreign"] == 1
    theirs = [r for r in report["orphan_records"] if r["probe"] == "foreign"]
    assert len(theirs) == 1
    linked = {r["name"] for r in report["linked"]}
    text = run("--demo", "--dialect", "v2", "report")
    assert "(v2, client " in text.stdout.splitlines()[1]
    assert "--demo --dialect v2 " in text.stdout  # the advice pastes into the same demo
    # the v1.8 world beside it is its own: seeded afresh, v1.8, no foreign name
    v18 = run("--demo", "report", "--json")
    assert "a new world in" in v18.stderr
    [other] = json_lines(v18.stdout)
    assert other["server"]["dialect"] == "v1.8" and other["counts"]["foreign"] == 0
    again = run("--demo", "--dialect", "v2", "report", "--json")
    assert "new" not in again.stderr  # the v2 world was kept
    assert {r["name"] for r in json_lines(again.stdout)[0]["linked"]} == linked
    doctor = run("--demo", "--dialect", "v2", "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "embedded demo (v2)" in doctor.stdout and "(v2, client " in doctor.stdout
    # the dashboard, in a terminal: its header names the v2 server and counts the name
    # another server holds
    term = PtyTerminal(tmp_path / "demo", "--demo", "--dialect", "v2", size=(100, 30))
    try:
        term.wait_for("foreign 1")
        term.wait_for("2.3.6 (v2 · ")
        term.wait_for("v2 demo world")  # the progress log says where its world is
        term.keys("q")
        assert term.wait(30) == 0
    finally:
        term.close()
    assert "Traceback" not in term.text()
