"""Which dialect the client speaks: detection (`GET /` version, then `POST /verify-creds`,
then the list's shape; v2 contract §1.10), its cache, the re-detection when an answer has the
other dialect's shape (a server upgraded in place), the setting that overrides it, and what
each dialect's wire sends (create body, restart method) and makes of answers (logout's
"already disconnected", a ghost row's connect).

The server here is a small loopback HTTP server whose answers each test sets route by route
(the shapes are the recorded ones of tests/data/real-v1.8 and real-v2.3), so every oracle can
be made to fail or to lie on its own.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tui.evolution.client import EvolutionClient
from tui.evolution.detect import UndetectableError
from tui.evolution.dialect import Dialect
from tui.evolution.errors import MalformedResponseError, NotConnectedError, UnauthorizedError
from tui.evolution.models import DetectedBy, ProbeState

KEY = "dialect-test-key-0123456789"
V18_ROOT = {"status": 200, "message": "Welcome to the Evolution API, it is working!",
            "version": "1.8.6", "swagger": "http://x/docs", "documentation": "https://doc"}
V2_ROOT = {"status": 200, "message": "Welcome to the Evolution API, it is working!",
           "version": "2.3.6", "clientName": "evo_a", "manager": "http://x/manager",
           "documentation": "https://doc", "whatsappWebVersion": "2.3000.1027934701"}
V18_ITEM = {"instance": {"instanceName": "a", "instanceId": "i1", "status": "close"}}
V2_ROW = {"id": "i1", "name": "a", "connectionStatus": "close", "ownerJid": None,
          "profileName": None, "integration": "WHATSAPP-BAILEYS", "token": "T0KEN-SECRET",
          "clientName": "evo_a", "_count": {"Message": 3, "Contact": 2, "Chat": 1}}
CANNOT_POST = (404, {"status": 404, "error": "Not Found",
                     "response": {"message": ["Cannot POST /verify-creds"]}})


class Stub:
    """A loopback HTTP/1.1 server answering `routes[(method, path)] = (status, body)`;
    unknown routes 404 `Cannot <METHOD> <path>`. Records every request line and body."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], tuple[int, Any]] = {}
        self.seen: list[tuple[str, str, Any]] = []

    def answer(self, method: str, path: str, status: int, body: Any) -> None:
        self.routes[(method, path)] = (status, body)

    def paths(self) -> list[str]:
        return [f"{m} {p}" for m, p, _ in self.seen]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *headers = head.decode("latin-1").split("\r\n")
                method, path, _ = line.split(" ", 2)
                length = next((int(h.split(":")[1]) for h in headers
                               if h.lower().startswith("content-length:")), 0)
                raw = await reader.readexactly(length) if length else b""
                self.seen.append((method, path, json.loads(raw) if raw else None))
                status, body = self.routes.get(
                    (method, path), (404, {"status": 404, "error": "Not Found",
                                           "response": {"message": [f"Cannot {method} {path}"]}}))
                data = json.dumps(body).encode()
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Stub:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()


def client(stub: Stub, **kw: Any) -> EvolutionClient:
    return EvolutionClient(stub.url, KEY, timeout_s=5, retries=0, **kw)


async def test_v2_is_detected_from_get_root_once_with_its_client_name():
    async with Stub() as stub:
        stub.answer("GET", "/", 200, V2_ROOT)
        stub.answer("GET", "/instance/fetchInstances", 200, [V2_ROW])
        async with client(stub) as evo:
            first = await evo.list_instances()
            await evo.list_instances()
            profile = await evo.profile()
    assert profile.dialect is Dialect.V2 and profile.detected_by is DetectedBy.VERSION
    assert (profile.version, profile.client_name) == ("2.3.6", "evo_a")
    assert profile.label == "Evolution API 2.3.6 (v2, client evo_a)"
    assert stub.paths().count("GET /") == 1  # cached
    (row,) = first
    assert row.counts is not None and (row.counts.messages, row.counts.chats) == (3, 1)
    assert row.client_name == "evo_a" and row.state is not None


async def test_v18_is_detected_from_get_root():
    async with Stub() as stub:
        stub.answer("GET", "/", 200, V18_ROOT)
        async with client(stub) as evo:
            profile = await evo.profile()
    assert profile.dialect is Dialect.V1_8 and profile.client_name is None
    assert profile.label == "Evolution API 1.8.6 (v1.8)"


