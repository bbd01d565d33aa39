"""Outside text on the CLI: names, reseller names, record fields and server messages that
carry terminal escapes, bidi overrides, zero-width characters, markup and very long strings
are shown literally (`tui.text.visible`; JSON: `json_visible`) on every line - report, plan,
steps, summary, notes, errors, doctor, prompts - and arguments that cannot be used end as
one line and exit 2, never a traceback. Real `python -m tui` processes against the simulator
and the MongoDB-wire server (the `Cli` helper of test_cli_commands)."""

from __future__ import annotations

import builtins
import errno
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from urllib.parse import quote

from tests.fixtures.mongo import CONNECTIONS, RESELLERS, insert_raw
from tests.fixtures.sim import API_KEY, dialect_free
from tests.test_cli_commands import Cli
from tests.test_lifecycle_support import add_record, seed_resellers

CORPUS = {
    "clear": "esc\x1b[2J\x1b[Hcls",  # clear the screen, cursor home
    "osc52": "osc\x1b]52;c;cHduZWQ=\x07clip",  # write the clipboard
    "title": "ttl\x1b]0;owned\x07x",  # set the window title
    "bel_cr_bs": "bel\x07cr\rbs\x08\x08x",  # bell, carriage return, backspaces
    "rlo": "rlo\u202egnp.exe",  # right-to-left override
    "isolate": "lri\u2066iso\u2069x",  # left-to-right isolate ... pop
    "zwsp": "zw\u200bsp",  # zero-width space
    "markup": "mk[/]up[bold]x",  # console markup: must stay literal
    "c1": "csi\x9b31mred",  # C1 control sequence introducer
    "long": "long" + "\x1b[31m" * 50 + "L" * 3000,  # very long, escapes inside
}
# what must never reach the terminal raw (CR: only as part of nothing - lines end in \n)
FORBIDDEN = {"ESC": "\x1b", "BEL": "\x07", "BS": "\x08", "CR": "\r", "RLO": "\u202e",
             "LRI": "\u2066", "PDI": "\u2069", "ZWSP": "\u200b", "CSI": "\x9b"}


def assert_clean(*texts: str) -> None:
    for text in texts:
        found = sorted(name for name, char in FORBIDDEN.items() if char in text)
        assert not found, f"raw {found} on the terminal: {text[:600]!r}"
        assert "Traceback" not in text, text


def assert_json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # each one parses


def probe_status(sim, name: str) -> str:
    """absent / reserved / present, from the simulator (the name percent-encoded)."""
    response = sim.request("GET", f"/instance/connectionState/{quote(name, safe='')}")
    if response.status_code == 404:
        return "absent"
    assert response.status_code == 200, response.text
    return "present" if "state" in response.json()["instance"] else "reserved"


def in_process(monkeypatch) -> None:
    """`main()` called in this process reads the API key from the environment too."""
    monkeypatch.setenv("EVODASH_EVOLUTION__API_KEY", API_KEY)
    monkeypatch.setenv("EVODASH_EVOLUTION__TIMEOUT_S", "2")


HOSTILE_RESELLER = {"id": "rh", "name": "Evil\x1b]0;pwn\x07\u202eCorp[/]\u200b"}


def seed_hostile(sim, mongo_db) -> None:
    """Hostile instance names (orphans), linked hostile names, orphan records with hostile
    fields, an invalid record with a hostile _id, a reseller with a hostile name."""
    seed_resellers(mongo_db)
    insert_raw(mongo_db, HOSTILE_RESELLER, collection=RESELLERS)
    sim.seed([{"name": name, "state": "close"} for name in CORPUS.values()])
    for key in ("clear", "rlo", "markup"):  # linked: record of r1, hostile fields
        add_record(mongo_db, "r1", CORPUS[key], phone_number=CORPUS["osc52"],
                   status=CORPUS["title"])
    for key, name in CORPUS.items():  # orphan records: their names are free on the server
        insert_raw(mongo_db, {"id": f"orph-{key}", "reseller_id": "rh",
                              "instance_name": "orphan-" + name, "status": CORPUS["bel_cr_bs"],
                              "phone_number": CORPUS["isolate"]})
    insert_raw(mongo_db, {"_id": "bad\x1b[2J\u202eid", "reseller_id": CORPUS["zwsp"],
                          "instance_name": ["not", "a", "string\x1b[2J"]})
    insert_raw(mongo_db, {"id": "r-odd", "reseller_id": CORPUS["c1"],
                          "instance_name": "odd-" + CORPUS["zwsp"]})


