"""Replays of the contract's §10 transcripts against the simulator over real loopback HTTP.

Bodies are compared byte-for-byte (compact JSON, key order included) with the recorded real
v1.8 answers, with only the random ids/tokens and the server URL substituted.
"""

from __future__ import annotations

import base64
import json
import re

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TOKEN_RE = re.compile(r"^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$")
SETTINGS = {"reject_call": False, "msg_call": "", "groups_ignore": True, "always_online": False,
            "read_messages": False, "read_status": False, "sync_full_history": False, "wavoipToken": ""}
UNAUTHORIZED = '{"status":401,"error":"Unauthorized","response":{"message":"Unauthorized"}}'


def compact(body) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def expect(response, status: int, body) -> None:
    assert response.status_code == status, response.text
    text = body if isinstance(body, str) else compact(body)
    assert response.text == text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["x-powered-by"] == "Express"


def not_exists(name: str) -> dict:
    return {"status": 404, "error": "Not Found", "response": {"message": [f'The "{name}" instance does not exist']}}


def in_use(name: str) -> dict:
    return {"status": 403, "error": "Forbidden", "response": {"message": [f'This name "{name}" is already in use.']}}


def bad_request(*message) -> dict:
    return {"status": 400, "error": "Bad Request", "response": {"message": list(message)}}


def item(url: str, name: str, instance_id: str, token: str, status: str = "close") -> dict:
    return {"instance": {"instanceName": name, "instanceId": instance_id, "status": status, "serverUrl": url,
                         "apikey": token, "integration": {"webhook_wa_business": f"{url}/webhook/whatsapp/{name}"}}}


def create_body(name: str, instance_id: str, token: str) -> dict:
    return {"instance": {"instanceName": name, "instanceId": instance_id, "webhook_wa_business": None,
                         "access_token_wa_business": "", "status": "created"},
            "hash": {"apikey": token}, "webhook": {}, "websocket": {}, "rabbitmq": {}, "sqs": {},
            "typebot": {"enabled": False}, "settings": SETTINGS}


def created(sim, name: str, **extra) -> tuple[str, str]:
    r = sim.request("POST", "/instance/create", json={"instanceName": name, "qrcode": False, **extra})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["instance"]["instanceId"], body["hash"]["apikey"]


def test_canonical_sequence(sim):
    url = sim.url
    expect(sim.request("GET", "/", apikey=None), 200, {
        "status": 200, "message": "Welcome to the Evolution API, it is working!", "version": "1.8.6",
        "swagger": f"{url}/docs", "documentation": "https://doc.evolution-api.com"})

    r = sim.request("POST", "/instance/create", json={"instanceName": "acc1", "qrcode": False})
    assert r.status_code == 201
    iid, token = r.json()["instance"]["instanceId"], r.json()["hash"]["apikey"]
    assert UUID_RE.match(iid) and TOKEN_RE.match(token)
    expect(r, 201, create_body("acc1", iid, token))

    expect(sim.request("GET", "/instance/fetchInstances"), 200, [item(url, "acc1", iid, token)])
    expect(sim.request("GET", "/instance/fetchInstances", params={"instanceName": "acc1"}), 200,
           item(url, "acc1", iid, token))
    expect(sim.request("GET", "/instance/fetchInstances", params={"instanceName": "doesnotexist"}), 500,
           {"error": True, "message": ['Instance "doesnotexist" not found']})
    expect(sim.request("GET", "/instance/connectionState/acc1"), 200,
           {"instance": {"instanceName": "acc1", "state": "close"}})
    expect(sim.request("DELETE", "/instance/logout/acc1"), 400,
           bad_request('The "acc1" instance is not connected'))
    deleted = {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}}
    expect(sim.request("DELETE", "/instance/delete/acc1"), 200, deleted)

    iid2, token2 = created(sim, "acc1")  # immediately after the delete: the name is free again
    assert (iid2, token2) != (iid, token)
    expect(sim.request("DELETE", "/instance/delete/acc1"), 200, deleted)
    expect(sim.request("GET", "/instance/fetchInstances"), 200, [])
    expect(sim.request("DELETE", "/instance/delete/doesnotexist"), 404, not_exists("doesnotexist"))
    expect(sim.request("GET", "/instance/fetchInstances", apikey="bad-key"), 401, UNAUTHORIZED)
    expect(sim.request("GET", "/instance/fetchInstances", apikey=None), 401, UNAUTHORIZED)
    expect(sim.request("POST", "/instance/create", json={"instanceName": "acc2", "qrcode": False},
                       apikey="bad-key"), 401, UNAUTHORIZED)
    assert sim.state()["instances"] == []