@pytest.mark.parametrize("status,body,dialect", [
    (200, {"status": 200, "message": "Credentials are valid"}, Dialect.V2),
    (*CANNOT_POST, Dialect.V1_8),
])
async def test_without_a_version_verify_creds_decides(status, body, dialect):
    """`/` proxied away (an HTML page): the next oracle is `POST /verify-creds`."""
    async with Stub() as stub:
        stub.answer("GET", "/", 200, "<html>proxy</html>")
        stub.answer("POST", "/verify-creds", status, body)
        async with client(stub) as evo:
            profile = await evo.profile()
    assert profile.dialect is dialect and profile.detected_by is DetectedBy.VERIFY_CREDS


@pytest.mark.parametrize("items,dialect", [([V18_ITEM], Dialect.V1_8), ([V2_ROW], Dialect.V2)])
async def test_then_the_shape_of_the_list_decides(items, dialect):
    async with Stub() as stub:
        stub.answer("GET", "/", 502, {"error": "bad gateway"})
        stub.answer("POST", "/verify-creds", 500, {"error": "boom"})
        stub.answer("GET", "/instance/fetchInstances", 200, items)
        async with client(stub) as evo:
            profile = await evo.profile()
    assert profile.dialect is dialect and profile.detected_by is DetectedBy.LIST_SHAPE


async def test_nothing_tells_one_clear_error_naming_the_setting():
    async with Stub() as stub:
        stub.answer("POST", "/verify-creds", 500, {"error": "boom"})
        stub.answer("GET", "/instance/fetchInstances", 200, [])
        async with client(stub) as evo:
            with pytest.raises(UndetectableError) as caught:
                await evo.list_instances()
    assert "evolution.dialect" in str(caught.value) and "\n" not in str(caught.value)


async def test_a_wrong_key_is_a_wrong_key_not_a_dialect_question():
    async with Stub() as stub:
        stub.answer("GET", "/", 200, "<html>proxy</html>")
        stub.answer("POST", "/verify-creds", 401, {"status": 401, "error": "Unauthorized"})
        async with client(stub) as evo:
            with pytest.raises(UnauthorizedError):
                await evo.profile()


async def test_a_server_upgraded_in_place_is_detected_again():
    """Detected v1.8; the server becomes v2 (its list now has flat rows): the client detects
    again, parses the list as v2 and from then on speaks v2 (create body with integration)."""
    async with Stub() as stub:
        stub.answer("GET", "/", 200, V18_ROOT)
        stub.answer("GET", "/instance/fetchInstances", 200, [V18_ITEM])
        async with client(stub) as evo:
            assert (await evo.profile()).dialect is Dialect.V1_8
            assert [i.name for i in await evo.list_instances()] == ["a"]
            stub.answer("GET", "/", 200, V2_ROOT)
            stub.answer("GET", "/instance/fetchInstances", 200, [V2_ROW])
            (row,) = await evo.list_instances()
            assert (await evo.profile()).dialect is Dialect.V2
            stub.answer("POST", "/instance/create", 201,
                        {"instance": {"instanceName": "n", "status": "close"}, "hash": "H4SH"})
            created = await evo.create("n")
    assert row.client_name == "evo_a" and row.counts is not None
    assert stub.paths().count("GET /") == 2
    body = [b for m, p, b in stub.seen if p == "/instance/create"][0]
    assert body["integration"] == "WHATSAPP-BAILEYS"
    assert created.token is not None and created.token.get_secret_value() == "H4SH"


async def test_a_set_dialect_is_not_probed_and_not_redetected():
    """`evolution.dialect: v1.8` on a server that answers v2 rows: no GET / before the first
    call, and the answer is parsed as it is (the setting wins)."""
    async with Stub() as stub:
        stub.answer("GET", "/", 200, V2_ROOT)
        stub.answer("GET", "/instance/fetchInstances", 200, [V2_ROW])
        async with client(stub, dialect="v1.8") as evo:
            (row,) = await evo.list_instances()
            assert "GET /" not in stub.paths()
            profile = await evo.profile()  # asked: it reads the version, keeps the setting
    assert row.name == "a"
    assert profile.dialect is Dialect.V1_8 and profile.detected_by is DetectedBy.SETTING
    assert profile.version == "2.3.6"


@pytest.mark.parametrize("dialect,method,body_has_integration", [
    ("v1.8", "PUT", False), ("v2", "POST", True)])