@pytest.fixture
def sim(dialect_sim):
    """What a server lists, plans and answers runs on v1.8 and on v2 (`dialect_sim`)."""
    return dialect_sim


@pytest.fixture
def cli(tmp_path, sim, mongo_server, mongo_database) -> Cli:
    return Cli(tmp_path, sim, mongo_server.uri, mongo_database)


# ---------------------------------------------------------------------------- read-only
@dialect_free("the CLI's escaping of what a server lists (v2's hostile rows: the delete's lines here, the dashboard's cells)")
def test_report_plan_and_doctor_show_hostile_text_literally(cli, sim, mongo_db):
    seed_hostile(sim, mongo_db)
    report, as_json, dry, dry_json, scoped_dry, doctor, doctor_json = cli.many(
        ["report"], ["report", "--json"], ["clear-all", "--all", "--dry-run"],
        ["clear-all", "--all", "--dry-run", "--json"],
        ["clear-all", "--reseller", "rh", "--dry-run"], ["doctor"], ["doctor", "--json"])
    for result in (report, as_json, dry, dry_json, scoped_dry, doctor, doctor_json):
        assert_clean(result.stdout, result.stderr)
    assert report.returncode == 1 and as_json.returncode == 1
    # the names are there, escaped, each on its own line (no CR / newline of theirs)
    assert "esc\\x1b[2J\\x1b[Hcls" in report.stdout
    assert "rlo\\u202egnp.exe" in report.stdout and "mk[/]up[bold]x" in report.stdout
    assert "orphan-zw\\u200bsp" in report.stdout and "bad\\x1b[2J\\u202eid" in report.stdout
    [parsed] = assert_json_lines(as_json.stdout)
    names = {r["name"] for r in parsed["orphan_instances"]} | {r["name"] for r in
                                                                parsed["linked"]}
    assert set(CORPUS.values()) <= names  # JSON carries the exact strings, escaped
    assert dry.returncode == 0 and dry_json.returncode == 0 and scoped_dry.returncode == 0
    assert "orphan-ttl\\x1b]0;owned\\x07x" in dry.stdout
    summary = assert_json_lines(dry_json.stdout)[-1]
    assert summary["type"] == "summary" and summary["dry_run"] is True
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert_json_lines(doctor_json.stdout)


@dialect_free("resellers' names and repair hints are MongoDB's text (a hostile report, plan and delete: both dialects here; pair: test_cli_pair)")
def test_new_commands_show_hostile_text_literally(cli, sim, mongo_db):
    """issue 16's lines: repairs and hints, `resellers`, a reseller's name in a suggestion
    or a report header, `pair` of a hostile name (its QR title, its refusal line)."""
    seed_hostile(sim, mongo_db)
    runs = [["resellers"], ["resellers", "--json"], ["--reseller", "evil corp", "report"],
            ["--reseller", "rh", "report"], ["--reseller", "RH", "report"],
            ["pair", CORPUS["title"], "--yes"], ["pair", CORPUS["osc52"], "--yes", "--json"],
            ["pair", "orphan-" + CORPUS["clear"], "--yes"],
            ["--reseller", "rh", "clear-all", "--orphans-only", "--dry-run"],
            ["delete", CORPUS["clear"], "nope\x1b[2J", "--dry-run"]]
    results = cli.many(*runs)
    for args, result in zip(runs, results):
        assert_clean(result.stdout, result.stderr)
    listing, listing_json, miss, scoped, by_name, qr, qr_json, refused, dry, delete_dry = results
    assert "Evil\\x1b]0;pwn\\x07\\u202eCorp[/]\\u200b" in listing.stdout
    [parsed] = assert_json_lines(listing_json.stdout)  # JSON carries the exact name
    assert {r["id"]: r["name"] for r in parsed["resellers"]}["rh"] == HOSTILE_RESELLER["name"]
    assert miss.returncode == 2 and miss.stderr.count("\n") == 1
    assert "did you mean rh (Evil\\x1b]0;pwn\\x07\\u202eCorp[/]\\u200b)?" in miss.stderr
    assert scoped.stdout.splitlines()[0].endswith(
        "· reseller rh (Evil\\x1b]0;pwn\\x07\\u202eCorp[/]\\u200b)")
    assert by_name.returncode == 1, by_name.stderr  # the id in any case: its orphan records
    assert "fix: evodash --settings" in scoped.stdout and "forget 'orphan-" in scoped.stdout
    assert qr.returncode == 0 and "Scan with WhatsApp (Linked devices): ttl\\x1b]0;owned" \
        in qr.stdout
    assert [x["name"] for x in assert_json_lines(qr_json.stdout)
            if x["type"] == "pairing"] == [CORPUS["osc52"]]
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "orphan-esc\\x1b[2J\\x1b[Hcls: not an Evolution instance" in refused.stderr
    assert dry.returncode == 0 and delete_dry.returncode == 0