def test_guard_order_sequence(sim):
    expect(sim.request("POST", "/instance/create", json={"instanceName": "t1", "qrcode": False}, apikey=None),
           401, UNAUTHORIZED)
    _, t1_token = created(sim, "t1")
    expect(sim.request("POST", "/instance/create", json={"instanceName": "t1"}, apikey="wrong-key"),
           403, in_use("t1"))
    expect(sim.request("GET", "/instance/connectionState/nope", apikey="wrong-key"), 404, not_exists("nope"))
    expect(sim.request("GET", "/instance/connectionState/t1", apikey="wrong-key"), 401, UNAUTHORIZED)
    expect(sim.request("GET", "/instance/connectionState/t1", apikey=None), 401, UNAUTHORIZED)
    expect(sim.request("DELETE", "/instance/delete/nope", apikey="wrong-key"), 404, not_exists("nope"))
    expect(sim.request("DELETE", "/instance/delete/t1", apikey="wrong-key"), 401, UNAUTHORIZED)
    expect(sim.request("GET", "/instance/connectionState/t1", apikey=t1_token), 200,
           {"instance": {"instanceName": "t1", "state": "close"}})
    expect(sim.request("GET", "/instance/fetchInstances", apikey=t1_token), 401, UNAUTHORIZED)
    expect(sim.request("GET", "/instance/fetchInstances", params={"instanceName": "t1"}, apikey=t1_token),
           401, UNAUTHORIZED)
    expect(sim.request("POST", "/instance/create", json={"instanceName": "t2"}, apikey=t1_token),
           401, UNAUTHORIZED)
    expect(sim.request("GET", "/nope-route"), 404,
           {"status": 404, "error": "Not Found", "response": {"message": ["Cannot GET /nope-route"]}})
    expect(sim.request("DELETE", "/instance/delete"), 404,
           {"status": 404, "error": "Not Found", "response": {"message": ["Cannot DELETE /instance/delete"]}})
    # the instance token of t1 does not open another instance's routes
    created(sim, "t9")
    expect(sim.request("GET", "/instance/connectionState/t9", apikey=t1_token), 401, UNAUTHORIZED)
    assert [i["name"] for i in sim.state()["instances"]] == ["t1", "t9"]


def test_other_instance_routes(sim):
    url = sim.url
    iid, token = created(sim, "t1")
    expect(sim.request("GET", "/instance/fetchInstances", params={"instanceId": iid}), 500,
           {"error": True, "message": [f'Instance "{iid}" not found']})
    expect(sim.request("GET", "/instance/fetchInstances", params={"number": "5511999999999"}), 500,
           {"error": True, "message": ['Instance "5511999999999" not found']})
    expect(sim.request("GET", "/instance/fetchInstances?instanceName="), 200, [item(url, "t1", iid, token)])
    expect(sim.request("PUT", "/instance/restart/t1"), 200, {"instance": {"instanceName": "t1", "state": "close"}})
    expect(sim.request("POST", "/instance/setPresence/t1", json={}), 400,
           bad_request(['instance requires property "presence"']))
    expect(sim.request("POST", "/instance/setPresence/t1", json={"presence": "available"}), 400,
           bad_request("TypeError: Cannot read properties of undefined (reading 'sendPresenceUpdate')"))
    for method, path in (("DELETE", "/instance/logout/nope"), ("PUT", "/instance/restart/nope"),
                         ("GET", "/instance/connect/nope")):
        expect(sim.request(method, path), 404, not_exists("nope"))
    expect(sim.request("DELETE", "/instance/deleteDatabase", apikey=None), 500,
           {"error": True, "message": "Database is not enabled"})
    expect(sim.request("PUT", "/instance/refreshToken"), 404,
           {"status": 404, "error": "Not Found", "response": {"message": ["Cannot PUT /instance/refreshToken"]}})


