"""Bad input corpus: broken settings files (`tests/data/settings/`, expectations in
`expected.json`) and broken server answers (`tests/data/responses/manifest.json`: route,
status, content type, body file; `@huge*` bodies are generated here, never committed).

Each must end in one clear line naming what is wrong: in the CLI (exit 2, one line on stderr,
no traceback, no secret) and in the dashboard (the refresh-failed line of the progress pane,
or the same one-line start-up error). Tolerated answers (unusable items skipped, huge valid
bodies, names with control characters) must not crash and must not put raw control
characters on the terminal.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_app_support import make_app, make_service, settle
from tui.cli.main import main
from tui.evolution.client import EvolutionClient

DATA = Path(__file__).parent / "data"
SETTINGS = DATA / "settings"
RESPONSES = DATA / "responses"
SECRET = "SECRET-KEY-abcdef123456"
EXPECTED_SETTINGS = json.loads((SETTINGS / "expected.json").read_text())
MANIFEST = json.loads((RESPONSES / "manifest.json").read_text())


def assert_one_line_error(code: int, out: str, err: str, expect: str) -> None:
    assert code == 2, (code, out, err)
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err.startswith("evodash: ") and "Traceback" not in err + out
    assert expect in err, (expect, err)
    assert SECRET not in err + out and len(err) < 600, err


# ---------------------------------------------------------------------------- settings
def test_corpus_files_all_have_an_expectation():
    files = {p.name for p in SETTINGS.iterdir() if p.name != "expected.json"}
    assert files == set(EXPECTED_SETTINGS)


@pytest.mark.parametrize("name", sorted(EXPECTED_SETTINGS))
@pytest.mark.parametrize("command", [["report"], ["doctor"], []], ids=["report", "doctor",
                                                                       "dashboard"])
def test_broken_settings_file_is_one_line(name, command, capsys, tmp_path, monkeypatch):
    path = tmp_path / name
    path.write_bytes((SETTINGS / name).read_bytes())
    path.chmod(0o600)
    monkeypatch.delenv("EVODASH_SETTINGS", raising=False)
    code = main(["--settings", str(path), *command])
    out, err = capsys.readouterr()
    if command == ["doctor"]:  # doctor reports it as its failing `settings` check
        assert code == 2 and "Traceback" not in out + err and SECRET not in out + err
        [line] = [x for x in out.splitlines() if x.startswith("FAIL")]
        assert EXPECTED_SETTINGS[name] in line and name in line
        return
    assert_one_line_error(code, out, err, EXPECTED_SETTINGS[name])
    assert name in err  # names the file


def test_five_megabyte_settings_file_is_one_short_line(capsys, tmp_path):
    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"evolution": {"url": "http://127.0.0.1:1", "api_key": SECRET},
                                "padding": "x" * 5_000_000}))
    path.chmod(0o600)
    code = main(["--settings", str(path), "report"])
    out, err = capsys.readouterr()
    assert_one_line_error(code, out, err, "padding: unknown setting")


# ---------------------------------------------------------------------------- server answers
class BrokenServer:
    """A loopback HTTP server answering every request with the current manifest case
    (routes other than the case's get an empty 200 list)."""

    def __init__(self) -> None:
        self.case: dict | None = None
        self.body = b""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                case = owner.case
                if case and self.path.split("?")[0] == case["route"]:
                    status, ctype, body = case["status"], case["content_type"], owner.body
                else:
                    status, ctype, body = 200, "application/json", b"[]"
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the client stopped reading (capped error bodies)
                    pass

            def log_message(self, *args) -> None:
                pass

            def finish(self) -> None:  # the client may stop reading a huge body early
                try:
                    super().finish()
                except OSError:
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, case: dict) -> None:
        self.case = case
        self.body = body_of(case)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def body_of(case: dict) -> bytes:
    if case["body"] == "@huge":  # ~2 MB of valid instances
        items = [{"instance": {"instanceName": f"bulk_{i}_1700000000", "status": "close"}}
                 for i in range(20_000)]
        return json.dumps(items).encode()
    if case["body"] == "@huge_error":  # a 5 MB error page
        return b"<html>" + b"<p>upstream exploded</p>\n" * 200_000 + b"</html>"
    return (RESPONSES / case["body"]).read_bytes()


@pytest.fixture(scope="module")
def broken_server():
    server = BrokenServer()
    yield server
    server.close()


def write_settings(tmp_path: Path, url: str, mongo_uri: str, database: str) -> Path:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"evolution": {"url": url, "api_key": SECRET, "timeout_s": 5},
                                "mongo": {"uri": mongo_uri, "database": database},
                                "audit_log": str(tmp_path / "audit.jsonl")}))
    path.chmod(0o600)
    return path


CASES = [pytest.param(case, id=case["id"]) for case in MANIFEST]


@pytest.mark.parametrize("case", CASES)
def test_broken_answer_in_the_cli(case, broken_server, mongo_uri, mongo_database, tmp_path,
                                  capsys):
    broken_server.serve(case)
    settings = write_settings(tmp_path, broken_server.url, mongo_uri, mongo_database)
    code = main(["--settings", str(settings), "report"])
    out, err = capsys.readouterr()
    if case["expect"]:
        assert_one_line_error(code, out, err, case["expect"])
        assert "/instance/fetchInstances" in err  # names the route that answered badly
    else:  # tolerated: a report, no crash, no raw control character on the terminal
        assert code in (0, 1), (code, err)
        assert "Traceback" not in out + err and SECRET not in out + err
        assert "\x1b" not in out + err
        assert not any(line.startswith("  evil") and "name" not in line
                       for line in out.splitlines())  # the name's newline did not split it
        if case.get("warn"):  # skipped items are said, on one line of stderr
            assert err.count("\n") == 1 and case["warn"] in err, err
        else:
            assert err == "", err


@pytest.mark.parametrize("case", [c for c in CASES if c.values[0]["expect"]])
async def test_broken_answer_in_the_dashboard(case, broken_server, store):
    broken_server.serve(case)
    client = EvolutionClient(broken_server.url, SECRET, timeout_s=5, retries=0)
    app = make_app(make_service(None, store, client=client))
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await settle(pilot)
            lines = [line for line in app.dashboard.progress.lines if "refresh failed" in line]
            assert lines, app.dashboard.progress.lines
            text = str(lines[-1])
            assert case["expect"] in text and "\n" not in text and SECRET not in text
            assert "Traceback" not in text
    finally:
        await client.aclose()
