"""Unit tests of the simulator's v2 personality (`tui/simulator/v2.py`), no HTTP: a fake clock
drives the delete window, two `V2State`s on one `Database` are two servers with their own
clientName (`v2-contract.md` §1-§3, recordings in `tests/data/real-v2.3/`)."""

from __future__ import annotations

import pytest

from tui.simulator.database import Database
from tui.simulator.replies import Reply
from tui.simulator.v2 import V2State

KEY = "global-key-v2-123456"
BAILEYS = {"integration": "WHATSAPP-BAILEYS"}
ROW_KEYS = ["id", "name", "connectionStatus", "ownerJid", "profileName", "profilePicUrl", "integration",
            "number", "businessId", "token", "clientName", "disconnectionReasonCode", "disconnectionObject",
            "disconnectionAt", "createdAt", "updatedAt", "Chatwoot", "Proxy", "Rabbitmq", "Nats", "Sqs",
            "Websocket", "Setting", "_count"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(clock: Clock) -> Database:
    return Database(clock)


def server(db: Database, client_name: str = "evo_a", **kw) -> V2State:
    st = V2State(KEY, seed=7, server_url="http://sim:1", client_name=client_name, database=db, **kw)
    st.offline = True  # WhatsApp unreachable, as for the recordings
    return st


@pytest.fixture
def st(db: Database) -> V2State:
    return server(db)


def create(st: V2State, name: str, **body) -> Reply:
    reply, _ = st.create({"instanceName": name, **BAILEYS, **body}, KEY)
    return reply


def state_of(st: V2State, name: str) -> str:
    """What a probe says: the state, `reserved` (200 without `state`) or `absent` (404)."""
    reply = st.connection_state(name, KEY)
    if reply.status == 404:
        return "absent"
    return reply.body["instance"].get("state", "reserved")


def names(reply: Reply) -> list[str]:
    return [row["name"] for row in reply.body]


def wait_out(st: V2State, clock: Clock, name: str, limit_s: float = 5.0) -> list[str]:
    """Probe every 2 ms until the name is absent: the probes' answers, repeats dropped."""
    seen: list[str] = []
    end = clock.now + limit_s
    while clock.now < end:
        now = state_of(st, name)
        if not seen or seen[-1] != now:
            seen.append(now)
        if now == "absent":
            return seen
        clock.now += 0.002
    raise AssertionError(f"{name} still held: {seen}")


def test_root_and_verify_creds(st):
    body = st.root().body
    assert list(body) == ["status", "message", "version", "clientName", "manager", "documentation",
                          "whatsappWebVersion"]
    assert body["version"] == "2.3.6" and body["clientName"] == "evo_a" and "swagger" not in body
    assert st.extra_route("verifyCreds", KEY) == Reply(200, {"status": 200, "message": "Credentials are valid"})
    assert st.extra_route("verifyCreds", "nope").status == 401
    assert st.extra_route("verifyCreds", None).status == 401


def test_create_needs_an_integration_and_leaves_nothing_behind(st):
    bad = st.create({"instanceName": "t"}, KEY)[0]
    assert bad.status == 400 and bad.body["response"]["message"] == ["Invalid integration"]
    assert st.create({"instanceName": "t", "integration": "BAILEYS"}, KEY)[0].status == 400
    assert not st.known("t") and st.fetch_instances(KEY).body == []
    business = st.create({"instanceName": "b", "integration": "WHATSAPP-BUSINESS"}, KEY)[0]
    assert business.status == 400 and business.body["response"]["message"] == ["number is required"]
    assert not st.known("b")


def test_create_bodies_per_integration(st):
    baileys = create(st, "t2")
    assert baileys.status == 201
    assert list(baileys.body) == ["instance", "hash", "webhook", "websocket", "rabbitmq", "nats", "sqs",
                                  "settings"]
    assert baileys.body["instance"]["status"] == "close" and baileys.body["instance"]["webhookWaBusiness"] is None
    assert isinstance(baileys.body["hash"], str) and baileys.body["hash"].isupper()
    assert baileys.body["settings"]["rejectCall"] is False and "reject_call" not in baileys.body["settings"]
    evo = st.create({"instanceName": "t1", "integration": "EVOLUTION"}, KEY)[0]
    assert evo.body["instance"]["status"] == "open" and state_of(st, "t1") == "open"
    business = st.create({"instanceName": "o", "integration": "WHATSAPP-BUSINESS", "number": "5511900000000"},
                         KEY)[0]
    assert business.body["instance"]["status"] == "open"
    assert business.body["instance"]["webhookWaBusiness"] == "http://sim:1/webhook/meta"
    again = create(st, "t2")
    assert again.status == 403 and again.body["response"]["message"] == ['This name "t2" is already in use.']
    assert st.create({"instanceName": "z", **BAILEYS}, "wrong")[0].status == 401


def test_create_with_qrcode_dials_and_flaps_offline(st):
    reply, made_qr = st.create({"instanceName": "a", **BAILEYS, "qrcode": True}, KEY)
    assert made_qr and reply.body["qrcode"] == {"count": 0} and reply.body["instance"]["status"] == "close"
    assert {state_of(st, "a") for _ in range(200)} == {"close", "connecting"}
    evo, made_qr = st.create({"instanceName": "e", "integration": "EVOLUTION", "qrcode": True}, KEY)
    assert not made_qr and "qrcode" not in evo.body and st.dialing_sockets() == 1


def test_fetch_instances_rows_from_the_database(st):
    create(st, "a")
    st.seed_instances([{"name": "c", "messages": 3, "contacts": 2, "chats": 1}])
    rows = st.fetch_instances(KEY).body
    assert [list(r) for r in rows] == [ROW_KEYS, ROW_KEYS]
    assert rows[0]["connectionStatus"] == "close" and rows[0]["clientName"] == "evo_a"
    assert rows[0]["Setting"]["instanceId"] == rows[0]["id"]
    assert rows[1]["_count"] == {"Message": 3, "Contact": 2, "Chat": 1}
    one = st.fetch_instances(KEY, {"instanceName": "a"})
    assert one.status == 200 and names(one) == ["a"]
    missing = st.fetch_instances(KEY, {"instanceName": "zz"})
    assert missing.status == 404 and missing.body["response"]["message"] == ['Instance "zz" not found']
    assert st.fetch_instances(None).status == 401


def test_instance_token_lists_the_rows_sharing_it(st):
    create(st, "a", token="SHARED")
    create(st, "b", token="SHARED")
    create(st, "c")
    assert names(st.fetch_instances("SHARED")) == ["a", "b"]
    assert names(st.fetch_instances("SHARED", {"instanceName": "b"})) == ["b"]
    assert st.fetch_instances("unknown-token").status == 401
    assert st.connection_state("a", "SHARED").status == 200
    assert st.connection_state("c", "SHARED").status == 401


def test_connection_state_of_a_ghost_row_has_no_state(st):
    st.seed_instances([{"name": "g", "state": "open", "live": False}])
    assert st.connection_state("g", KEY).body == {"instance": {"instanceName": "g"}}
    nope = st.connection_state("nope", KEY)
    assert nope.status == 404 and nope.body["response"]["message"] == ['The "nope" instance does not exist']


def test_delete_answers_at_once_and_holds_the_name_for_a_window(st, clock):
    create(st, "w")
    deleted_at = clock.now
    assert st.delete("w", KEY).body["response"]["message"] == "Instance deleted"
    assert state_of(st, "w") == "close"  # still in memory for a moment
    assert create(st, "w").status == 403
    seen = wait_out(st, clock, "w")
    assert seen == ["close", "reserved", "absent"]
    assert 0.05 <= clock.now - deleted_at <= 0.13  # recorded quiet: free by 0.06-0.12 s
    assert create(st, "w").status == 201


def test_a_404_after_a_delete_is_never_followed_by_a_403(db, clock):
    for seed in range(12):
        st = V2State(KEY, seed=seed, client_name="evo_a", database=db)
        st.offline = True
        create(st, "x", qrcode=seed % 2 == 0)
        st.delete("x", KEY)
        wait_out(st, clock, "x")
        for _ in range(100):
            clock.now += 0.005
            assert state_of(st, "x") == "absent"  # the orphan socket never re-reserves it
        assert create(st, "x").status == 201
        st.reset()


def test_the_window_grows_with_flapping_sockets(st, clock):
    def window(name: str) -> float:
        start = clock.now
        st.delete(name, KEY)
        wait_out(st, clock, name, 10)
        return clock.now - start

    create(st, "quiet")
    quiet = window("quiet")
    for i in range(10):
        create(st, f"d{i}", qrcode=True)
    create(st, "q2")
    assert window("q2") > quiet + 0.3
    st.apply_options({"delete_window_ms": 500, "window_cost_ms": 0})
    create(st, "q3")
    assert 0.49 <= window("q3") <= 0.52


def test_deleted_dialing_instance_leaves_an_orphan_until_restart(st, clock):
    create(st, "d", qrcode=True)
    assert st.dialing_sockets() == 1
    clock.now += 1.0
    st.delete("d", KEY)
    wait_out(st, clock, "d")
    assert st.dialing_sockets() == 1 and st.dump()["orphan_sockets"] == ["d"]
    before = st.attempts()["d"]
    clock.now += 2.0
    assert st.attempts()["d"] > before  # it goes on reconnecting, invisible to the API
    assert state_of(st, "d") == "absent" and create(st, "d").status == 201
    assert st.socket_delay_ms(st.DEFAULT_DIAL_COST_MS, 1) > 0
    st.restart()
    assert st.dump()["orphan_sockets"] == []


def test_logout_per_state_and_version(db, st, clock):
    create(st, "q")
    quiet = st.logout("q", KEY)
    assert quiet.status == 400 and quiet.body["response"]["message"] == ['The "q" instance is not connected']
    create(st, "d", qrcode=True)
    statuses = set()
    for _ in range(200):
        statuses.add(st.logout("d", KEY).status)
    assert statuses == {200, 400}
    assert {state_of(st, "d") for _ in range(200)} == {"close", "connecting"}  # 2.3.6: still dialing
    st.create({"instanceName": "o", "integration": "WHATSAPP-BUSINESS", "number": "5511900000000"}, KEY)
    assert st.logout("o", KEY).status == 200
    assert {state_of(st, "o") for _ in range(20)} == {"close"}
    assert st.fetch_instances(KEY, {"instanceName": "o"}).body[0]["connectionStatus"] == "close"
    assert st.logout("nobody", KEY).status == 404
    new = server(Database(clock), version="2.4.0")
    create(new, "q")
    assert new.logout("q", KEY).body == {"status": "SUCCESS", "error": False,
                                         "response": {"message": "Instance was already disconnected"}}


def test_ghost_row_lifecycle(st, clock):
    [seeded] = st.seed_instances([{"name": "g", "state": "open", "live": False}])
    assert seeded["live"] is False
    assert [(r["name"], r["connectionStatus"], r["Setting"]) for r in st.fetch_instances(KEY).body] == [
        ("g", "open", None)]
    assert st.fetch_instances(KEY, {"instanceName": "g"}).status == 404
    assert create(st, "g").status == 403
    assert st.logout("g", KEY).body["response"]["message"] == "Instance logged out"
    assert st.connect("g", KEY).body == {"error": True, "message": "[object Object]"}
    assert st.restart_instance("g", KEY).body == {"error": True, "message": "[object Object]"}
    assert st.fetch_instances(KEY).body[0]["connectionStatus"] == "open"  # nothing changed
    assert st.delete("g", KEY).status == 200
    assert wait_out(st, clock, "g") == ["reserved", "absent"]
    assert st.fetch_instances(KEY).body == [] and st.database.get("g") is None
    assert st.delete("g", KEY).status == 404
    assert create(st, "g").status == 201


def test_another_servers_row_on_a_shared_database(db, clock):
    a, b = server(db, "evo_a"), server(db, "evo_b")
    token = create(b, "s").body["hash"]
    assert state_of(b, "s") == "close" and names(b.fetch_instances(KEY)) == ["s"]
    assert a.fetch_instances(KEY).body == []
    assert a.fetch_instances(KEY, {"instanceName": "s"}).status == 404
    assert state_of(a, "s") == "reserved"
    assert create(a, "s").status == 403
    by_token = a.fetch_instances(token)
    assert by_token.status == 404 and by_token.body["response"]["message"] == ['Instance "s" not found']
    assert a.logout("s", KEY).status == 200
    assert a.connect("s", KEY).body == {"error": True, "message": "[object Object]"}
    assert state_of(b, "s") == "close"
    assert a.delete("s", KEY).status == 200  # a destroys b's row
    wait_out(a, clock, "s")
    assert db.rows() == []
    assert state_of(b, "s") == "close"  # b still holds it in memory
    assert b.fetch_instances(KEY).body == [] and b.fetch_instances(KEY, {"instanceName": "s"}).body == []
    assert create(b, "s").status == 403
    assert create(a, "s").status == 201
    assert names(a.fetch_instances(KEY)) == ["s"] and b.fetch_instances(KEY).body == []
    b.delete("s", KEY)  # b's cleanup deletes by name: a's row goes
    wait_out(b, clock, "s")
    assert db.rows() == [] and a.fetch_instances(KEY).body == [] and state_of(a, "s") == "close"


def test_restart_loads_every_row_and_every_baileys_row_dials(st):
    create(st, "p")
    create(st, "lo", qrcode=True)
    while st.logout("lo", KEY).status != 200:
        pass
    st.create({"instanceName": "o", "integration": "WHATSAPP-BUSINESS", "number": "5511900000000"}, KEY)
    st.create({"instanceName": "e", "integration": "EVOLUTION"}, KEY)
    st.seed_instances([{"name": "g", "state": "close", "live": False},
                       {"name": "other", "client_name": "evo_b", "live": False}])
    assert state_of(st, "p") == "close" and state_of(st, "g") == "reserved"
    st.restart()
    assert sorted(st.memory) == ["e", "g", "lo", "o", "p"]  # not the other clientName's row
    for name in ("p", "lo", "g"):
        assert {state_of(st, name) for _ in range(200)} == {"close", "connecting"}
    for name in ("o", "e"):
        assert {state_of(st, name) for _ in range(50)} == {"open"}
    rows = {r["name"]: r["connectionStatus"] for r in st.fetch_instances(KEY).body}
    assert rows == {"p": "close", "lo": "close", "o": "open", "e": "open", "g": "close"}
    assert st.dialing_sockets() == 3


def test_restart_of_2_4_0_leaves_close_rows_quiet(db):
    st = server(db, version="2.4.0")
    create(st, "p")
    st.restart()
    assert {state_of(st, "p") for _ in range(50)} == {"close"} and st.dialing_sockets() == 0


@pytest.mark.parametrize(("version", "status"), [("2.3.6", 200), ("2.3.7", 400), ("2.4.0", 200)])
def test_zombie_delete_per_version(db, clock, version, status):
    st = server(db, version=version)
    st.seed_instances([{"name": "z", "state": "open"}])
    [marked] = st.mark_zombies(["z"])
    assert marked == {"name": "z", "state": "open", "zombie": True}
    assert {state_of(st, "z") for _ in range(20)} == {"open"}  # frozen, no flapping
    for _ in range(3):
        reply = st.delete("z", KEY)
        assert reply.status == status
        if status != 200:
            assert reply.body == {"status": 400, "error": "Bad Request",
                                  "response": {"message": ["Connection Closed"]}}
            clock.now += 1.0
            assert state_of(st, "z") == "open"
    if status == 200:
        wait_out(st, clock, "z")
        return
    st.restart()  # only a restart ends a zombie
    assert st.delete("z", KEY).status == 200


def test_seed_rejects_what_cannot_be(st):
    with pytest.raises(ValueError, match="another clientName"):
        st.seed_instances([{"name": "x", "client_name": "evo_b", "live": True}])
    with pytest.raises(ValueError, match="integration"):
        st.seed_instances([{"name": "x", "integration": "TELEGRAM"}])
    with pytest.raises(ValueError, match="zombie"):
        st.seed_instances([{"name": "x", "live": False, "zombie": True}])
    with pytest.raises(ValueError, match="not in memory"):
        st.mark_zombies(["nobody"])
    assert st.known("x") is False


def test_version_must_be_a_v2_one(db):
    with pytest.raises(ValueError, match="2.3.6"):
        V2State(KEY, version="1.8.6", database=db)
    assert V2State(KEY, version="2.4.0-rc2", database=db).fixed


def test_2_4_0_deletes_a_dialing_instance_without_an_orphan(db, clock):
    st = server(db, version="2.4.0")
    create(st, "d", qrcode=True)
    clock.now += 1.0
    st.delete("d", KEY)
    wait_out(st, clock, "d")
    assert st.dialing_sockets() == 0 and st.dump()["orphan_sockets"] == []