def test_create_validation_and_residue(sim):
    url = sim.url
    expect(sim.request("POST", "/instance/create", json={"qrcode": False}), 500,
           {"status": 500, "error": "Internal Server Error", "response": {"message": [
               'TypeError [ERR_INVALID_ARG_TYPE]: The "path" argument must be of type string. Received undefined']}})
    expect(sim.request("POST", "/instance/create", json={"instanceName": "", "qrcode": False}), 403, in_use(""))
    expect(sim.request("POST", "/instance/create", json={"instanceName": "t3", "qrcode": "false"}), 400,
           bad_request(["qrcode is not of a type(s) boolean", "qrcode is not one of enum values: true,false"]))
    r = sim.request("POST", "/instance/create", json={"instanceName": "t3", "number": "+55 11"})
    expect(r, 400, bad_request(['number does not match pattern "^\\\\d+[\\\\.@\\\\w-]+"']))
    assert r.text.endswith(r'{"message":[["number does not match pattern \"^\\\\d+[\\\\.@\\\\w-]+\""]]}}')
    expect(sim.request("POST", "/instance/create", json={"instanceName": "t3", "integration": "WHATSAPP-BUSINESS"}),
           400, bad_request("token is required"))
    assert sim.state()["instances"] == []  # no residue for the failures above

    r = sim.request("POST", "/instance/create", json={"instanceName": "t4", "token": "my-fixed-token-1"})
    assert r.status_code == 201 and r.json()["hash"] == {"apikey": "my-fixed-token-1"}
    expect(sim.request("POST", "/instance/create", json={"instanceName": "t5", "token": "my-fixed-token-1"}),
           400, bad_request("Token already exists"))

    expect(sim.request("POST", "/instance/create", json={"instanceName": "badhook", "webhook": "not a url"}),
           400, bad_request('Invalid "url" property in webhook'))
    expect(sim.request("POST", "/instance/create", json={"instanceName": "badhook"}), 403, in_use("badhook"))
    r = sim.request("GET", "/instance/fetchInstances", params={"instanceName": "badhook"})
    body = r.json()["instance"]
    expect(r, 200, item(url, "badhook", body["instanceId"], body["apikey"]))
    assert TOKEN_RE.match(body["apikey"])

    expect(sim.request("POST", "/instance/create", json={
        "instanceName": "wb1", "integration": "WHATSAPP-BUSINESS", "token": "wb-token-1"}),
        400, bad_request("number is required"))
    expect(sim.request("POST", "/instance/create", json={
        "instanceName": "wb1", "integration": "WHATSAPP-BUSINESS", "token": "wb-token-2", "number": "5511"}),
        403, in_use("wb1"))
    r = sim.request("GET", "/instance/fetchInstances", params={"instanceName": "wb1"})
    expect(r, 200, {"instance": {
        "instanceName": "wb1", "instanceId": r.json()["instance"]["instanceId"], "profileName": "not loaded",
        "profileStatus": "", "status": "open", "serverUrl": url, "apikey": "wb-token-1",
        "integration": {"webhook_wa_business": f"{url}/webhook/whatsapp/wb1"}}})
    assert [i["instance"]["instanceName"] for i in sim.request("GET", "/instance/fetchInstances").json()] == [
        "t4", "badhook", "wb1"]


def test_create_with_qrcode_and_business(sim):
    r = sim.request("POST", "/instance/create", json={"instanceName": "q1", "qrcode": True, "number": "5511999"})
    assert r.status_code == 201
    body = r.json()
    assert list(body) == ["instance", "hash", "webhook", "websocket", "rabbitmq", "sqs", "typebot", "settings",
                          "qrcode"]
    qrcode = body["qrcode"]
    assert list(qrcode) == ["pairingCode", "code", "base64", "count"]
    assert re.fullmatch(r"[A-Z0-9]{8}", qrcode["pairingCode"]) and qrcode["code"].startswith("2@")
    assert qrcode["count"] >= 1
    png = base64.b64decode(qrcode["base64"].removeprefix("data:image/png;base64,"))
    assert qrcode["base64"].startswith("data:image/png;base64,") and png[:8] == b"\x89PNG\r\n\x1a\n"
    expect(sim.request("GET", "/instance/connectionState/q1"), 200,
           {"instance": {"instanceName": "q1", "state": "connecting"}})

    r = sim.request("POST", "/instance/create", json={
        "instanceName": "wb2", "integration": "WHATSAPP-BUSINESS", "token": "wb-token-2", "number": "5511888"})
    assert r.status_code == 201
    assert r.json()["instance"] == {
        "instanceName": "wb2", "instanceId": r.json()["instance"]["instanceId"], "integration": "WHATSAPP-BUSINESS",
        "webhook_wa_business": f"{sim.url}/webhook/whatsapp/wb2", "access_token_wa_business": "",
        "status": "created"}
    item_ = sim.request("GET", "/instance/fetchInstances", params={"instanceName": "wb2"}).json()["instance"]
    assert item_["status"] == "open"
    assert item_["integration"] == {"integration": "WHATSAPP-BUSINESS", "number": "5511888", "token": "wb-token-2",
                                    "webhook_wa_business": f"{sim.url}/webhook/whatsapp/wb2"}

    r = sim.request("POST", "/instance/create", json={"instanceName": "hooked", "webhook": "https://example.com/h",
                                                       "events": ["QRCODE_UPDATED"]})
    assert r.json()["webhook"] == {"webhook": "https://example.com/h", "webhook_by_events": False,
                                   "webhook_base64": False, "events": ["QRCODE_UPDATED"]}


