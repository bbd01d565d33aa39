"""Unit tests of the Evolution client that need no simulator: response parsing (literal bodies
from contract §10), error mapping, name encoding (checked on the wire with a raw TCP server),
secret masking, connection-refused and the retry/backoff arithmetic."""

from __future__ import annotations

import asyncio
import copy
import json
import random
import socket
from types import SimpleNamespace
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from tui.evolution import parse
from tui.evolution.client import EvolutionClient, encode_name, error_from_response
from tui.evolution.errors import (
    BadRequestError,
    EvolutionError,
    MalformedResponseError,
    NameInUseError,
    NotConnectedError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnreachableError,
)
from tui.evolution.models import InstanceState, ProbeState

KEY = "test-global-key-0123456789"
TOKEN = "863ACF83-7434-46FE-A270-57ECA1FB0E35"
JSON = "application/json; charset=utf-8"

# ------------------------------------------------------------------ literal bodies (§10)

CREATE_BODY = json.loads(
    '{"instance":{"instanceName":"acc1","instanceId":"ce8ac59d-e9d0-406b-a724-58edb5bce458",'
    '"webhook_wa_business":null,"access_token_wa_business":"","status":"created"},'
    '"hash":{"apikey":"863ACF83-7434-46FE-A270-57ECA1FB0E35"},"webhook":{},"websocket":{},'
    '"rabbitmq":{},"sqs":{},"typebot":{"enabled":false},"settings":{"reject_call":false,'
    '"msg_call":"","groups_ignore":true,"always_online":false,"read_messages":false,'
    '"read_status":false,"sync_full_history":false,"wavoipToken":""}}'
)
FETCH_LIST = json.loads(
    '[{"instance":{"instanceName":"acc1","instanceId":"ce8ac59d-e9d0-406b-a724-58edb5bce458",'
    '"status":"close","serverUrl":"http://127.0.0.1:8080","apikey":"863ACF83-7434-46FE-A270-57ECA1FB0E35",'
    '"integration":{"webhook_wa_business":"http://127.0.0.1:8080/webhook/whatsapp/acc1"}}}]'
)
FETCH_ONE_OPEN = json.loads(
    '{"instance":{"instanceName":"wb1","instanceId":"2f5057e1-x","owner":"5511999999999@s.whatsapp.net",'
    '"profileName":"not loaded","profilePictureUrl":null,"profileStatus":"","status":"open",'
    '"serverUrl":"http://127.0.0.1:8080","apikey":"wb-token-1",'
    '"integration":{"integration":"WHATSAPP-BUSINESS","token":"wa-secret-token-99","webhook_wa_business":"http://x/wb1"}}}'
)


def test_parse_create_hash_object_and_masked_raw():
    result = parse.parse_create(CREATE_BODY, requested_name="acc1")
    assert result.instance.name == "acc1"
    assert result.instance.id == "ce8ac59d-e9d0-406b-a724-58edb5bce458"
    assert result.instance.state is None  # "created" is not a connection state
    assert result.token.get_secret_value() == TOKEN
    assert result.instance.token.get_secret_value() == TOKEN
    assert result.qrcode is None
    assert result.raw["hash"]["apikey"] == "****0E35"
    assert TOKEN not in repr(result) and TOKEN not in str(result.model_dump())
    assert TOKEN not in json.dumps(result.raw)


def test_parse_create_hash_plain_string_and_qrcode():
    body = {"instance": {"instanceName": "q1", "integration": "WHATSAPP-BAILEYS", "status": "created"},
            "hash": "PLAIN-TOKEN-1234567", "qrcode": {"count": 0}}
    result = parse.parse_create(body, requested_name="q1")
    assert result.token.get_secret_value() == "PLAIN-TOKEN-1234567"
    assert result.instance.integration == "WHATSAPP-BAILEYS"
    assert result.qrcode is not None and result.qrcode.count == 0 and result.qrcode.code is None
    assert result.raw["hash"] == "****4567"


def test_parse_create_rejects_missing_instance():
    with pytest.raises(parse.ParseError, match="instance"):
        parse.parse_create({"hash": {"apikey": "x"}}, requested_name="a")


