"""Fault injection, reserved-name behaviours, key rotation and stats of the simulator (loopback HTTP)."""

from __future__ import annotations

import time

import httpx
import pytest

FAULT_500 = '{"status":500,"error":"Internal Server Error","response":{"message":["simulated fault"]}}'


def names(sim) -> list[str]:
    return [i["instance"]["instanceName"] for i in sim.request("GET", "/instance/fetchInstances").json()]


def test_error_count_limited_to_routes(sim):
    current = sim.faults(error_count=2, routes=["fetchInstances"])
    assert current["error_count"] == 2 and current["routes"] == ["fetchInstances"]
    assert sim.request("GET", "/").status_code == 200  # not in routes: untouched, count kept
    for _ in range(2):
        r = sim.request("GET", "/instance/fetchInstances")
        assert r.status_code == 500 and r.text == FAULT_500
        assert r.headers["content-type"] == "application/json; charset=utf-8"
    assert sim.request("GET", "/instance/fetchInstances").status_code == 200  # then it stops


def test_error_rate_one_with_429_has_no_side_effect(sim):
    sim.faults(error_rate=1.0, error_status=429, routes=["create"])
    r = sim.request("POST", "/instance/create", json={"instanceName": "x1"})
    assert r.status_code == 429
    assert r.json() == {"status": 429, "error": "Too Many Requests", "response": {"message": ["simulated fault"]}}
    assert names(sim) == []
    sim.faults(error_rate=0)
    assert sim.request("POST", "/instance/create", json={"instanceName": "x1"}).status_code == 201


def test_timeout_hangs_then_answers(sim):
    sim.faults(timeout_count=1, hang_s=0.4, routes=["connectionState"])
    sim.seed([{"name": "h1"}])
    with pytest.raises(httpx.ReadTimeout):
        sim.request("GET", "/instance/connectionState/h1", timeout=0.1)
    started = time.monotonic()
    sim.faults(timeout_count=1)
    r = sim.request("GET", "/instance/connectionState/h1")
    assert r.status_code == 200 and time.monotonic() - started >= 0.35
    assert sim.request("GET", "/instance/connectionState/h1").status_code == 200  # count consumed


def test_reset_wakes_hung_requests(sim):
    sim.faults(timeout_rate=1.0, hang_s=30, routes=["root"])
    with pytest.raises(httpx.ReadTimeout):
        sim.request("GET", "/", timeout=0.2)
    started = time.monotonic()
    sim.reset()
    assert sim.request("GET", "/").status_code == 200
    assert time.monotonic() - started < 5


def test_malformed_answers_html(sim):
    sim.faults(malformed_count=1)
    r = sim.request("GET", "/instance/fetchInstances")
    assert r.status_code == 200 and r.text == "<html><body>Bad Gateway</body></html>"
    assert r.headers["content-type"].startswith("text/html")
    assert sim.request("GET", "/instance/fetchInstances").json() == []


def test_latency(sim):
    sim.faults(latency_ms=150)
    started = time.monotonic()
    assert sim.request("GET", "/").status_code == 200
    assert time.monotonic() - started >= 0.14
    sim.faults()  # {} clears
    assert sim.faults(error_count=0)["latency_ms"] == 0


def test_cleanup_lag_reserves_then_frees(sim):
    sim.faults(cleanup_lag_ms=300)
    sim.seed([{"name": "lag1"}])
    assert sim.request("DELETE", "/instance/delete/lag1").status_code == 200
    assert sim.request("GET", "/instance/connectionState/lag1").json() == {"instance": {"instanceName": "lag1"}}
    assert sim.request("POST", "/instance/create", json={"instanceName": "lag1"}).status_code == 403
    assert "lag1" in sim.state()["reserved"]
    time.sleep(0.4)
    assert sim.request("GET", "/instance/connectionState/lag1").status_code == 404
    assert sim.request("POST", "/instance/create", json={"instanceName": "lag1"}).status_code == 201


