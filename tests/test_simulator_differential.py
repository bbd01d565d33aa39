"""Differential test: every scenario recorded on the real Evolution v1.8 server
(`tests/data/real-v1.8/`, `python -m tests.scenarios record`) is replayed against the
simulator, with WhatsApp unreachable as it was for the recording, and compared by shape
(`tests/scenarios/compare.py` states the tolerances). The same comparison runs against a
real server on demand: `python -m tests.scenarios compare --url URL --key KEY ...`.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.scenarios.catalog import SCENARIOS, V2_SCENARIOS
from tests.scenarios.compare import compare, load_recording, recorded_returns
from tests.scenarios.record import RECORDINGS, run_scenario
from tui.simulator.server import ThreadedSimulator

KEY = "differential-key-0123456789"
RECORDED = sorted(p.stem for p in RECORDINGS.glob("*.json"))


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
    simulator's specification (replayed once the simulator speaks v2, issue 17)."""
    folder = RECORDINGS.parent / "real-v2.3"
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