def test_parse_instance_list_array_and_masking():
    instances, problems = parse.parse_instance_list(FETCH_LIST)
    assert problems == []
    (inst,) = instances
    assert inst.name == "acc1" and inst.state is InstanceState.CLOSE
    assert inst.server_url == "http://127.0.0.1:8080"
    assert inst.token.get_secret_value() == TOKEN and inst.masked_token == "****0E35"
    assert inst.raw["apikey"] == "****0E35"
    assert inst.owner is None and inst.integration is None
    assert TOKEN not in repr(inst) and TOKEN not in str(inst)


def test_parse_instance_single_object_open():
    instances, problems = parse.parse_instance_list(FETCH_ONE_OPEN)
    assert problems == []
    (inst,) = instances
    assert inst.state is InstanceState.OPEN
    assert inst.owner_number == "5511999999999"
    assert inst.profile_name == "not loaded" and inst.profile_status == ""
    assert inst.profile_picture_url is None
    assert inst.integration == "WHATSAPP-BUSINESS"
    assert "wa-secret-token-99" not in json.dumps(inst.raw)
    assert "wb-token-1" not in json.dumps(inst.raw)


def test_parse_instance_expose_false_and_v2_flat():
    instances, _ = parse.parse_instance_list(
        [{"instance": {"instanceName": "ne1", "instanceId": "b5e6", "status": "close"}},
         {"name": "v2", "connectionStatus": "connecting", "ownerJid": "1@s", "profilePicUrl": "http://p", "token": "T-0123456789"}]
    )
    assert [i.name for i in instances] == ["ne1", "v2"]
    assert instances[0].token is None
    assert instances[1].state is InstanceState.CONNECTING and instances[1].owner == "1@s"
    assert instances[1].profile_picture_url == "http://p"


def test_parse_instance_list_skips_unusable_items():
    instances, problems = parse.parse_instance_list(
        [{"instance": {"instanceName": "ok"}}, {"instance": {"status": "open"}}, "junk"]
    )
    assert [i.name for i in instances] == ["ok"]
    assert len(problems) == 2 and "item 1" in problems[0] and "instanceName" in problems[0]
    assert "item 2" in problems[1]


@pytest.mark.parametrize("body", ["text", 3, None, True])
def test_parse_instance_list_wrong_type(body):
    with pytest.raises(parse.ParseError, match="expected an array or object"):
        parse.parse_instance_list(body)


def test_parse_probe_present_reserved():
    present = parse.parse_probe("acc1", {"instance": {"instanceName": "acc1", "state": "close"}})
    assert present.state is ProbeState.PRESENT and present.instance_state is InstanceState.CLOSE
    ghost = parse.parse_probe("g2", {"instance": {"instanceName": "g2"}})
    assert ghost.state is ProbeState.RESERVED and ghost.instance_state is None
    odd = parse.parse_probe("x", {"instance": {"instanceName": "x", "state": "refused"}})
    assert odd.state is ProbeState.PRESENT and odd.instance_state is None
    with pytest.raises(parse.ParseError):
        parse.parse_probe("x", [1])


def test_parse_connect_shapes():
    assert parse.parse_connect("g", None).empty is True
    qr = parse.parse_connect("a", {"pairingCode": None, "code": "2@abc", "base64": "data:image/png;base64,AA", "count": 2})
    assert qr.qrcode.code == "2@abc" and qr.qrcode.count == 2 and qr.qrcode.pairing_code is None
    assert qr.state is None and not qr.empty
    opened = parse.parse_connect("a", {"instance": {"instanceName": "a", "state": "open"}})
    assert opened.state is InstanceState.OPEN and opened.qrcode is None
    assert parse.parse_connect("a", {"count": 0}).qrcode.count == 0


def test_parse_server_info():
    info = parse.parse_server_info(
        {"status": 200, "message": "Welcome to the Evolution API, it is working!", "version": "1.8.6",
         "swagger": "http://127.0.0.1:8080/docs", "documentation": "https://doc.evolution-api.com"}
    )
    assert info.version == "1.8.6" and info.status == 200 and info.message.startswith("Welcome")


def test_parse_ack():
    parse.parse_ack({"status": "SUCCESS", "error": False, "response": {"message": "Instance deleted"}})
    with pytest.raises(parse.ParseError):
        parse.parse_ack({"error": True, "message": "boom"})
    with pytest.raises(parse.ParseError):
        parse.parse_ack([])