def test_reconnect_loop_makes_the_instance_flap_until_a_logout_lands(sim):
    sim.seed([{"name": "loop1", "state": "close"}, {"name": "keep", "state": "close"}])
    sim.faults(reconnect_loop=["loop1"], dial_cost_ms=0)
    states = {sim.request("GET", "/instance/connectionState/loop1").json()["instance"]["state"]
              for _ in range(60)}
    assert states == {"close", "connecting"}
    assert {sim.request("GET", "/instance/connectionState/keep").json()["instance"]["state"]
            for _ in range(20)} == {"close"}
    for _ in range(100):
        if sim.request("DELETE", "/instance/logout/loop1").status_code == 200:
            break
    assert sim.state()["instances"][0]["dialing"] is False
    assert sim.request("DELETE", "/instance/delete/loop1").status_code == 200
    assert sim.request("GET", "/instance/connectionState/loop1").status_code == 404


def test_reconnect_loop_does_not_trap_connecting_instances(sim):
    sim.faults(reconnect_loop=["loop2"])
    sim.seed([{"name": "loop2", "state": "connecting"}])
    assert sim.request("DELETE", "/instance/delete/loop2").status_code == 200  # logs out by itself
    assert sim.request("GET", "/instance/connectionState/loop2").status_code == 404


def test_flapping_sockets_cost_every_request_latency(sim):
    import time

    sim.faults(offline=True, dial_cost_ms=10)
    sim.seed([{"name": f"dl{i}", "state": "close", "dialing": True} for i in range(5)])
    started = time.monotonic()
    for _ in range(5):
        sim.request("GET", "/instance/connectionState/dl0")
    assert (time.monotonic() - started) / 5 >= 0.045  # 5 sockets x 10 ms
    assert sim.state()["offline"] is True
    assert sim._control("GET", "/_sim/faults")["dial_cost_ms"] == 10


def test_api_key_rotation_gives_401(sim):
    sim.seed([{"name": "k1", "token": "k1-instance-token"}])
    view = sim.faults(api_key="rotated-key-999999")
    assert view["api_key"] == "****9999"
    r = sim.request("GET", "/instance/fetchInstances")
    assert r.status_code == 401 and r.json()["response"]["message"] == "Unauthorized"
    assert sim.request("GET", "/instance/fetchInstances", apikey="rotated-key-999999").status_code == 200
    # instance tokens keep working on their own routes; guard order still answers 404 first
    assert sim.request("GET", "/instance/connectionState/k1", apikey="k1-instance-token").status_code == 200
    assert sim.request("GET", "/instance/connectionState/nope").status_code == 404
    sim.reset()  # back to the key the simulator was started with
    assert sim.request("GET", "/instance/fetchInstances").status_code == 200


def test_stats_count_requests_and_bytes(sim):
    sim.request("GET", "/")
    sim.request("GET", "/instance/fetchInstances")
    sim.request("GET", "/instance/fetchInstances")
    sim.request("GET", "/instance/connectionState/nope")
    sim.request("GET", "/no-such-route")
    stats = sim.stats()
    assert stats["requests"] == {"root": 1, "fetchInstances": 2, "connectionState": 1, "other": 1}
    assert stats["total"] == 5
    assert stats["bytes_out"] > 0
    sim.state()
    assert sim.stats()["total"] == 5  # /_sim/ calls are not counted
    sim.reset()
    assert sim.stats() == {"requests": {}, "total": 0, "bytes_out": 0}


def test_control_api_rejects_bad_input(sim):
    for body in ({"error_rate": 2}, {"routes": ["nope"]}, {"bogus": 1}, {"reconnect_loop": "x"}):
        r = httpx.post(f"{sim.url}/_sim/faults", json=body)
        assert r.status_code == 400 and "error" in r.json()
    assert httpx.post(f"{sim.url}/_sim/instances", json=[{"name": "a", "state": "weird"}]).status_code == 400
    assert httpx.get(f"{sim.url}/_sim/nothing").status_code == 404
    assert sim.faults(error_count=0)["error_rate"] == 0  # nothing applied from the rejected bodies


def test_seeded_determinism(sim):
    first = sim.request("POST", "/instance/create", json={"instanceName": "d1"}).json()
    sim.reset()
    second = sim.request("POST", "/instance/create", json={"instanceName": "d1"}).json()
    assert first["hash"] == second["hash"] and first["instance"]["instanceId"] == second["instance"]["instanceId"]
