"""v1.8's routes, bodies and shapes (v1.8 contract §3), and its removal profile.

fetchInstances lists what the process holds in memory, each item wrapped in `{"instance":
{...}}`; create takes snake_case and answers `hash: {"apikey": ...}`; restart is `PUT`; a
ghost's connect answers 200 with an empty body. Deletes (contract §11): a dialing instance's
orphaned socket re-reserves its name unless a logout landed while it was `connecting`, so the
verified delete stops the dialing first and holds a freed name 1 s (a name that came back
did so 0.09-0.26 s after its first 404).
"""

from __future__ import annotations

from tui.evolution import parse
from tui.evolution.dialect import Dialect
from tui.evolution.models import ConnectResult, CreateResult, Instance
from tui.evolution.parse import JSONValue
from tui.evolution.wire import DialectMismatch, RemovalProfile, ReservedCause, Wire


def looks_v18(body: JSONValue) -> bool | None:
    """True when fetchInstances' items are v1.8 wrappers, False when they are v2's flat rows,
    None when the list says neither (empty, or not a list of objects)."""
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    for item in items:
        if isinstance(item, dict):
            if isinstance(item.get("instance"), dict):
                return True
            if "name" in item and "connectionStatus" in item:
                return False
    return None


class V18Wire(Wire):
    dialect = Dialect.V1_8
    restart_method = "PUT"
    removal = RemovalProfile(stop_dialing_first=True, free_hold_s=1.0, refusal_retries=False,
                             reserved_cause=ReservedCause.ORPHAN_RERESERVES,
                             retry_reserved=True)

    def create_body(self, name: str, *, qrcode: bool, token: str | None, number: str | None,
                    integration: str | None) -> dict[str, JSONValue]:
        body: dict[str, JSONValue] = {"instanceName": name, "qrcode": bool(qrcode)}
        if token is not None:
            body["token"] = token
        if number is not None:
            body["number"] = number
        if integration is not None:
            body["integration"] = integration
        return body

    def parse_instances(self, body: JSONValue) -> tuple[list[Instance], list[str]]:
        if looks_v18(body) is False:
            raise DialectMismatch("fetchInstances answered v2's flat rows")
        return parse.parse_instance_list(body)

    def parse_create(self, body: JSONValue, *, requested_name: str) -> CreateResult:
        return parse.parse_create(body, requested_name=requested_name)

    def parse_connect(self, name: str, body: JSONValue) -> ConnectResult:
        return parse.parse_connect(name, body)
