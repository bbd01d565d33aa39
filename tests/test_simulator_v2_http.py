"""The v2 simulator over loopback HTTP: routes and shapes of a real 2.3.6, the delete -> 403
window in real time, two servers (threads) sharing one database, faults and stats, the state
file, and `evodash sim --dialect v2`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.fixtures.sim import SimHandle
from tui.evolution.dialect import Dialect
from tui.simulator.persist import StateFileError
from tui.simulator.server import Simulator, ThreadedSimulator

ROOT = Path(__file__).resolve().parents[1]
KEY = "v2-http-key-ABCD5678"
BAILEYS = {"integration": "WHATSAPP-BAILEYS"}


@pytest.fixture(scope="module")
def v2_server() -> Iterator[ThreadedSimulator]:
    server = ThreadedSimulator(api_key=KEY, seed=11, offline=True, dialect=Dialect.V2,
                               client_name="evo_a").start()
    yield server
    server.stop()


@pytest.fixture
def v2(v2_server: ThreadedSimulator) -> Iterator[SimHandle]:
    handle = SimHandle(v2_server.url, KEY)
    handle.reset()
    yield handle
    handle.close()


def create(sim: SimHandle, name: str, **body) -> httpx.Response:
    return sim.request("POST", "/instance/create", json={"instanceName": name, **BAILEYS, **body})


def probe(sim: SimHandle, name: str) -> str:
    r = sim.request("GET", f"/instance/connectionState/{name}")
    return "absent" if r.status_code == 404 else r.json()["instance"].get("state", "reserved")


def test_root_verify_creds_and_the_routes_of_v2(v2):
    root = v2.request("GET", "/", apikey=None).json()
    assert root["version"] == "2.3.6" and root["clientName"] == "evo_a"
    assert root["manager"] == v2.url + "/manager" and "swagger" not in root
    assert v2.request("POST", "/verify-creds").json() == {"status": 200, "message": "Credentials are valid"}
    assert v2.request("POST", "/verify-creds", apikey="wrong").status_code == 401
    create(v2, "r")
    put = v2.request("PUT", "/instance/restart/r")
    assert put.status_code == 404 and put.json()["response"]["message"] == ["Cannot PUT /instance/restart/r"]
    assert v2.request("POST", "/instance/restart/r").json() == {"error": True, "message": "[object Object]"}
    metrics = v2.request("GET", "/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'evolution_instance_state{instance="r",integration="WHATSAPP-BAILEYS",state="close"} 1' in metrics.text
    assert v2.request("DELETE", "/instance/deleteDatabase").status_code == 404


def test_v1_8_has_no_verify_creds():
    with ThreadedSimulator(api_key=KEY, seed=1) as server:
        r = httpx.post(server.url + "/verify-creds", headers={"apikey": KEY})
        assert r.status_code == 404
        assert r.json()["response"]["message"] == ["Cannot POST /verify-creds"]
        assert "clientName" not in httpx.get(server.url + "/").json()


def test_fetch_instances_is_flat_rows_and_an_array_by_name(v2):
    create(v2, "a")
    rows = v2.request("GET", "/instance/fetchInstances").json()
    assert [r["name"] for r in rows] == ["a"] and rows[0]["connectionStatus"] == "close"
    assert "instance" not in rows[0] and rows[0]["_count"] == {"Message": 0, "Contact": 0, "Chat": 0}
    one = v2.request("GET", "/instance/fetchInstances", params={"instanceName": "a"})
    assert isinstance(one.json(), list) and one.json()[0]["name"] == "a"
    missing = v2.request("GET", "/instance/fetchInstances", params={"instanceName": "x"})
    assert missing.status_code == 404 and missing.json()["response"]["message"] == ['Instance "x" not found']


def test_delete_then_create_is_refused_for_a_while_then_created(v2):
    create(v2, "w")
    started = time.monotonic()
    assert v2.request("DELETE", "/instance/delete/w").json()["response"]["message"] == "Instance deleted"
    assert create(v2, "w").status_code == 403  # the name is still held
    seen = []
    while True:
        state = probe(v2, "w")
        status = create(v2, "w").status_code
        seen.append((state, status))
        if status == 201:
            break
        assert time.monotonic() - started < 2
    assert ("reserved", 403) in seen
    assert ("absent", 403) not in seen  # a 404 is never followed by a 403
    assert 0.05 <= time.monotonic() - started <= 1.0


def test_create_with_qrcode_waits_and_connect_waits_less():
    with ThreadedSimulator(api_key=KEY, seed=3, offline=True, dialect="v2", qr_delay_ms=250) as server:
        sim = SimHandle(server.url, KEY)
        started = time.monotonic()
        r = create(sim, "q", qrcode=True)
        create_s = time.monotonic() - started
        assert r.status_code == 201 and r.json()["qrcode"] == {"count": 0}
        create(sim, "c")
        started = time.monotonic()
        assert sim.request("GET", "/instance/connect/c").json() == {"count": 0}
        connect_s = time.monotonic() - started
        sim.close()
    assert create_s >= 0.25 and 0.1 <= connect_s < 0.2  # 5 s vs 2 s on the real server


def test_two_servers_share_one_database_across_threads():
    with ThreadedSimulator(api_key=KEY, seed=5, offline=True, dialect="v2", client_name="evo_a") as server_a, \
            ThreadedSimulator(api_key=KEY, seed=6, offline=True, dialect="v2", client_name="evo_b",
                              database=server_a.database) as server_b:
        a, b = SimHandle(server_a.url, KEY), SimHandle(server_b.url, KEY)
        assert server_b.database is server_a.database
        token = create(b, "s").json()["hash"]
        assert a.request("GET", "/instance/fetchInstances").json() == []
        assert probe(a, "s") == "reserved" and create(a, "s").status_code == 403
        assert a.request("GET", "/instance/fetchInstances", apikey=token).status_code == 404
        assert a.request("DELETE", "/instance/logout/s").status_code == 200
        assert a.request("DELETE", "/instance/delete/s").status_code == 200
        deadline = time.monotonic() + 2
        while probe(a, "s") != "absent":
            assert time.monotonic() < deadline
        assert probe(b, "s") == "close" and b.request("GET", "/instance/fetchInstances").json() == []
        assert create(b, "s").status_code == 403 and create(a, "s").status_code == 201
        # both servers create the same names at once, each in its thread: one row per name
        with ThreadPoolExecutor(2) as pool:
            for i in range(20):
                answers = pool.map(lambda sim: create(sim, f"race{i}").status_code, (a, b))
                assert sorted(answers) == [201, 403]
        assert len(server_a.database.rows()) == 21
        a.close()
        b.close()


def test_ghost_row_and_zombie_through_the_control_api(v2):
    [row] = v2.seed([{"name": "g", "state": "open", "live": False, "messages": 4}])
    assert row["ghost"] is True
    rows = v2.request("GET", "/instance/fetchInstances").json()
    assert [(r["name"], r["connectionStatus"], r["_count"]["Message"]) for r in rows] == [("g", "open", 4)]
    assert v2.request("GET", "/instance/connectionState/g").json() == {"instance": {"instanceName": "g"}}
    v2.seed([{"name": "z", "state": "open"}])
    assert v2.request("POST", "/_sim/zombies", json=["z"]).json() == [{"name": "z", "state": "open",
                                                                       "zombie": True}]
    assert v2.request("POST", "/_sim/zombies", json=["nobody"]).status_code == 400
    assert [i["zombie"] for i in v2.state()["instances"]] == [True]
    assert v2.request("DELETE", "/instance/delete/z").status_code == 200  # 2.3.6


def test_faults_latency_and_stats_in_v2(v2):
    v2.faults(error_count=1, routes=["verifyCreds"])
    assert v2.request("POST", "/verify-creds").status_code == 500
    assert v2.request("POST", "/verify-creds").status_code == 200
    with pytest.raises(AssertionError, match="routes must be a list of"):
        v2.faults(routes=["deleteDatabase"])
    view = v2.faults(delete_window_ms=[300, 300], window_cost_ms=0)
    assert view["delete_window_ms"] == [300, 300] and view["window_cost_ms"] == 0
    create(v2, "w")
    started = time.monotonic()
    v2.request("DELETE", "/instance/delete/w")
    while probe(v2, "w") != "absent":
        pass
    assert 0.29 <= time.monotonic() - started < 0.6
    assert v2.faults()["delete_window_ms"] == [55.0, 115.0]  # {} restores the recorded defaults
    for i in range(4):
        create(v2, f"d{i}", qrcode=True)
    started = time.monotonic()
    probe(v2, "d0")
    assert time.monotonic() - started >= 0.0144  # 7.2 ms x sqrt(4) flapping
    stats = v2.stats()
    assert stats["requests"]["verifyCreds"] == 2 and stats["requests"]["create"] >= 5


def test_state_file_round_trip_and_the_wrong_dialect(tmp_path):
    path = tmp_path / "world.json"
    with ThreadedSimulator(api_key=KEY, seed=8, offline=True, dialect="v2", client_name="evo_a",
                           version="2.3.7", state_file=path) as server:
        sim = SimHandle(server.url, KEY)
        create(sim, "kept")
        create(sim, "dialing", qrcode=True)
        sim.seed([{"name": "ghost", "live": False, "state": "open"}])
        sim.request("POST", "/_sim/zombies", json=["kept"])
        sim.close()
    saved = path.read_text()
    assert '"dialect":"v2"' in saved and '"version":"2.3.7"' in saved and '"client_name":"evo_a"' in saved
    again = Simulator(api_key=KEY, dialect="v2", client_name="evo_a", version="2.3.7", state_file=path)
    assert again.restored
    assert sorted(again.state.memory) == ["dialing", "kept"]
    assert [r.name for r in again.state.database.rows()] == ["kept", "dialing", "ghost"]
    assert again.state.memory["kept"].zombie and again.state.is_ghost("ghost")
    with pytest.raises(StateFileError, match="v2 simulator.*speaks v1.8"):
        Simulator(api_key=KEY, state_file=path)
    with pytest.raises(StateFileError, match="client name 'evo_a'"):
        Simulator(api_key=KEY, dialect="v2", client_name="evo_b", version="2.3.7", state_file=path)
    v1_path = tmp_path / "v1.json"
    with ThreadedSimulator(api_key=KEY, seed=8, state_file=v1_path) as server:
        httpx.post(server.url + "/instance/create", json={"instanceName": "x"}, headers={"apikey": KEY})
    with pytest.raises(StateFileError, match="v1.8 simulator; this simulator speaks v2"):
        Simulator(api_key=KEY, dialect="v2", state_file=v1_path)
    assert Simulator(api_key=KEY, state_file=v1_path).restored


def test_dialect_options_are_checked():
    with pytest.raises(ValueError, match="dialect must be one of v1.8, v2"):
        Simulator(dialect="v3")
    with pytest.raises(ValueError, match="only with dialect v2"):
        Simulator(client_name="evo_b")
    with pytest.raises(ValueError, match="v2 version"):
        Simulator(dialect="v2", version="1.8.6")


def test_cli_dialect_v2_listens_and_names_it():
    code = ("from tui.simulator.cli import main; raise SystemExit(main(['--port', '0', '--dialect', 'v2', "
            f"'--client-name', 'evo_cli', '--version', '2.4.0', '--api-key', '{KEY}']))")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        found = re.fullmatch(r"Evolution API 2\.4\.0 \(v2\) simulator listening on (http://127\.0\.0\.1:\d+) "
                             r"\(client name evo_cli, api key \*\*\*\*5678\)\n", line)
        assert found, line
        root = httpx.get(found.group(1) + "/", timeout=5).json()
        assert root["version"] == "2.4.0" and root["clientName"] == "evo_cli"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0 and "Traceback" not in err and KEY not in out + err


@pytest.mark.parametrize(("args", "words"), [
    (["--dialect", "v3"], ["argument --dialect: invalid choice: 'v3'", "v1.8", "v2"]),
    (["--version", "2.3.6"], ["--version: only with --dialect v2"]),
])
def test_cli_bad_dialect_options_are_one_error_line(args, words):
    code = f"from tui.simulator.cli import main; raise SystemExit(main({args!r}))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert proc.returncode == 2
    [error] = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert error.startswith("evodash sim: error: ") and all(word in error for word in words)
    assert "Traceback" not in proc.stderr and proc.stdout == ""
