"""v2's routes, bodies and shapes (v2 contract §1), and its removal profile.

fetchInstances lists database rows of this server's `clientName` as flat objects (`name`,
`connectionStatus`, `ownerJid`, `_count`, `clientName`, ...); create needs `integration`
(`WHATSAPP-BAILEYS` unless told) and answers `hash` as a plain string; restart is `POST`; a
row without a live instance answers connect with `200 {"error":true,"message":...}`; 2.4
answers the logout of a closed instance `200 "Instance was already disconnected"` where 2.3
says `400 not connected`.

Deletes (recorded, tests/data/real-v2.3/): the server logs a connected instance out itself;
the 200 comes before the name is free (403 "already in use" for 60-270 ms, longer under
load), and once a probe says 404 the name stayed free (0 of 8 rounds came back) - orphaned
sockets reconnect invisibly but never re-reserve. So no dialing stop, a 0.5 s hold (twice
the longest window recorded on a quiet server), and a held name is waited for, not deleted
again (its cleanup is running; under load - many orphaned sockets reconnecting - it took
seconds here). 2.3.7 refuses (400) to delete a "zombie" whose awaited logout fails: retried.
"""

from __future__ import annotations

from tui.evolution import parse
from tui.evolution.dialect import Dialect
from tui.evolution.models import ConnectResult, CreateResult, Instance
from tui.evolution.parse import JSONValue
from tui.evolution.v18.wire import looks_v18
from tui.evolution.wire import DialectMismatch, RemovalProfile, ReservedCause, Wire

DEFAULT_INTEGRATION = "WHATSAPP-BAILEYS"


class V2Wire(Wire):
    dialect = Dialect.V2
    restart_method = "POST"
    removal = RemovalProfile(stop_dialing_first=False, free_hold_s=0.5, refusal_retries=True,
                             reserved_cause=ReservedCause.CLEANUP_PENDING,
                             retry_reserved=False, list_shows_dialing=False)

    def create_body(self, name: str, *, qrcode: bool, token: str | None, number: str | None,
                    integration: str | None) -> dict[str, JSONValue]:
        body: dict[str, JSONValue] = {"instanceName": name, "qrcode": bool(qrcode),
                                      "integration": integration or DEFAULT_INTEGRATION}
        if token is not None:
            body["token"] = token
        if number is not None:
            body["number"] = number
        return body

    def parse_instances(self, body: JSONValue) -> tuple[list[Instance], list[str]]:
        if looks_v18(body) is True:
            raise DialectMismatch("fetchInstances answered v1.8's wrapped items")
        return parse.parse_instance_list(body)

    def parse_create(self, body: JSONValue, *, requested_name: str) -> CreateResult:
        return parse.parse_create(body, requested_name=requested_name)

    def parse_connect(self, name: str, body: JSONValue) -> ConnectResult:
        """A row without a live instance (own or another server's) answers
        `{"error": true, "message": "[object Object]"}`: nothing to pair, as v1.8's empty body."""
        if isinstance(body, dict) and body.get("error") is True:
            return ConnectResult(name=name, empty=True)
        return parse.parse_connect(name, body)

    def logout_was_noop(self, body: JSONValue) -> bool:
        return "already disconnected" in parse.error_message(body).lower()
