"""Reply values and the v1.8 error envelopes (contract §1) used by the simulator.

Owns: the `Reply` value (status + JSON-able body, or no body at all), the Express error
envelope `{"status", "error", "response": {"message"}}`, the fetchInstances
`{"error": true, "message": ...}` shape and the JSON encoding (compact, like `JSON.stringify`).
No aiohttp here, so the state machine stays unit-testable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

EMPTY = object()  # body sentinel: answer with no body at all (ghost connect, setPresence 201)


@dataclass(frozen=True)
class Reply:
    """One HTTP answer: status code and body (`EMPTY` = no body). With `content_type` the
    body is a text sent as it is (v2 `/metrics`), else it is JSON."""

    status: int
    body: Any = EMPTY
    content_type: str | None = None

    @property
    def empty(self) -> bool:
        return self.body is EMPTY

    def encode(self) -> bytes:
        """Compact JSON like Express `res.json` (no spaces, UTF-8); b"" when empty."""
        if self.body is EMPTY:
            return b""
        if self.content_type is not None:
            return str(self.body).encode("utf-8")
        return encode_json(self.body)


def encode_json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def reason(status: int) -> str:
    """Reason phrase of a status code ("Bad Request", "Too Many Requests", ...)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def envelope(status: int, message: Any) -> Reply:
    """The standard Express error envelope; `message` is used as given (list or string)."""
    return Reply(status, {"status": status, "error": reason(status), "response": {"message": message}})


def http_error(status: int, *messages: Any) -> Reply:
    """An HTTP exception of v1.8: `message` is the array of constructor arguments."""
    return envelope(status, list(messages))


def validation_error(errors: list[str]) -> Reply:
    """JSON-schema validation failure: a 400 whose message is an array holding one array."""
    return envelope(400, [list(errors)])


def unauthorized() -> Reply:
    """401 without arguments: the message is the plain string "Unauthorized"."""
    return envelope(401, "Unauthorized")


def not_exists(name: str) -> Reply:
    return http_error(404, f'The "{name}" instance does not exist')


def name_in_use(name: str) -> Reply:
    return http_error(403, f'This name "{name}" is already in use.')


def cannot(method: str, path: str) -> Reply:
    """Express' unknown-route answer."""
    return http_error(404, f"Cannot {method} {path}")


def fetch_error(message: Any) -> Reply:
    """fetchInstances' own try/catch: always 500 `{"error": true, "message": ...}`."""
    return Reply(500, {"error": True, "message": message})


def success(message: str, status: int = 200) -> Reply:
    return Reply(status, {"status": "SUCCESS", "error": False, "response": {"message": message}})