async def test_each_dialect_sends_its_own_create_body_and_restart(dialect, method,
                                                                  body_has_integration):
    async with Stub() as stub:
        stub.answer("POST", "/instance/create", 201,
                    {"instance": {"instanceName": "n", "instanceId": "i"},
                     "hash": {"apikey": "K"} if dialect == "v1.8" else "K"})
        stub.answer(method, "/instance/restart/n", 200,
                    {"instance": {"instanceName": "n", "state": "close"}})
        async with client(stub, dialect=dialect) as evo:
            created = await evo.create("n", qrcode=True)
            restarted = await evo.restart("n")
    body = stub.seen[0][2]
    assert ("integration" in body) is body_has_integration and body["qrcode"] is True
    assert created.token is not None and created.token.get_secret_value() == "K"
    assert restarted.state is ProbeState.PRESENT
    assert f"{method} /instance/restart/n" in stub.paths()


async def test_v2_ghost_rows_answer_connect_and_restart_with_an_error_body():
    """A row without a live instance: connect 200 `{"error":true,"message":"[object
    Object]"}` is nothing to pair (as v1.8's empty body); restart the same: reserved."""
    ghost = {"error": True, "message": "[object Object]"}
    async with Stub() as stub:
        stub.answer("GET", "/instance/connect/g", 200, ghost)
        stub.answer("POST", "/instance/restart/g", 200, ghost)
        async with client(stub, dialect="v2") as evo:
            connected = await evo.connect("g")
            restarted = await evo.restart("g")
    assert connected.empty and connected.qrcode is None
    assert restarted.state is ProbeState.RESERVED


@pytest.mark.parametrize("status,body", [
    (400, {"status": 400, "error": "Bad Request",
           "response": {"message": ['The "n" instance is not connected']}}),  # 2.3.6
    (200, {"status": "SUCCESS", "error": False,
           "response": {"message": "Instance was already disconnected"}}),  # 2.4.0
])
async def test_logout_of_a_closed_instance_is_one_answer_on_every_v2(status, body):
    async with Stub() as stub:
        stub.answer("DELETE", "/instance/logout/n", status, body)
        async with client(stub, dialect="v2") as evo:
            with pytest.raises(NotConnectedError):
                await evo.logout("n")


async def test_locate_tells_own_ghost_rows_from_another_servers_names():
    """v2: a name held without a `state` is this server's ghost row when its own list shows
    it, another server's (FOREIGN) when not; v1.8: always its own (reserved)."""
    held = {"instance": {"instanceName": "x"}}
    async with Stub() as stub:
        stub.answer("GET", "/instance/connectionState/mine", 200, held)
        stub.answer("GET", "/instance/connectionState/theirs", 200, held)
        stub.answer("GET", "/instance/fetchInstances", 200, [{**V2_ROW, "name": "mine"}])
        async with client(stub, dialect="v2") as evo:
            mine, theirs = await evo.locate("mine"), await evo.locate("theirs")
            plain = await evo.probe("theirs")
        async with client(stub, dialect="v1.8") as evo:
            v18 = await evo.locate("theirs")
    assert (mine.state, theirs.state) == (ProbeState.RESERVED, ProbeState.FOREIGN)
    assert plain.state is ProbeState.RESERVED  # a plain probe does not tell them apart
    assert v18.state is ProbeState.RESERVED
    assert stub.paths().count("GET /instance/fetchInstances") == 1  # one list, shared


async def test_locate_an_own_row_gone_between_probe_and_list_is_absent_not_foreign():
    """v2: the probe meets an own row in the last moment of its delete (held, no `state`),
    the list that follows no longer has it: a second probe finds the name free - absent,
    not another server's (the fault matrix's 401 cell met it on a re-run)."""
    held = {"instance": {"instanceName": "mine"}}
    gone = {"status": 404, "error": "Not Found",
            "response": {"message": ['The "mine" instance does not exist']}}
    async with Stub() as stub:
        stub.answer("GET", "/instance/connectionState/mine", 200, held)
        stub.answer("GET", "/instance/fetchInstances", 200, [])
        async with client(stub, dialect="v2") as evo:
            listed = evo.list_instances

            async def list_then_the_delete_ends():
                found = await listed()
                stub.answer("GET", "/instance/connectionState/mine", 404, gone)
                return found

            evo.list_instances = list_then_the_delete_ends  # type: ignore[method-assign]
            located = await evo.locate("mine")
    assert located.state is ProbeState.ABSENT
    assert stub.paths().count("GET /instance/connectionState/mine") == 2


async def test_a_broken_list_is_malformed_not_undetectable():
    async with Stub() as stub:
        stub.answer("GET", "/instance/fetchInstances", 200, "surprise")
        async with client(stub) as evo:
            with pytest.raises(MalformedResponseError) as caught:
                await evo.list_instances()
    assert not isinstance(caught.value, UndetectableError)
    assert "malformed response" in str(caught.value)
