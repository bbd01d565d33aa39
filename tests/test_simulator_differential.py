"""Differential test: every scenario recorded on the real Evolution v1.8 server
(`tests/data/real-v1.8/`, `python -m tests.scenarios record`) is replayed against the
simulator, with WhatsApp unreachable as it was for the recording, and compared by shape
(`tests/scenarios/compare.py` states the tolerances). The same for the recordings of a real
2.3.6 (`tests/data/real-v2.3/`) against the simulator's v2 dialect: server a (`evo_a`), and
for the scenario that needs one a second server b (`evo_b`) on a's database. The same
comparison runs against a real server on demand: `python -m tests.scenarios compare --url
URL --key KEY ...`.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.scenarios.catalog import SCENARIOS, V2_SCENARIOS
from tests.scenarios.compare import compare, load_recording, recorded_returns
from tests.scenarios.record import RECORDINGS, RECORDINGS_V2, run_scenario
from tui.simulator.server import ThreadedSimulator

KEY = "differential-key-0123456789"
RECORDED = sorted(p.stem for p in RECORDINGS.glob("*.json"))
RECORDED_V2 = sorted(p.stem for p in RECORDINGS_V2.glob("*.json"))


def test_every_scenario_is_recorded_from_a_real_server_without_secrets():
    assert RECORDED == sorted(SCENARIOS)
    for name in RECORDED:
        text = (RECORDINGS / f"{name}.json").read_text()
        recording = json.loads(text)
        server = recording["server"]
        assert server["kind"] == "real" and server["version"] == "1.8.6"
        assert len(server["commit"]) == 40  # the upstream source commit it was built from
        assert "test-global-key" not in text  # the key it was recorded with
        assert not re.search(r"[0-9A-F]{8}-[0-9A-F]{4}-", text, re.IGNORECASE)  # no token/id
        assert all(v == "str" for v in re.findall(r'"apikey": ("[^"]*")', text.replace('"str"', "str")))
        assert recording["events"] and recording["marks"]


def test_the_v2_recordings_are_from_a_real_server_without_secrets():
    """The recordings of a real Evolution API 2.3.6 (`tests/data/real-v2.3/`): the v2
    simulator's specification (replayed below)."""
    folder = RECORDINGS_V2
    files = sorted(folder.glob("*.json"))
    assert {p.stem for p in files} == set(V2_SCENARIOS)
    for path in files:
        text = path.read_text()
        recording = json.loads(text)
        server = recording["server"]
        assert server["kind"] == "real" and server["version"].startswith("2.3.")
        assert server["dialect"] == "v2" and len(server["commit"]) == 40
        assert not re.search(r"[0-9A-F]{8}-[0-9A-F]{4}-", text, re.IGNORECASE)  # no token/id
        for key in ("apikey", "token", "hash"):
            assert all(v == "str" for v in re.findall(rf'"{key}": ("[^"]*")',
                                                      text.replace('"str"', "str"))), key
        assert recording["events"] and recording["marks"]


@pytest.mark.parametrize("name", RECORDED)
async def test_simulator_matches_the_real_server(name):
    sim = ThreadedSimulator(api_key=KEY, seed=20261203, offline=True).start()
    try:
        run = await run_scenario(name, sim.url, KEY, sim_control=True)
    finally:
        sim.stop()
    problems = compare(load_recording(name, RECORDINGS), run, recorded_returns(RECORDINGS))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", RECORDED_V2)
async def test_v2_simulator_matches_the_real_server(name):
    recorded = load_recording(name, RECORDINGS_V2)
    sim = ThreadedSimulator(api_key=KEY, seed=20261207, offline=True, dialect="v2",
                            client_name=recorded["server"]["client_name"]).start()
    other = None
    options = {}
    if recorded["marks"].get("other_server"):
        other = ThreadedSimulator(api_key=KEY, seed=20261208, offline=True, dialect="v2",
                                  client_name="evo_b", database=sim.database).start()
        options["other_url"] = other.url
    try:
        run = await run_scenario(name, sim.url, KEY, sim_control=True, **options)
    finally:
        sim.stop()
        if other is not None:
            other.stop()
    assert run["server"]["dialect"] == "v2"
    problems = compare(recorded, run, recorded_returns(RECORDINGS_V2))
    assert not problems, "\n".join(problems)


def test_the_comparison_can_fail():
    """A simulator that behaves like the old one (a name deleted while dialing is simply
    free, no flapping) differs from the recording."""
    recorded = load_recording("delete_dialing_close", RECORDINGS)
    run = json.loads(json.dumps(recorded))
    run["server"]["kind"] = "simulator"
    for outcome in run["marks"]["after"]:
        outcome.update(kind="free", final="absent", recreate_status=403)
    run["marks"]["stuck"] = 0
    problems = compare(recorded, run)
    assert any("re-create status" in p for p in problems)
    assert any("names left reserved" in p for p in problems)
    flap = load_recording("dialing_after_create", RECORDINGS)
    quiet = json.loads(json.dumps(flap))
    quiet["marks"]["sample"].update(states=["close"], flips=0, connecting_share=0.0)
    assert any("states seen" in p for p in compare(flap, quiet))


def test_the_v2_comparison_can_fail():
    """A v2 simulator that behaved like v1.8 (a deleted name free at once, the other
    server's row untouched, a quiet instance after a logout) differs from the recordings."""
    window = load_recording("delete_403_window", RECORDINGS_V2)
    run = json.loads(json.dumps(window))
    run["marks"]["quiet"].update(creates_403=[0] * 5, free_by_s=[0.001] * 5)
    run["marks"]["probed"]["absent_then_403"] = 2
    problems = compare(window, run)
    assert any("was not refused" in p for p in problems)
    assert any("recorded at least" in p for p in problems)
    assert any("absent, the create after it got 403" in p for p in problems)
    other = load_recording("other_client_row", RECORDINGS_V2)
    run = json.loads(json.dumps(other))
    run["marks"].update(rows_in_db_after_delete="1", create_here_after_delete=403)
    assert len(compare(other, run)) == 2
    zombie = load_recording("zombie_delete", RECORDINGS_V2)
    run = json.loads(json.dumps(zombie))
    run["marks"]["after_logout"].update(states=["close"], flips=0, connecting_share=0.0)
    run["marks"]["orphan_attempts_2s"] = {"z": 0}
    problems = compare(zombie, run)
    assert any("after its logout" in p for p in problems)
    assert any("connection attempts" in p for p in problems)
