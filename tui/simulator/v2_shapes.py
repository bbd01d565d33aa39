"""What the v2 simulator's answers look like: route table, `GET /`, the create body, `/metrics`.

Owns: the v2 route table (`POST /verify-creds`, `GET /metrics`, `POST /instance/restart`, no
`deleteDatabase`), the literal bodies of `v2-contract.md` §1 and the recordings of a real
2.3.6 (`tests/data/real-v2.3/`): `GET /` with `clientName` and `whatsappWebVersion`, the 201 of
create (`hash` is the token string, camelCase settings, `nats`), the `[object Object]` answer of
connect/restart for a name with no live instance, and the Prometheus text of `/metrics`
(memory side). Pure functions, no state.
"""

from __future__ import annotations

import re
from typing import Any

from tui.simulator.replies import Reply

WA_WEB_VERSION = "2.3000.1027934701"  # Baileys' bundled fallback, as the offline 2.3.6 said
DOCUMENTATION = "https://doc.evolution-api.com"
WELCOME = "Welcome to the Evolution API, it is working!"
BA_TOKEN_WEBHOOK = "evolution"  # WA_BUSINESS_TOKEN_WEBHOOK's default (accessTokenWaBusiness)
# connect/restart of a name without a live instance: the controller catches its own
# exception object and answers its toString() (recorded, ghost_row.json/other_client_row.json)
OBJECT_OBJECT = {"error": True, "message": "[object Object]"}
SETTING_DEFAULTS: dict[str, Any] = {
    "rejectCall": False, "msgCall": "", "groupsIgnore": False, "alwaysOnline": False,
    "readMessages": False, "readStatus": False, "syncFullHistory": False, "wavoipToken": "",
}
EVENT_SINKS = ("websocket", "rabbitmq", "nats", "sqs")

_NAME = r"/([^/]+)/?$"
ROUTES_V2: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern, re.IGNORECASE), key)
    for method, pattern, key in (
        ("GET", r"^/$", "root"),
        ("POST", r"^/verify-creds/?$", "verifyCreds"),
        ("GET", r"^/metrics/?$", "metrics"),
        ("POST", r"^/instance/create/?$", "create"),
        ("GET", r"^/instance/connect" + _NAME, "connect"),
        ("GET", r"^/instance/connectionState" + _NAME, "connectionState"),
        ("GET", r"^/instance/fetchInstances/?$", "fetchInstances"),
        ("POST", r"^/instance/restart" + _NAME, "restart"),
        ("DELETE", r"^/instance/logout" + _NAME, "logout"),
        ("DELETE", r"^/instance/delete" + _NAME, "delete"),
        ("POST", r"^/instance/setPresence" + _NAME, "setPresence"),
    )
]
ROUTE_KEYS_V2 = tuple(dict.fromkeys(key for _, _, key in ROUTES_V2))


def root_body(version: str, client_name: str, server_url: str) -> dict[str, Any]:
    return {"status": 200, "message": WELCOME, "version": version, "clientName": client_name,
            "manager": f"{server_url}/manager", "documentation": DOCUMENTATION,
            "whatsappWebVersion": WA_WEB_VERSION}


def settings(body: dict[str, Any]) -> dict[str, Any]:
    """The instance settings of a create body (`rejectCall === true`, `msgCall || ''`, ...)."""
    out: dict[str, Any] = {}
    for key, default in SETTING_DEFAULTS.items():
        value = body.get(key)
        out[key] = (value is True) if isinstance(default, bool) else (value if isinstance(value, str) and value
                                                                      else default)
    return out


def webhook(body: dict[str, Any]) -> dict[str, Any]:
    hook = body.get("webhook")
    if not isinstance(hook, dict) or not hook.get("url"):
        return {}
    return {"webhookUrl": hook["url"], "webhookHeaders": hook.get("headers") or {},
            "webhookByEvents": hook.get("byEvents") is True, "webhookBase64": hook.get("base64") is True}


def sink(body: dict[str, Any], kind: str) -> dict[str, Any]:
    value = body.get(kind)
    if not isinstance(value, dict) or value.get("enabled") is not True:
        return {}
    events = value.get("events")
    return {"enabled": True, "events": list(events) if isinstance(events, list) else []}


def created_body(body: dict[str, Any], *, name: str, instance_id: str, integration: str,
                 token: str, status: str, server_url: str) -> dict[str, Any]:
    """The 201 of `POST /instance/create` (without `qrcode`, added by the caller)."""
    business = integration == "WHATSAPP-BUSINESS"
    out: dict[str, Any] = {
        "instance": {
            "instanceName": name, "instanceId": instance_id, "integration": integration,
            "webhookWaBusiness": f"{server_url}/webhook/meta" if business else None,
            "accessTokenWaBusiness": BA_TOKEN_WEBHOOK if business else "",
            "status": status,
        },
        "hash": token,
        "webhook": webhook(body),
    }
    for kind in EVENT_SINKS:
        out[kind] = sink(body, kind)
    out["settings"] = settings(body)
    return out


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def metrics_text(version: str, client_name: str, server_url: str,
                 instances: list[tuple[str, str, str]]) -> Reply:
    """`GET /metrics` (Prometheus text) of the instances in memory: (name, integration, state)."""
    lines = [
        "# HELP evolution_environment_info Environment information",
        "# TYPE evolution_environment_info gauge",
        f'evolution_environment_info{{version="{_label(version)}",clientName="{_label(client_name)}",'
        f'serverUrl="{_label(server_url)}"}} 1',
        "# HELP evolution_instances_total Total number of instances",
        "# TYPE evolution_instances_total gauge",
        f"evolution_instances_total {len(instances)}",
        "# HELP evolution_instance_up 1 if the instance is open",
        "# TYPE evolution_instance_up gauge",
    ]
    for name, integration, state in instances:
        lines.append(f'evolution_instance_up{{instance="{_label(name)}",integration="{_label(integration)}"}} '
                     f"{1 if state == 'open' else 0}")
    lines += ["# HELP evolution_instance_state Instance state (1 for the current state)",
              "# TYPE evolution_instance_state gauge"]
    for name, integration, state in instances:
        for each in ("open", "connecting", "close"):
            lines.append(f'evolution_instance_state{{instance="{_label(name)}",integration="{_label(integration)}",'
                         f'state="{each}"}} {1 if each == state else 0}')
    return Reply(200, "\n".join(lines) + "\n", content_type="text/plain; version=0.0.4; charset=utf-8")
