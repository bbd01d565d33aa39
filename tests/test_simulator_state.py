"""Unit tests of the simulator's pure state machine, fault draws and loopback check (no HTTP)."""

from __future__ import annotations

import random

import pytest

from tui.simulator.faults import Faults, is_loopback
from tui.simulator.replies import EMPTY, Reply
from tui.simulator.state import SimState

KEY = "global-key-1234567"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def st(clock: Clock) -> SimState:
    return SimState(KEY, seed=7, server_url="http://sim:1", clock=clock)


def create(st: SimState, name: str, **body) -> Reply:
    reply, _ = st.create({"instanceName": name, **body}, KEY)
    return reply


def test_create_registers_close_instance_with_seeded_ids(st):
    reply = create(st, "a")
    assert reply.status == 201 and reply.body["instance"]["status"] == "created"
    assert st.memory["a"].state == "close" and st.persisted["a"].record
    again = SimState(KEY, seed=7)
    assert create(again, "a").body["hash"] == reply.body["hash"]


def test_guard_order_create(st):
    create(st, "a")
    assert st.create({"instanceName": "a"}, "wrong")[0].status == 403
    assert st.create({"instanceName": "b"}, "wrong")[0].status == 401
    assert st.create({"instanceName": ""}, None)[0].status == 403
    assert st.create({}, None)[0].status == 500
    assert st.create({"instanceName": 5}, KEY)[0].body["response"]["message"] == [
        'TypeError [ERR_INVALID_ARG_TYPE]: The "path" argument must be of type string. Received type number (5)']


def test_route_guards_404_before_401_and_instance_token(st):
    token = create(st, "a").body["hash"]["apikey"]
    assert st.connection_state("zz", None).status == 404
    assert st.connection_state("a", None).status == 401
    assert st.connection_state("a", token).status == 200
    assert st.fetch_instances(token).status == 401
    assert st.create({"instanceName": "b"}, token)[0].status == 401


def test_fetch_instances_shapes(st):
    create(st, "a")
    create(st, "b")
    assert [i["instance"]["instanceName"] for i in st.fetch_instances(KEY).body] == ["a", "b"]
    assert st.fetch_instances(KEY, {"instanceName": "b"}).body["instance"]["instanceName"] == "b"
    assert st.fetch_instances(KEY, {"instanceName": ""}).body[0]["instance"]["instanceName"] == "a"
    missing = st.fetch_instances(KEY, {"instanceName": "zz"})
    assert missing == Reply(500, {"error": True, "message": ['Instance "zz" not found']})
    assert st.fetch_instances(KEY, {"number": "551", "instanceName": "a"}).status == 500


def test_connect_logout_cycle(st):
    create(st, "a")
    assert st.logout("a", KEY).status == 400
    qr = st.connect("a", KEY).body
    assert qr["count"] == 1 and st.memory["a"].state == "connecting"
    assert st.logout("a", KEY).status == 200
    assert st.memory["a"].state == "close" and "a" not in st.persisted  # auth-state removed
    assert st.connect("a", KEY).body["count"] == 2  # a new QR generation
    assert "a" in st.persisted


def test_ghost_behaviour(st):
    st.seed_instances([{"name": "g", "ghost": True}])
    assert st.is_ghost("g")
    assert st.connection_state("g", KEY).body == {"instance": {"instanceName": "g"}}
    assert st.connect("g", KEY) == Reply(200, EMPTY)
    assert st.logout("g", KEY).status == 200 and st.is_ghost("g")
    assert st.set_presence("g", KEY, {"presence": "available"}).status == 500
    assert st.delete("g", KEY).status == 200 and not st.known("g")


def test_cleanup_lag_uses_clock(st, clock):
    st.cleanup_lag_ms = 500
    create(st, "a")
    st.delete("a", KEY)
    assert st.is_ghost("a") and st.create({"instanceName": "a"}, KEY)[0].status == 403
    clock.now += 0.499
    assert st.known("a")
    clock.now += 0.002
    assert not st.known("a") and create(st, "a").status == 201


def flapping(st: SimState, name: str, n: int = 200) -> set[str]:
    return {st.connection_state(name, KEY).body["instance"].get("state") for _ in range(n)}


def test_offline_dialing_flaps_and_logout_that_lands_in_connecting_stops_it(st):
    st.offline = True
    created = create(st, "a", qrcode=True)
    assert created.body["qrcode"] == {"count": 0} and st.memory["a"].dialing
    assert flapping(st, "a") == {"close", "connecting"}
    statuses = []
    while not statuses or statuses[-1] != 200:
        statuses.append(st.logout("a", KEY).status)
        assert len(statuses) < 100
    assert set(statuses) <= {400, 200}
    assert flapping(st, "a") == {"close"} and not st.memory["a"].dialing  # quiet now
    assert st.logout("a", KEY).status == 400  # a quiet close instance
    st.delete("a", KEY)
    assert not st.known("a") and create(st, "a").status == 201