def test_plan_step_summary_and_error_lines_of_a_delete(cli, sim, mongo_db):
    seed_hostile(sim, mongo_db)
    text, as_json, missing = cli.many(  # three runs at once, on names of their own
        ["delete", CORPUS["clear"], CORPUS["rlo"], CORPUS["bel_cr_bs"],
         "nope\x1b]0;x\x07\u202e", "--yes"],
        ["delete", CORPUS["title"], CORPUS["isolate"], "--yes", "--json"],
        ["delete", "gone\x1b[2J\u202e\u200b", "--yes"])
    assert_clean(text.stdout, text.stderr)
    assert text.returncode == 1, text.stdout + text.stderr  # one of them is not found
    assert "\nesc\\x1b[2J\\x1b[Hcls delete " in text.stdout  # a step line
    assert "nope\\x1b]0;x\\x07\\u202e: not_found" in text.stdout  # the summary's reason
    assert probe_status(sim, CORPUS["clear"]) == "absent"
    assert mongo_db[CONNECTIONS].count_documents({"instance_name": CORPUS["clear"]}) == 0

    assert_clean(as_json.stdout, as_json.stderr)
    lines = assert_json_lines(as_json.stdout)
    assert lines[-1]["type"] == "summary" and as_json.returncode == 0
    assert sorted(t["name"] for t in lines[-1]["targets"]) == sorted(
        [CORPUS["title"], CORPUS["isolate"]])

    # nothing to do: the one error line carries the name, escaped
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "gone\\x1b[2J\\u202e\\u200b" in missing.stderr
    assert_clean(missing.stdout, missing.stderr)


@dialect_free("a reseller's name from MongoDB in titles and prompts")
def test_reseller_name_in_plans_and_prompts(cli, sim, mongo_db, monkeypatch, capsys):
    """The plan titles and the confirmation prompts quote the reseller's name."""
    from tui.cli.main import main

    seed_hostile(sim, mongo_db)
    adopt, create = cli("adopt", CORPUS["zwsp"], "--reseller", "rh", "--yes"), \
        cli("create", "--reseller", "rh", "--yes")
    assert_clean(adopt.stdout, adopt.stderr, create.stdout, create.stderr)
    assert adopt.returncode == 0, adopt.stdout + adopt.stderr
    assert create.returncode == 0, create.stdout + create.stderr
    assert "Evil\\x1b]0;pwn\\x07\\u202eCorp[/]\\u200b" in create.stdout  # the plan's title

    # on a terminal: the prompt itself (in-process, input() answered "no")
    prompts: list[str] = []

    class Tty:
        def isatty(self) -> bool:
            return True

    def fake_input(prompt: str = "") -> str:
        prompts.append(prompt)
        return "no"

    in_process(monkeypatch)
    monkeypatch.setattr(sys, "stdin", Tty())
    monkeypatch.setattr(builtins, "input", fake_input)
    for args in (["clear-all", "--reseller", "rh"], ["delete", CORPUS["osc52"]],
                 ["create", "--reseller", "rh"]):
        code = main(["--settings", str(cli.settings), *args])
        out, err = capsys.readouterr()
        assert code == 2 and "cancelled" in err, (args, out, err)
        assert_clean(out, err)
    assert len(prompts) == 3
    assert_clean(*prompts)
    assert any("\\u202eCorp" in prompt for prompt in prompts), prompts
    assert probe_status(sim, CORPUS["osc52"]) == "present"


@dialect_free("v2's 403 'already in use' is v1.8's text and status (v2-contract §1.4)")
def test_server_message_echoing_a_hostile_name(cli, sim, mongo_db):
    """A 403 "This name "<name>" is already in use." from Evolution, for a name read from a
    record: the name appears in the message that reaches the summary - escaped. (The
    instance appears between the run's probe and its create: seeded once the create was
    sent, while the simulator's latency holds it.)"""
    seed_resellers(mongo_db)
    name = "re\x1b]52;c;AAAA\x07\u202e\u200bprov"
    add_record(mongo_db, "r1", name)
    sim.faults(latency_ms=400)

    def seed_once_create_is_sent() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if sim.stats()["requests"].get("create"):
                sim.seed([{"name": name, "state": "close"}])
                return
            time.sleep(0.01)

    racer = threading.Thread(target=seed_once_create_is_sent, daemon=True)
    racer.start()
    for as_json in (False, True):
        if as_json:  # the same message in a JSON summary
            sim.faults()
            sim.reset()
            sim.faults(latency_ms=400)
            racer = threading.Thread(target=seed_once_create_is_sent, daemon=True)
            racer.start()
        args = ["reprovision", name, "--yes"] + (["--json"] if as_json else [])
        result = cli(*args)
        racer.join(5)
        assert_clean(result.stdout, result.stderr)
        assert result.returncode == 1, result.stdout + result.stderr
        out = result.stdout
        if as_json:
            [target] = assert_json_lines(out)[-1]["targets"]
            assert target["outcome"] == "failed" and "already in use" in target["reason"]
            assert name in target["reason"]  # the exact text, once parsed
        else:
            assert "already in use" in out
            assert 'This name "re\\x1b]52;c;AAAA\\x07\\u202e\\u200bprov"' in out


