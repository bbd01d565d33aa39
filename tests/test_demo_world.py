"""A demo you can practise on: `--demo` keeps its world (the simulator's instances, the
database, the audit log) between commands until `--demo-reset`, says where it lives, lets
one command use it at a time, and a command killed outright leaves nothing running and
nothing locked. Real `evodash` entry points, a real simulator and nx-27017 on the world's
files."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import httpx

from tests.demo_support import ROOT, demo_env, sim_names, wait_for_intents
from tui.demo.world import DemoWorld, demo_dir, shown_path
from tui.simulator.server import ThreadedSimulator

KEY = "persist-key-0123456789"


def evodash(world, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                          text=True, env=demo_env(world), cwd=ROOT, stdin=subprocess.DEVNULL,
                          timeout=120)


def reported_names(result: subprocess.CompletedProcess[str]) -> set[str]:
    report = json.loads(result.stdout)
    return ({row["name"] for row in report["orphan_instances"]}
            | {row["name"] for row in report["orphan_records"]}
            | {row["name"] for row in report["linked"]})


def test_a_deleted_name_stays_deleted_until_demo_reset(tmp_path):
    world = tmp_path / "demo"
    first = evodash(world, "--demo", "delete", "teste_bot", "--yes")
    assert first.returncode == 0, first.stderr
    # the first command made the world and said where it is kept, once
    assert first.stderr.count("demo: a new world in") == 1 and str(world) in first.stderr
    kept = evodash(world, "--demo", "report", "--json")
    assert "teste_bot" not in reported_names(kept)
    assert "a new world" not in kept.stderr
    assert "old-support-line" in reported_names(kept)  # the rest of the world is there
    fresh = evodash(world, "--demo-reset", "report", "--json")
    assert "teste_bot" in reported_names(fresh)
    assert "a new world" in fresh.stderr


def test_one_demo_command_at_a_time(tmp_path):
    world = DemoWorld(tmp_path / "demo")
    world.acquire()
    try:
        busy = evodash(world.path, "--demo", "report")
    finally:
        world.release()
    assert busy.returncode == 2
    [line] = busy.stderr.splitlines()
    assert line.startswith(f"evodash: the demo world {world.path} is in use by pid ")
    assert "one demo command at a time" in line


def test_a_killed_command_leaves_no_server_and_no_lock(tmp_path):
    """SIGKILL mid-run (nothing of evodash runs on the way out): its database server dies
    with it, the next command gets the world, and the world holds what was done."""
    world = tmp_path / "demo"
    proc = subprocess.Popen([sys.executable, "-m", "tui", "--demo", "clear-all", "--all",
                             "--yes", "--json"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=demo_env(world), cwd=ROOT)
    try:
        wait_for_intents(world, 2, proc=proc)
        server = int((world / "mongo.pid").read_text())
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 5
        while _alive(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server), "the demo's database server outlived a killed evodash"
    finally:
        if proc.poll() is None:
            proc.kill()
    after = evodash(world, "--demo", "report", "--json")  # not "in use": the lock died too
    assert after.returncode in (0, 1), after.stderr
    assert not (world / "mongo.pid").exists()  # the stale pid file was cleared
    # the report reads the world as the killed run left it: its listed instances are the
    # simulator's own
    instances = {row["name"] for row in json.loads(after.stdout)["linked"]} | {
        row["name"] for row in json.loads(after.stdout)["orphan_instances"]}
    assert instances and instances <= sim_names(world)


def _alive(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def test_the_simulator_world_survives_a_restart_of_its_process(tmp_path):
    """What a run left (a deleted name still held by the cleanup lag, a reserved ghost, a
    logged-out instance, the fault settings kept in the state) is there in the next run."""
    state = tmp_path / "simulator.json"
    sim = ThreadedSimulator(api_key=KEY, seed=3, state_file=state).start()
    with httpx.Client(base_url=sim.url, headers={"apikey": KEY}) as http:
        http.post("/_sim/instances", json=[
            {"name": "a", "state": "open"}, {"name": "b", "state": "close"},
            {"name": "c", "state": "connecting"}, {"name": "ghost", "ghost": True}])
        http.post("/_sim/faults", json={"cleanup_lag_ms": 60000})
        assert http.delete("/instance/delete/b").status_code == 200
        assert http.delete("/instance/logout/a").status_code == 200
        before = http.get("/_sim/state").json()
    sim.stop()
    again = ThreadedSimulator(api_key=KEY, seed=3, state_file=state).start()
    try:
        with httpx.Client(base_url=again.url, headers={"apikey": KEY}) as http:
            after = http.get("/_sim/state").json()
            # the deleted name is still held (its cleanup lag runs on): a create is refused
            taken = http.post("/instance/create", json={"instanceName": "b"})
            listed = {i["instance"]["instanceName"]
                      for i in http.get("/instance/fetchInstances").json()}
    finally:
        again.stop()
    assert again.simulator.restored
    assert listed == {"a", "c"}
    assert taken.status_code == 403, taken.text
    for view in (before, after):
        for entry in view["instances"]:
            entry.pop("frees_in_ms", None)
    assert after == before


def test_where_the_demo_lives(monkeypatch, tmp_path):
    monkeypatch.delenv("EVODASH_DEMO_DIR")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert demo_dir() == tmp_path / "state" / "evodash" / "demo"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert demo_dir() == tmp_path / ".local" / "state" / "evodash" / "demo"
    assert shown_path(demo_dir()) == "~/.local/state/evodash/demo"
    monkeypatch.setenv("EVODASH_DEMO_DIR", str(tmp_path / "elsewhere"))
    assert demo_dir() == tmp_path / "elsewhere"


def test_doctor_says_where_the_demo_lives(tmp_path):
    world = tmp_path / "demo"
    doctor = evodash(world, "--demo", "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert f"embedded demo, its world kept in {world} until --demo-reset" in doctor.stdout


def test_a_damaged_world_is_one_line_that_names_the_way_out(tmp_path):
    world = DemoWorld(tmp_path / "demo")
    world.path.mkdir()
    world.mark_seeded(7)  # a seeded world whose simulator file was cut short
    world.simulator_file.write_text('{"format": 1, "memory": [')
    result = evodash(world.path, "--demo", "report")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"evodash: demo world {world.path} cannot be used: ")
    assert line.endswith("(evodash --demo-reset starts a fresh one)")