def test_delete_caught_close_orphans_the_socket_free_reserved_or_back_later(st, clock):
    st.offline = True
    kinds = {}
    for i in range(60):
        name = f"d{i}"
        create(st, name, qrcode=True)
        while st.observed_state(st.memory[name]) != "close":
            pass
        st.memory[name].state = "close"
        # the next observation (the delete's) must be `close`: draw until it would be
        while True:
            rng_state = st.dial_rng.getstate()
            if st.dial_rng.random() >= 0.25:
                st.dial_rng.setstate(rng_state)
                break
        assert st.delete(name, KEY).status == 200
        first = "reserved" if st.known(name) else "absent"
        clock.now += 0.5
        later = "reserved" if st.known(name) else "absent"
        kinds[name] = (first, later)
        assert st.dialing_sockets() >= sum(1 for k in kinds.values() if k[1] == "reserved")
    seen = set(kinds.values())
    assert seen == {("absent", "absent"), ("reserved", "reserved"), ("absent", "reserved")}
    back = [n for n, k in kinds.items() if k == ("absent", "reserved")][0]
    # a reserved name: logout answers 200 and changes nothing, a second delete frees it
    # for a moment only, a create is refused
    assert st.logout(back, KEY).status == 200
    assert st.delete(back, KEY).status == 200 and not st.known(back)
    clock.now += 0.5
    assert st.is_ghost(back) and create(st, back).status == 403
    st.restart()  # the orphaned sockets die: every such name is free
    assert not any(st.known(n) for n in kinds) and st.dialing_sockets() == 0


def test_delete_caught_connecting_logs_out_and_frees_the_name(st):
    st.reconnect_loop = {"a"}
    create(st, "a", qrcode=True)
    while True:  # the delete's own observation lands in `connecting`
        rng_state = st.dial_rng.getstate()
        if st.dial_rng.random() < 0.25:
            st.dial_rng.setstate(rng_state)
            break
    st.delete("a", KEY)
    assert not st.known("a") and st.dialing_sockets() == 0


def test_restart_reloads_records_only_and_every_reloaded_instance_dials(st):
    st.seed_instances([{"name": "o", "state": "open"}, {"name": "c", "state": "connecting"},
                       {"name": "q", "state": "close"}, {"name": "g", "ghost": True}])
    create(st, "x")
    st.connect("x", KEY)
    st.logout("x", KEY)  # logged out: no auth-state, not reloaded
    st.restart()
    assert list(st.memory) == ["o", "c", "q"]
    # online: a paired instance is open again, the others wait for a QR scan
    assert {n: i.state for n, i in st.memory.items()} == {"o": "open", "c": "connecting",
                                                          "q": "connecting"}
    assert st.memory["q"].dialing and st.memory["q"].qrcode["code"]
    assert not st.known("g") and not st.known("x")
    st.offline = True  # WhatsApp unreachable: the reloaded instances flap
    st.restart()
    assert flapping(st, "q") == {"close", "connecting"} and st.dialing_sockets() == 3


def test_business_residue_and_validation(st):
    assert create(st, "b", integration="WHATSAPP-BUSINESS").body["response"]["message"] == ["token is required"]
    assert not st.known("b")
    assert create(st, "b", integration="WHATSAPP-BUSINESS", token="tok-b").status == 400
    assert st.memory["b"].state == "open"
    assert create(st, "n", number="12").status == 201
    assert create(st, "n2", number="1").status == 400
    assert create(st, "n3", number="55 11").status == 201  # only the start is anchored, like JS test()
    assert create(st, "n4", number="+5511").status == 400


def test_duplicate_token_only_against_memory(st):
    create(st, "a", token="same-token-1")
    assert create(st, "b", token="same-token-1").body["response"]["message"] == ["Token already exists"]
    st.delete("a", KEY)
    assert create(st, "b", token="same-token-1").status == 201


def test_reset_restores_key_and_clears(st):
    create(st, "a")
    st.api_key = "other"
    st.reconnect_loop = {"a"}
    st.reset()
    assert st.api_key == KEY and not st.memory and not st.persisted and not st.reconnect_loop


def test_seed_rejects_bad_specs(st):
    with pytest.raises(ValueError):
        st.seed_instances([{"state": "open"}])
    with pytest.raises(ValueError):
        st.seed_instances([{"name": "a", "state": "refused"}])


def test_fault_draws_counts_then_rates_and_routes():
    faults = Faults()
    faults.merge({"error_count": 1, "routes": ["create"]})
    rng = random.Random(1)
    assert faults.draw("fetchInstances", rng) is None
    assert faults.draw("create", rng) == "error"
    assert faults.draw("create", rng) is None
    faults.merge({"timeout_rate": 1.0, "routes": None})
    assert faults.draw("root", rng) == "timeout"
    faults.merge({"timeout_rate": 0.5})
    draws = [faults.draw("root", random.Random(3)) for _ in range(3)]
    assert len(set(draws)) == 1  # same seed, same draw
    with pytest.raises(ValueError):
        faults.merge({"malformed_rate": -0.1})


@pytest.mark.parametrize("host,expected", [
    ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.5", False), ("192.168.1.2", False), ("::ffff:10.0.0.1", False), ("2001:db8::1", False),
    ("", False), (None, False), ("localhost", False), ("garbage", False),
])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected
