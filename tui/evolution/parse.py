"""Pure normalisation of Evolution API response bodies into the models of `models.py`: the
parts both dialects share (JSON decoding, secret masking, error envelopes, the instance item
in either spelling, probes, QR codes, acks). What only one dialect says is in its package
(`v18/`, `v2/`), which decides which shape it expects and calls these.

No I/O here: every function takes an already-decoded JSON value (or raw bytes for `decode_json`)
and either returns a model or raises `ParseError` with a short reason; the client turns that
reason into a `MalformedResponseError` naming the route. Shapes come from the contracts
(`shared/evolution-api/v1.8-contract.md` §1, §3, §10; `v2-contract.md` §1): an instance item
is read in either spelling (v1.8's `{"instance": {...}}` wrapper, v2's flat row with
`connectionStatus`, `_count` and `clientName`).

Types: a decoded body is a `JSONValue` (what `json.loads` can return), so every function
here has to narrow it (`isinstance`) before reading it, and mypy checks that it does.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TypeAlias, overload

from pydantic import SecretStr

from tui.evolution.models import (
    ConnectResult,
    CreateResult,
    Instance,
    InstanceCounts,
    InstanceState,
    ProbeResult,
    ProbeState,
    QRCode,
    ServerInfo,
)
from tui.secrets import mask_token

# Keys whose values are credentials wherever they appear in a body (masked in `raw`).
SECRET_KEYS = frozenset({"apikey", "token", "jwt", "access_token_wa_business", "hash"})
MAX_MESSAGE_CHARS = 300

#: Any value `json.loads` returns (a decoded body, or a part of one).
JSONValue: TypeAlias = "dict[str, JSONValue] | list[JSONValue] | str | int | float | bool | None"
JSONObject: TypeAlias = "dict[str, JSONValue]"


if TYPE_CHECKING:
    # mypy checks every field passed to `_trusted_instance` against `Instance`'s own fields
    _trusted_instance = Instance
else:
    # at run time the values (all checked by the parser) skip pydantic's second validation
    _trusted_instance = Instance.model_construct


class ParseError(ValueError):
    """The body does not have the shape the contract describes. `str()` is a short reason."""


# ---------------------------------------------------------------- generic helpers


def decode_json(body: bytes, content_type: str) -> JSONValue:
    """Decode a JSON body; raise ParseError with a one-line reason (never the body itself)."""
    try:
        value: JSONValue = json.loads(body)  # json.loads is typed Any; this is what it returns
        return value
    except (ValueError, UnicodeDecodeError) as exc:
        ctype = (content_type or "no content-type").split(";", 1)[0].strip()
        if "json" not in ctype:
            raise ParseError(f"expected JSON, got {ctype}") from None
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        raise ParseError(f"invalid JSON ({reason}, {len(body)} bytes)") from None


@overload
def mask_secrets(value: JSONObject) -> JSONObject: ...


@overload
def mask_secrets(value: JSONValue) -> JSONValue: ...


def mask_secrets(value: JSONValue) -> JSONValue:
    """A JSON value with every credential-looking key masked (`****5E35`).

    Copy-on-write: only the dicts and lists on the way to a secret are copied, the rest is
    shared with `value` (a 10,000-instance list is masked without copying every item), so
    neither `value` nor the result may be mutated afterwards."""
    if isinstance(value, dict):
        out: JSONObject | None = None
        for key, item in value.items():
            new: JSONValue
            if key in SECRET_KEYS and isinstance(item, str):
                new = mask_token(item)
            elif isinstance(item, (dict, list)):
                new = mask_secrets(item)
            else:
                continue
            if new is not item:
                if out is None:
                    out = dict(value)
                out[key] = new
        return value if out is None else out
    if isinstance(value, list):
        masked = [mask_secrets(item) for item in value]
        return value if all(a is b for a, b in zip(masked, value)) else masked
    return value


def flatten_message(message: JSONValue) -> str:
    """Flatten an envelope `message` (str, list of str, list of list of str) into one line."""
    parts: list[str] = []

    def walk(value: JSONValue) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif value is not None and value != "":
            parts.append(str(value))

    walk(message)
    text = " ".join("; ".join(parts).split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 3] + "..."
    return text


def error_message(body: JSONValue) -> str:
    """The human message of an error body: the standard envelope
    `{"status","error","response":{"message":...}}` or fetchInstances' `{"error":true,"message":...}`."""
    if not isinstance(body, dict):
        return ""
    response = body.get("response")
    if isinstance(response, dict) and "message" in response:
        return flatten_message(response["message"])
    if "message" in body:
        return flatten_message(body["message"])
    if isinstance(body.get("error"), str):
        return flatten_message(body["error"])
    return ""


def _unwrap(item: JSONValue) -> JSONObject:
    """`{"instance": {...}}` -> the inner dict; a flat dict is returned as is."""
    if not isinstance(item, dict):
        raise ParseError(f"expected an object, got {_type_name(item)}")
    inner = item.get("instance")
    if isinstance(inner, dict):
        return inner
    return item


def _type_name(value: JSONValue) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def _str(value: JSONValue) -> str | None:
    return value if isinstance(value, str) else None


def parse_state(value: JSONValue) -> InstanceState | None:
    """`open|connecting|close` -> InstanceState; anything else (missing, `refused`, ...) -> None."""
    try:
        return InstanceState(value) if isinstance(value, str) else None
    except ValueError:
        return None


# ---------------------------------------------------------------- instances


def parse_instance(item: JSONValue) -> Instance:
    """One fetchInstances item (wrapped or flat, v1.8 or v2 spelling) -> Instance."""
    data = _unwrap(item)
    name = data.get("instanceName", data.get("name"))
    if not isinstance(name, str) or name == "":
        raise ParseError("instance item without instanceName")
    integration = data.get("integration")
    if isinstance(integration, dict):
        integration = integration.get("integration")
    token = _str(data.get("apikey")) or _str(data.get("token"))
    # every value is checked above (`_str`, `parse_state`): no second validation by pydantic
    # (`model_construct` halves the parse time of a 10,000-instance list)
    return _trusted_instance(
        name=name,
        id=_str(data.get("instanceId")) or _str(data.get("id")),
        state=parse_state(data.get("status", data.get("connectionStatus", data.get("state")))),
        owner=_str(data.get("owner")) or _str(data.get("ownerJid")),
        profile_name=_str(data.get("profileName")),
        profile_picture_url=_str(data.get("profilePictureUrl")) or _str(data.get("profilePicUrl")),
        profile_status=_str(data.get("profileStatus")),
        integration=_str(integration),
        server_url=_str(data.get("serverUrl")),
        token=SecretStr(token) if token is not None else None,
        counts=_counts(data.get("_count")),
        client_name=_str(data.get("clientName")),
        raw=mask_secrets(data),
    )


def _counts(value: JSONValue) -> InstanceCounts | None:
    """v2's `_count: {Message, Contact, Chat}` (None when absent or not an object)."""
    if not isinstance(value, dict):
        return None

    def count(key: str) -> int:
        item = value.get(key)
        return item if isinstance(item, int) and not isinstance(item, bool) and item >= 0 else 0

    return InstanceCounts(messages=count("Message"), contacts=count("Contact"),
                          chats=count("Chat"))


def parse_instance_list(body: JSONValue) -> tuple[list[Instance], list[str]]:
    """fetchInstances body -> (instances, problems).

    Accepts an array or a single object (the `?instanceName=` shape). Items that are not usable
    (not an object, no instanceName) are skipped and described in `problems`, so one bad item
    does not hide the others. A body that is neither array nor object raises ParseError.
    """
    if isinstance(body, dict):
        items: list[JSONValue] = [body]
    elif isinstance(body, list):
        items = body
    else:
        raise ParseError(f"expected an array or object of instances, got {_type_name(body)}")
    instances: list[Instance] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        try:
            instances.append(parse_instance(item))
        except ParseError as exc:
            problems.append(f"item {index}: {exc}")
    return instances, problems


# ---------------------------------------------------------------- other routes


def parse_server_info(body: JSONValue) -> ServerInfo:
    """`GET /` welcome body."""
    if not isinstance(body, dict):
        raise ParseError(f"expected an object, got {_type_name(body)}")
    status = body.get("status")
    return ServerInfo(
        status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        message=_str(body.get("message")) or "",
        version=_str(body.get("version")),
        swagger=_str(body.get("swagger")),
        documentation=_str(body.get("documentation")),
        client_name=_str(body.get("clientName")),
        whatsapp_web_version=_str(body.get("whatsappWebVersion")),
    )


def parse_probe(name: str, body: JSONValue) -> ProbeResult:
    """connectionState / restart 200 body: with `state` -> PRESENT, without -> RESERVED (ghost).

    An unknown state value (e.g. v2 `refused`) still means the instance is loaded: PRESENT
    with `instance_state=None`.
    """
    data = _unwrap(body)
    if "state" in data and data["state"] is not None:
        return ProbeResult(name=name, state=ProbeState.PRESENT, instance_state=parse_state(data["state"]))
    return ProbeResult(name=name, state=ProbeState.RESERVED)


def parse_qrcode(data: JSONValue) -> QRCode:
    """`{pairingCode, code, base64, count}` with any key missing."""
    if not isinstance(data, dict):
        raise ParseError(f"expected a QR object, got {_type_name(data)}")
    count = data.get("count")
    return QRCode(
        pairing_code=_str(data.get("pairingCode")),
        code=_str(data.get("code")),
        base64=_str(data.get("base64")),
        count=count if isinstance(count, int) and not isinstance(count, bool) else 0,
    )


def parse_connect(name: str, body: JSONValue) -> ConnectResult:
    """`GET /instance/connect/{name}`: None (empty body, a ghost) / state body / QR object."""
    if body is None:
        return ConnectResult(name=name, empty=True)
    if not isinstance(body, dict):
        raise ParseError(f"expected an object, got {_type_name(body)}")
    inner = body.get("instance")
    if isinstance(inner, dict):
        return ConnectResult(name=name, state=parse_state(inner.get("state")))
    return ConnectResult(name=name, qrcode=parse_qrcode(body))


def parse_create(body: JSONValue, *, requested_name: str) -> CreateResult:
    """`POST /instance/create` 201 body. `hash` is `{"apikey": ...}` in v1.8 (a string in v2,
    `{"jwt": ...}` in JWT mode). `instance.status` is the literal "created", not a state."""
    if not isinstance(body, dict):
        raise ParseError(f"expected an object, got {_type_name(body)}")
    data = body.get("instance")
    if not isinstance(data, dict):
        raise ParseError("create answer without an `instance` object")
    name = data.get("instanceName")
    if not isinstance(name, str) or not name:
        name = requested_name
    raw_hash = body.get("hash")
    if isinstance(raw_hash, dict):
        token_text = _str(raw_hash.get("apikey")) or _str(raw_hash.get("jwt"))
    else:
        token_text = _str(raw_hash)
    token = SecretStr(token_text) if token_text is not None else None
    integration = data.get("integration")
    if isinstance(integration, dict):
        integration = integration.get("integration")
    instance = Instance(
        name=name,
        id=_str(data.get("instanceId")),
        state=parse_state(data.get("status")),  # v1.8: "created" -> None
        integration=_str(integration),
        token=token,
        raw=mask_secrets(data),
    )
    qr = body.get("qrcode")
    return CreateResult(
        instance=instance,
        token=token,
        qrcode=parse_qrcode(qr) if isinstance(qr, dict) else None,
        raw=mask_secrets(body),
    )


def parse_ack(body: JSONValue) -> None:
    """logout/delete 200 body `{"status":"SUCCESS","error":false,...}`: any JSON object is fine,
    but not an explicit `"error": true`."""
    if not isinstance(body, dict):
        raise ParseError(f"expected an object, got {_type_name(body)}")
    if body.get("error") is True:
        raise ParseError(f"success status with error body: {error_message(body) or 'no message'}")