def test_connect_states_and_open_items(sim):
    url = sim.url
    seeded = sim.seed([
        {"name": "o1", "state": "open", "owner": "5511999990001@s.whatsapp.net", "profileName": "Shop",
         "token": "o1-token-abcdef"},
        {"name": "c1", "state": "close"},
    ])
    assert [s["name"] for s in seeded] == ["o1", "c1"]
    o1_id = seeded[0]["instanceId"]
    expect(sim.request("GET", "/instance/fetchInstances", params={"instanceName": "o1"}), 200, {"instance": {
        "instanceName": "o1", "instanceId": o1_id, "owner": "5511999990001@s.whatsapp.net", "profileName": "Shop",
        "profilePictureUrl": None, "profileStatus": "", "status": "open", "serverUrl": url,
        "apikey": "o1-token-abcdef", "integration": {"webhook_wa_business": f"{url}/webhook/whatsapp/o1"}}})
    expect(sim.request("GET", "/instance/connect/o1"), 200, {"instance": {"instanceName": "o1", "state": "open"}})

    first = sim.request("GET", "/instance/connect/c1").json()
    assert list(first) == ["pairingCode", "code", "base64", "count"] and first["pairingCode"] is None
    assert sim.request("GET", "/instance/connectionState/c1").json()["instance"]["state"] == "connecting"
    again = sim.request("GET", "/instance/connect/c1").json()
    assert again["code"] == first["code"] and again["count"] == first["count"]
    paired = sim.request("GET", "/instance/connect/c1", params={"number": "5511999990002"}).json()
    assert re.fullmatch(r"[A-Z0-9]{8}", paired["pairingCode"])
    assert sim.request("POST", "/instance/setPresence/o1", json={"presence": "available"}).status_code == 201
    expect(sim.request("POST", "/instance/setPresence/o1", json={"presence": "dancing"}), 400, bad_request([
        "presence is not one of enum values: unavailable,available,composing,recording,paused"]))


def test_ghost_names(sim):
    sim.seed([{"name": "ghost", "ghost": True}])
    expect(sim.request("POST", "/instance/create", json={"instanceName": "ghost"}), 403, in_use("ghost"))
    expect(sim.request("GET", "/instance/fetchInstances", params={"instanceName": "ghost"}), 500,
           {"error": True, "message": ['Instance "ghost" not found']})
    expect(sim.request("GET", "/instance/connectionState/ghost"), 200, {"instance": {"instanceName": "ghost"}})
    expect(sim.request("DELETE", "/instance/logout/ghost"), 200,
           {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}})
    expect(sim.request("DELETE", "/instance/delete/ghost"), 200,
           {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}})
    assert sim.request("POST", "/instance/create", json={"instanceName": "ghost"}).status_code == 201

    sim.seed([{"name": "g2", "ghost": True}])
    r = sim.request("GET", "/instance/connect/g2")
    assert r.status_code == 200 and r.content == b""
    expect(sim.request("PUT", "/instance/restart/g2"), 200, {"instance": {"instanceName": "g2"}})
    expect(sim.request("POST", "/instance/setPresence/g2", json={"presence": "available"}), 500,
           {"status": 500, "error": "Internal Server Error",
            "response": {"message": "Cannot read properties of undefined (reading 'setPresence')"}})
    assert sim.request("DELETE", "/instance/delete/g2").status_code == 200
    expect(sim.request("GET", "/instance/connectionState/g2"), 404, not_exists("g2"))
    assert [i["instance"]["instanceName"] for i in sim.request("GET", "/instance/fetchInstances").json()] == ["ghost"]