def test_decode_json_reasons():
    with pytest.raises(parse.ParseError, match="expected JSON, got text/html"):
        parse.decode_json(b"<html>oops</html>", "text/html; charset=utf-8")
    with pytest.raises(parse.ParseError, match="invalid JSON"):
        parse.decode_json(b'{"instance": {"instanceNa', JSON)
    assert parse.decode_json(b"[]", JSON) == []


def test_flatten_message_nested():
    assert parse.flatten_message([["qrcode is not of a type(s) boolean", "qrcode is not one of enum values: true,false"]]) == (
        "qrcode is not of a type(s) boolean; qrcode is not one of enum values: true,false"
    )
    assert parse.flatten_message("Unauthorized") == "Unauthorized"
    assert parse.flatten_message(["a\nb", ["c"]]) == "a b; c"
    assert len(parse.flatten_message(["x" * 10_000])) <= parse.MAX_MESSAGE_CHARS


# ------------------------------------------------------------------ error mapping (§1, §10)


def _err(status, body, route="GET /x", ctype=JSON, headers=None, secrets=None):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return error_from_response(status, content, ctype, route=route, headers=headers, secrets=secrets or [KEY])


@pytest.mark.parametrize(
    "status,body,cls,needle",
    [
        (400, {"status": 400, "error": "Bad Request", "response": {"message": ['The "acc1" instance is not connected']}},
         NotConnectedError, 'The "acc1" instance is not connected'),
        (400, {"status": 400, "error": "Bad Request", "response": {"message": [["qrcode is not of a type(s) boolean", "qrcode is not one of enum values: true,false"]]}},
         BadRequestError, "qrcode is not of a type(s) boolean; qrcode is not one of enum values: true,false"),
        (400, {"status": 400, "error": "Bad Request", "response": {"message": ["Token already exists"]}}, BadRequestError, "Token already exists"),
        (401, {"status": 401, "error": "Unauthorized", "response": {"message": "Unauthorized"}}, UnauthorizedError,
         "Evolution API rejected the API key (401)"),
        (403, {"status": 403, "error": "Forbidden", "response": {"message": ['This name "t1" is already in use.']}},
         NameInUseError, 'This name "t1" is already in use.'),
        (404, {"status": 404, "error": "Not Found", "response": {"message": ['The "nope" instance does not exist']}},
         NotFoundError, "does not exist"),
        (500, {"error": True, "message": ['Instance "doesnotexist" not found']}, NotFoundError, 'Instance "doesnotexist" not found'),
        (500, {"status": 500, "error": "Internal Server Error", "response": {"message": "Cannot read properties of undefined (reading 'setPresence')"}},
         ServerError, "Cannot read properties"),
        (429, {"status": 429, "error": "Too Many Requests", "response": {"message": ["slow down"]}}, RateLimitedError, "slow down"),
        (502, b"<html><body>Bad gateway</body></html>", ServerError, "non-JSON body: text/html"),
    ],
)
def test_error_mapping(status, body, cls, needle):
    ctype = "text/html" if isinstance(body, bytes) else JSON
    error = _err(status, body, route="DELETE /instance/logout/acc1", ctype=ctype)
    assert type(error) is cls
    assert error.status == status
    assert needle in str(error)
    assert str(error).endswith("(DELETE /instance/logout/acc1)")
    assert "\n" not in str(error)
    assert error.transient is (cls in (RateLimitedError, ServerError))


def test_error_message_scrubs_secrets_and_caps_size():
    body = {"status": 400, "error": "Bad Request",
            "response": {"message": [f"bad key {KEY} and token {TOKEN} " + "y" * 100_000]}}
    error = _err(400, body, secrets=[KEY, TOKEN])
    text = str(error)
    assert KEY not in text and TOKEN not in text
    assert len(text) < 500


def test_retry_after_header_parsed():
    error = _err(429, {"status": 429}, headers=httpx.Headers({"Retry-After": "7"}))
    assert isinstance(error, RateLimitedError) and error.retry_after == 7.0
    error = _err(429, b"", headers=None)
    assert error.retry_after is None


def test_backoff_full_jitter_bounded():
    client = EvolutionClient("http://127.0.0.1:9", KEY, backoff_base_s=0.5, backoff_max_s=2.0, rng=random.Random(1))
    plain = ServerError("x")
    for attempt in range(1, 8):
        ceiling = min(2.0, 0.5 * 2 ** (attempt - 1))
        delays = [client._backoff(attempt, plain) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # really spread over [0, ceiling]
    limited = RateLimitedError("x")
    limited.retry_after = 60
    assert client._backoff(1, limited) == 2.0  # Retry-After honoured but capped
    limited.retry_after = 0.25
    assert client._backoff(1, limited) == 0.25


# ------------------------------------------------------------------ names on the wire


@given(st.text(min_size=1, max_size=40))
@settings(max_examples=300, deadline=None)
def test_encode_name_survives_httpx_url_parsing(name):
    url = httpx.URL("http://127.0.0.1:8080/instance/connectionState/" + encode_name(name))
    raw_path = url.raw_path.decode("ascii")
    prefix = "/instance/connectionState/"
    assert raw_path.startswith(prefix)
    segment = raw_path[len(prefix):]
    assert "/" not in segment and "?" not in segment and "#" not in segment
    assert unquote(segment, errors="strict") == name


def test_encode_name_rejects_empty():
    with pytest.raises(ValueError):
        encode_name("")


class RawServer:
    """A tiny HTTP/1.1 server on a raw socket that records request lines exactly as received."""

    def __init__(self, body: bytes = b'{"instance":{"instanceName":"x","state":"open"}}', status: str = "200 OK",
                 ctype: str = JSON):
        self.lines: list[bytes] = []
        self.headers: list[bytes] = []
        self.body, self.status, self.ctype = body, status, ctype

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *headers = head.split(b"\r\n")
                self.lines.append(line)
                self.headers.append(b"\n".join(headers))
                length = next((int(h.split(b":")[1]) for h in headers if h.lower().startswith(b"content-length:")), 0)
                if length:
                    await reader.readexactly(length)
                writer.write(
                    f"HTTP/1.1 {self.status}\r\nContent-Type: {self.ctype}\r\nContent-Length: {len(self.body)}\r\n\r\n".encode()
                    + self.body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc) -> None:
        self.server.close()


AWKWARD = ["a b", "a/b", "q?x", "h#1", "100%", "ünï", "trail ", "MixedCase", ".", "..", "%2F", "a+b", "x\ny"]


async def test_awkward_names_sent_byte_exact():
    raw = RawServer()
    async with raw as url:
        async with EvolutionClient(url, KEY, retries=0, dialect="v1.8") as client:
            for name in AWKWARD:
                result = await client.probe(name)
                assert result.state is ProbeState.PRESENT
            await client.fetch_instance("x")
    paths = [line.split(b" ")[1].decode("ascii") for line in raw.lines]
    prefix = "/instance/connectionState/"
    for name, path in zip(AWKWARD, paths):
        assert path.startswith(prefix)
        segment = path[len(prefix):]
        assert "/" not in segment and "?" not in segment and "#" not in segment and " " not in segment
        assert unquote(segment) == name
    assert paths[AWKWARD.index("a/b")] == prefix + "a%2Fb"
    assert paths[AWKWARD.index("100%")] == prefix + "100%25"
    assert paths[AWKWARD.index("..")] == prefix + "%2E%2E"
    assert paths[-1] == "/instance/fetchInstances?instanceName=x"
    assert all(f"apikey: {KEY}".encode() in h for h in raw.headers)


async def test_fetch_instance_query_encoding_on_the_wire():
    raw = RawServer(body=b'{"instance":{"instanceName":"a b&c=d","status":"open"}}')
    async with raw as url:
        async with EvolutionClient(url, KEY, retries=0) as client:
            inst = await client.fetch_instance("a b&c=d")
    assert inst.name == "a b&c=d"
    assert raw.lines[0].split(b" ")[1] == b"/instance/fetchInstances?instanceName=a%20b%26c%3Dd"


async def test_fetch_instance_other_name_is_malformed():
    raw = RawServer(body=b'{"instance":{"instanceName":"other","status":"open"}}')
    async with raw as url:
        async with EvolutionClient(url, KEY, retries=0) as client:
            with pytest.raises(MalformedResponseError, match="other"):
                await client.fetch_instance("mine")


async def test_probe_unknown_route_404_is_not_absent():
    body = b'{"status":404,"error":"Not Found","response":{"message":["Cannot GET /instance/connectionState/x"]}}'
    raw = RawServer(body=body, status="404 Not Found")
    async with raw as url:
        async with EvolutionClient(url, KEY, retries=0) as client:
            with pytest.raises(NotFoundError, match="Cannot GET"):
                await client.probe("x")


async def test_huge_error_body_is_capped():
    body = json.dumps({"status": 500, "error": "Internal Server Error", "response": {"message": "z" * 5_000_000}}).encode()
    raw = RawServer(body=body, status="500 Internal Server Error")
    async with raw as url:
        async with EvolutionClient(url, KEY, retries=0) as client:
            with pytest.raises(ServerError) as info:
                await client.server_info()
            assert client.stats.bytes_in < 1_000_000
    assert len(str(info.value)) < 500


async def test_redirect_is_not_followed():
    raw = RawServer(body=b"", status="302 Found")
    async with raw as url:
        async with EvolutionClient(url, KEY, retries=0) as client:
            with pytest.raises(MalformedResponseError, match="unexpected HTTP 302"):
                await client.server_info()


# ------------------------------------------------------------------ connection refused, repr, settings


def _closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


async def test_connection_refused_is_unreachable_and_retried():
    port = _closed_port()
    events = []
    async with EvolutionClient(f"http://127.0.0.1:{port}", KEY, retries=2, backoff_base_s=0.001,
                               on_request=events.append) as client:
        with pytest.raises(UnreachableError) as info:
            await client.list_instances()
        assert client.stats.requests == 3 and client.stats.retries == 2
    text = str(info.value)
    assert text == f"cannot reach Evolution API at http://127.0.0.1:{port}: connection refused (GET /instance/fetchInstances)"
    assert info.value.attempts == 3 and info.value.transient
    assert [e.attempt for e in events] == [1, 2, 3]
    assert all(e.status is None and e.error == "UnreachableError" for e in events)


async def test_create_is_retried_when_connection_refused():
    # refused = the request never reached the server, so even create may be retried
    port = _closed_port()
    async with EvolutionClient(f"http://127.0.0.1:{port}", KEY, retries=2, backoff_base_s=0.001) as client:
        with pytest.raises(UnreachableError):
            await client.create("x")
        assert client.stats.requests == 3


def test_repr_masks_key():
    client = EvolutionClient("http://user:pw@127.0.0.1:9", KEY)
    text = repr(client) + str(client)
    assert KEY not in text and "****6789" in text and "pw" not in text


async def test_from_settings_uses_secret_value():
    evo = SimpleNamespace(url="http://127.0.0.1:9/", api_key=SecretStr(KEY), timeout_s=2.5)
    async with EvolutionClient.from_settings(evo) as client:
        assert client.base_url == "http://127.0.0.1:9"
        assert client.timeout_s == 2.5
        assert client._http.headers["apikey"] == KEY
        assert KEY not in repr(client)


def test_errors_are_evolution_errors():
    for cls in (BadRequestError, NotConnectedError, NameInUseError, NotFoundError, UnauthorizedError):
        assert issubclass(cls, EvolutionError) and not cls.transient


def test_mask_secrets_masks_every_depth_and_copies_only_the_way_to_a_secret():
    body = {
        "instance": {"instanceName": "a", "apikey": "TOKEN-0123456789"},
        "integration": {"webhook": "http://x/y", "token": "WABA-TOKEN-9876"},
        "hash": {"apikey": "HASH-KEY-55555"},
        "plain": {"deep": [{"n": 1}, {"jwt": "eyJhbGciOi.J9.x"}]},
        "untouched": {"list": [1, 2, {"a": "b"}]},
        "token": None,
    }
    original = copy.deepcopy(body)
    masked = parse.mask_secrets(body)
    assert body == original  # the input is never changed
    assert masked["instance"]["apikey"] == "****6789"
    assert masked["integration"] == {"webhook": "http://x/y", "token": "****9876"}
    assert masked["hash"]["apikey"] == "****5555"
    assert masked["plain"]["deep"][1]["jwt"] == "****J9.x"
    assert "TOKEN-0123456789" not in repr(masked) and "WABA-TOKEN-9876" not in repr(masked)
    assert masked["untouched"] is body["untouched"]  # nothing secret inside: shared
    assert masked["plain"]["deep"][0] is body["plain"]["deep"][0]
    assert masked["token"] is None
    clean = {"a": [1, {"b": "c"}]}
    assert parse.mask_secrets(clean) is clean