@dialect_free("paths of the audit log and the settings")
def test_hostile_audit_and_settings_paths_in_doctor(cli, sim, mongo_db, tmp_path):
    seed_resellers(mongo_db)
    hostile_dir = tmp_path / "au\x1b]0;t\x07\u202edit"
    settings = json.loads(cli.settings.read_text())
    settings["audit_log"] = str(hostile_dir / "audit.jsonl")
    odd = tmp_path / "set\x1b[2Jtings\u200b.json"
    odd.write_text(json.dumps(settings))
    odd.chmod(0o600)
    cli.settings = odd
    text, as_json = cli.many(["doctor"], ["doctor", "--json"])
    assert_clean(text.stdout, text.stderr, as_json.stdout, as_json.stderr)
    assert text.returncode == 0, text.stdout + text.stderr
    checks = {c["check"]: c for c in assert_json_lines(as_json.stdout)}
    assert checks["audit log"]["ok"] and str(hostile_dir) in checks["audit log"]["detail"]
    assert hostile_dir.is_dir() and (hostile_dir.stat().st_mode & 0o777) == 0o700


# ---------------------------------------------------------------------------- bad arguments
LONG_ID = "r" * 500
BAD_RESELLERS = ["", "   ", "\t", LONG_ID, "r1\x1b[2J", "r\u202e1", "r\x7f"]


def bad_reseller_runs(value: str) -> list[list[str]]:
    return [["--reseller", value],  # the dashboard
            ["--reseller", value, "report"], ["--reseller", value, "doctor", "--json"],
            ["--reseller", value, "delete", "x", "--yes"],
            ["clear-all", "--reseller", value, "--dry-run"],
            ["create", "--reseller", value, "--yes"],
            ["adopt", "x", "--reseller", value, "--yes"]]


@dialect_free("argument checks, before any server")
@pytest.mark.parametrize("value", BAD_RESELLERS, ids=["empty", "spaces", "tab", "long",
                                                       "escape", "bidi", "del"])
def test_unusable_reseller_ids_are_one_line_exit_2(cli, sim, mongo_db, value):
    seed_resellers(mongo_db)
    before = sim.stats()["requests"]
    runs = bad_reseller_runs(value)
    for args, result in zip(runs, cli.many(*runs)):
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stdout == "", args
        assert result.stderr.count("\n") == 1 and "--reseller" in result.stderr, \
            (args, result.stderr)
        assert result.stderr.startswith("evodash: error: "), result.stderr
        assert_clean(result.stderr)
    assert sim.stats()["requests"] == before  # refused before any request
    assert not cli.audit.exists()


NAME_RUNS = [["delete", "", "--yes"], ["delete", "ok_1_1", "  ", "--yes"],
             ["forget", "\t", "--yes"], ["adopt", "", "--reseller", "r1", "--yes"],
             ["reprovision", " ", "--yes"], ["delete", "n" * 5000, "--yes"],
             ["clear-all", "--all", "--concurrency", "0", "--yes"],
             ["clear-all", "--all", "--concurrency", "-3", "--yes"],
             ["--settings", "", "report"],
             ["report", "\x1b]0;title\x07\u202e"],  # argparse quotes what it refuses
             ["frobnicate\x1b[2J"]]


@dialect_free("argument checks, before any server")
def test_unusable_names_and_arguments_are_one_line_exit_2(cli, sim, mongo_db):
    seed_resellers(mongo_db)
    for args, result in zip(NAME_RUNS, cli.many(*NAME_RUNS)):
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stdout == "" and result.stderr.count("\n") == 1, (args, result.stderr)
        assert result.stderr.startswith("evodash: error: "), result.stderr
        assert_clean(result.stderr)
    assert not {"delete", "logout", "create"} & set(sim.stats()["requests"])


# ---------------------------------------------------------------------------- doctor
@dialect_free("the MongoDB URI's check")
def test_doctor_json_with_a_malformed_mongo_uri_still_prints_its_checks(cli, sim):
    cli.write(sim.url, "mongodb://bad uri::x\x1b[2J", "db")
    text, as_json = cli.many(["doctor"], ["doctor", "--json"])
    assert as_json.returncode == 2 == text.returncode
    checks = {c["check"]: c for c in assert_json_lines(as_json.stdout)}
    assert {"settings", "evolution", "api key", "mongodb", "audit log", "scope"} <= set(checks)
    assert not checks["mongodb"]["ok"] and "invalid MongoDB URI" in checks["mongodb"]["detail"]
    assert checks["evolution"]["ok"] and checks["api key"]["ok"]
    assert any(line.startswith("FAIL mongodb") for line in text.stdout.splitlines())
    assert_clean(text.stdout, text.stderr, as_json.stdout, as_json.stderr)


@dialect_free("the audit log's check")
def test_doctor_lists_the_audit_log_and_creates_its_folder(cli, sim, mongo_db, tmp_path):
    seed_resellers(mongo_db)
    settings = json.loads(cli.settings.read_text())
    folder = tmp_path / "state" / "evodash"
    settings["audit_log"] = str(folder / "audit.jsonl")
    cli.settings.write_text(json.dumps(settings))
    result = cli("doctor")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["ok"] * 7
    [audit] = [line for line in lines if line.split()[1] == "audit"]
    assert str(folder / "audit.jsonl") in audit
    assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700
    assert list(folder.iterdir()) == []  # the check wrote nothing (no scratch file left)


@dialect_free("the audit log's check")
def test_doctor_fails_when_a_directory_is_in_the_audit_logs_place(cli, sim, mongo_db):
    seed_resellers(mongo_db)
    cli.audit.mkdir()
    text, as_json = cli.many(["doctor"], ["doctor", "--json"])
    assert text.returncode == 2 == as_json.returncode
    [audit] = [line for line in text.stdout.splitlines() if line.startswith("FAIL audit")]
    assert str(cli.audit) in audit and "directory" in audit
    checks = {c["check"]: c for c in assert_json_lines(as_json.stdout)}
    assert not checks["audit log"]["ok"] and str(cli.audit) in checks["audit log"]["detail"]
    assert "1 check(s) failed" in text.stderr


@dialect_free("the audit log's check")
@pytest.mark.parametrize("failure", ["read_only_file", "read_only_folder", "read_only_fs",
                                     "disk_full"])
def test_doctor_audit_failures_name_the_path_and_reason(failure, cli, sim, mongo_db,
                                                        monkeypatch, capsys):
    """What the file system answers (as for any user: root writes read-only files
    anyway): in-process, `os.open` / `os.statvfs` answering like a read-only file, folder,
    file system or a full disk."""
    from tui.cli.main import main

    seed_resellers(mongo_db)
    audit = cli.audit
    if failure == "read_only_file":
        audit.write_text("")
    real_open, real_statvfs = os.open, os.statvfs
    answers = {"read_only_file": (errno.EACCES, "Permission denied"),
               "read_only_folder": (errno.EACCES, "Permission denied"),
               "read_only_fs": (errno.EROFS, "Read-only file system")}

    def fake_open(path, flags, *args, **kwargs):
        if failure in answers and Path(os.fsdecode(path)).parent == audit.parent \
                and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(answers[failure][0], answers[failure][1], str(path))
        return real_open(path, flags, *args, **kwargs)

    def fake_statvfs(path):
        result = real_statvfs(path)
        if failure == "disk_full" and Path(os.fsdecode(path)) == audit.parent:
            fields = list(result)
            fields[3] = fields[4] = 0  # f_bfree, f_bavail
            return os.statvfs_result(fields)
        return result

    in_process(monkeypatch)
    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "statvfs", fake_statvfs)
    for json_mode in (False, True):
        code = main(["--settings", str(cli.settings), "doctor", *(["--json"] * json_mode)])
        out, err = capsys.readouterr()
        assert code == 2, (out, err)
        if json_mode:
            checks = {c["check"]: c for c in assert_json_lines(out)}
            detail = checks["audit log"]["detail"]
            assert not checks["audit log"]["ok"]
        else:
            [detail] = [line for line in out.splitlines() if line.startswith("FAIL audit")]
        assert str(audit) in detail
        reason = "No space left" if failure == "disk_full" else answers[failure][1]
        assert reason.lower() in detail.lower(), detail