def test_orphaned_reconnect_loop_qr1(sim):
    # §10's run: the delete landed in `close` and the orphaned socket re-reserved the name
    sim.faults(reconnect_loop=["qr1"], connecting_share=0, orphan_outcome="reserved")
    created(sim, "t1")
    r = sim.request("POST", "/instance/create", json={"instanceName": "qr1", "qrcode": True})
    assert r.status_code == 201 and r.json()["qrcode"] == {"count": 0}
    assert sim.request("GET", "/instance/connectionState/qr1").json() == {
        "instance": {"instanceName": "qr1", "state": "close"}}
    deleted = {"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}}
    expect(sim.request("DELETE", "/instance/delete/qr1"), 200, deleted)
    expect(sim.request("POST", "/instance/create", json={"instanceName": "qr1", "qrcode": False}), 403, in_use("qr1"))
    expect(sim.request("GET", "/instance/fetchInstances", params={"instanceName": "qr1"}), 500,
           {"error": True, "message": ['Instance "qr1" not found']})
    expect(sim.request("GET", "/instance/connectionState/qr1"), 200, {"instance": {"instanceName": "qr1"}})
    assert [i["instance"]["instanceName"] for i in sim.request("GET", "/instance/fetchInstances").json()] == ["t1"]
    expect(sim.request("DELETE", "/instance/delete/qr1"), 200, deleted)
    expect(sim.request("POST", "/instance/create", json={"instanceName": "qr1"}), 403, in_use("qr1"))
    sim.restart()
    expect(sim.request("GET", "/instance/connectionState/qr1"), 404, not_exists("qr1"))
    assert sim.request("POST", "/instance/create", json={"instanceName": "qr1"}).status_code == 201
    # t1 was persisted: reloaded, and dialing like every reloaded instance (§11.1)
    assert sim.request("GET", "/instance/connectionState/t1").json()["instance"]["state"] in (
        "close", "connecting")
    assert next(i for i in sim.state()["instances"] if i["name"] == "t1")["dialing"]


def test_logout_of_connecting_instance(sim):
    created(sim, "t1")
    sim.request("GET", "/instance/connect/t1")  # dials: state becomes connecting
    sim.seed([{"name": "t2", "state": "close"}])
    for _ in range(3):
        expect(sim.request("DELETE", "/instance/logout/t2"), 400, bad_request('The "t2" instance is not connected'))
    expect(sim.request("DELETE", "/instance/logout/t1"), 200,
           {"status": "SUCCESS", "error": False, "response": {"message": "Instance logged out"}})
    expect(sim.request("GET", "/instance/connectionState/t1"), 200,
           {"instance": {"instanceName": "t1", "state": "close"}})
    names = [i["instance"]["instanceName"] for i in sim.request("GET", "/instance/fetchInstances").json()]
    assert names == ["t1", "t2"]
    entry = next(i for i in sim.state()["instances"] if i["name"] == "t1")
    assert entry["in_memory"] and not entry["persisted"]
    sim.restart()  # no auth-state left on disk: t1 is not reloaded, t2 is
    names = [i["instance"]["instanceName"] for i in sim.request("GET", "/instance/fetchInstances").json()]
    assert names == ["t2"]
    expect(sim.request("GET", "/instance/connectionState/t1"), 404, not_exists("t1"))


def test_delete_logs_out_open_instance_and_restart_redials_the_rest(sim):
    sim.seed([{"name": "o1", "state": "open"}, {"name": "o2", "state": "open"}])
    assert sim.request("DELETE", "/instance/delete/o1").status_code == 200
    expect(sim.request("GET", "/instance/connectionState/o1"), 404, not_exists("o1"))
    sim.restart()  # WhatsApp reachable: the paired instance dials and is open again
    expect(sim.request("GET", "/instance/connectionState/o2"), 200,
           {"instance": {"instanceName": "o2", "state": "open"}})
    sim.faults(offline=True, dial_cost_ms=0)
    sim.restart()  # unreachable (the recorded real server, §11.5): it dials and flaps
    states = {sim.request("GET", "/instance/connectionState/o2").json()["instance"]["state"]
              for _ in range(60)}
    assert states == {"close", "connecting"}
