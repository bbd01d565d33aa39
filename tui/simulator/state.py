"""The v1.8 instance state machine of the simulator (files mode, apikey auth, EXPOSE=true).

Owns: the in-memory instance map (insertion-ordered, what fetchInstances lists), the
"persisted" set (what the real server has under `instances/<name>/`), the guard order
(instanceExists 404 -> name-in-use 403 -> auth 401), every `/instance` route's logic and
answer body (contract §3, §10), the reserved-name behaviours of §6 (cleanup lag, orphaned
reconnect loop), the dynamics of dialing instances recorded on the real server (§11,
`tests/data/real-v1.8/`) and the restart semantics of the files-mode loader. Pure: no
aiohttp, no sleeping; time comes from an injectable monotonic clock, randomness from
`random.Random(seed)`.

Dialing (§11): an instance dials WhatsApp after `create` with `qrcode: true`, after
`connect`, and at every restart. With WhatsApp reachable (`offline` off, the default) a
dialing instance sits in `connecting` with a QR code. With WhatsApp unreachable (`offline`,
or a name in `reconnect_loop`) it flaps: each observation draws `connecting` with
`DIAL_CONNECTING_SHARE`, else `close`. A logout that lands in `connecting` stops the dialing;
a delete that lands in `close` orphans the socket, which re-creates the name's directory:
the name is free for good, reserved at once, or free for a moment and then reserved again,
until a restart (`DELETE_CLOSE_OUTCOMES`, `RETURN_AFTER_S`). Every flapping socket
(dialing instances and orphans) makes each request slower (`dialing_sockets`, used by the
server for its `dial_cost_ms`).
"""

from __future__ import annotations

import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from tui.evolution.dialect import Dialect
from tui.simulator import qr
from tui.simulator.replies import (
    EMPTY,
    Reply,
    envelope,
    fetch_error,
    http_error,
    name_in_use,
    not_exists,
    success,
    unauthorized,
    validation_error,
)

VERSION = "1.8.6"
STATES = ("open", "connecting", "close")
PRESENCES = ("unavailable", "available", "composing", "recording", "paused")
BUSINESS = "WHATSAPP-BUSINESS"
NUMBER_PATTERN = re.compile(r"^\d+[\.@\w-]+", re.ASCII)
NUMBER_PATTERN_TEXT = r'"^\\d+[\\.@\\w-]+"'  # as JSON.stringify prints the schema pattern
MISSING = object()  # an attribute the real server leaves undefined (key dropped from JSON)

# Recorded on the real v1.8 server (tests/data/real-v1.8/, contract §11): the share of
# observations in which a flapping instance is `connecting` (0.09-0.41 seen), what becomes of
# a name whose dialing instance was deleted while `close` (36 deletes: 13 free for good, 4
# reserved at once, 19 free for 0.09-0.26 s after the delete's answer and then reserved), and
# when such a name comes back (seconds after the delete answered).
DIAL_CONNECTING_SHARE = 0.25
DELETE_CLOSE_OUTCOMES = (("free", 0.35), ("reserved", 0.12), ("came_back", 0.53))
RETURN_AFTER_S = (0.08, 0.26)
# WhatsApp replaces the QR code of an instance waiting to be paired every ~20 s (Baileys'
# `qr` events; the real server's `count` goes up); the simulator rotates it on the first
# `connect` after that long
QR_ROTATE_S = 20.0
# What a flapping socket costs every request (recorded, tests/data/real-v1.8/latency.json):
# 2 ms quiet, 114 ms with 10 instances dialing one request at a time, and 16 requests at
# once took 351-439 ms (not 16 x 114: the server interleaves them). Modelled as
# `dial_cost_ms * sockets * (1 + (requests in flight - 1) / DIAL_INFLIGHT_DIVISOR)`.
DIAL_COST_MS = 11.5
DIAL_INFLIGHT_DIVISOR = 6

DEFAULT_SETTINGS = {
    "reject_call": False,
    "msg_call": "",
    "groups_ignore": True,
    "always_online": False,
    "read_messages": False,
    "read_status": False,
    "sync_full_history": False,
    "wavoipToken": "",
}
_TYPEBOT_KEYS = (
    "url", "typebot", "expire", "keyword_finish", "delay_message", "unknown_message", "listening_from_me",
)


@dataclass
class SimInstance:
    """One instance registered in memory (`waMonitor.waInstances`)."""

    name: str
    instance_id: str | None
    token: str
    state: str = "close"
    owner: Any = MISSING
    profile_name: Any = MISSING
    profile_picture_url: Any = MISSING
    profile_status: Any = MISSING
    integration: dict = field(default_factory=dict)  # stored record: integration/number/token
    qrcode: dict | None = None
    qr_count: int = 0
    qr_at: float = 0.0  # when the current QR code was made (the server rotates it)
    dialing: bool = False  # a socket is trying to connect (qrcode create, connect, restart)
    paired: bool = False  # was `open` once: reconnects to `open` after a restart when online


@dataclass
class Persisted:
    """What is on disk for a name: `record` = a non-empty instance dir (reloaded at restart);
    `orphan` = an orphaned reconnect loop keeps re-creating it (only a restart frees it);
    `expires_at` = the cleanup still runs after the answer (freed at that monotonic time)."""

    record: bool = True
    orphan: bool = False
    expires_at: float | None = None
    token: str | None = None  # auth record of a seeded ghost, if any


def node_type_error(value: Any) -> str:
    """Node's ERR_INVALID_ARG_TYPE text for `path.join(dir, <value>)` (MISSING = undefined)."""
    if value is MISSING:
        received = "undefined"
    elif value is None:
        received = "null"
    elif isinstance(value, bool):
        received = f"type boolean ({'true' if value else 'false'})"
    elif isinstance(value, (int, float)):
        received = f"type number ({value})"
    elif isinstance(value, list):
        received = "an instance of Array"
    else:
        received = "an instance of Object"
    return f'TypeError [ERR_INVALID_ARG_TYPE]: The "path" argument must be of type string. Received {received}'


def _valid_url(value: Any) -> bool:
    if not isinstance(value, str) or not value or any(c.isspace() for c in value):
        return False
    return re.match(r"^https?://[^/?#:\s]+(:\d+)?([/?#].*)?$", value, re.IGNORECASE) is not None


class SimState:
    """In-memory + persisted model of one Evolution v1.8 server in files mode."""

    dialect = Dialect.V1_8
    DEFAULT_CONNECTING_SHARE = DIAL_CONNECTING_SHARE
    DEFAULT_DIAL_COST_MS = DIAL_COST_MS
    CONNECT_WAIT = 1.0  # share of the server's qr delay that `connect` waits (real: 5 s as create)
    EXTRA_OPTIONS: tuple[str, ...] = ()  # fault options of another dialect (`apply_options`)

    def __init__(
        self,
        api_key: str = "sim-global-key",
        *,
        seed: int | None = None,
        server_url: str = "http://127.0.0.1:8080",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial_api_key = api_key
        self.api_key = api_key
        self.seed = seed
        self.server_url = server_url
        self.clock = clock
        self.rng = random.Random(seed)
        self.memory: dict[str, SimInstance] = {}
        self.persisted: dict[str, Persisted] = {}
        self._expiring: set[str] = set()  # names whose `persisted` entry may carry expires_at
        self.cleanup_lag_ms: float = 0
        self.reconnect_loop: set[str] = set()  # names for which WhatsApp is unreachable
        self.offline = False  # WhatsApp unreachable for every name (the recorded real server)
        # test knobs: the share of `connecting` observations of a flapping instance, and a
        # forced outcome for deletes caught `close` (None: drawn as recorded)
        self.connecting_share = self.DEFAULT_CONNECTING_SHARE
        self.orphan_outcome: str | None = None
        self.qr_rotate_s = QR_ROTATE_S  # a waiting QR code is replaced after this long
        self.dial_rng = random.Random(None if seed is None else f"dial-{seed}")
        # orphaned sockets (deleted while dialing in `close`): they keep dialing until a
        # restart; `returning` = names free now that such a socket re-reserves at a time
        self.orphan_sockets: set[str] = set()
        self.returning: dict[str, float] = {}
        self.inflight = 1  # requests the server is answering now, this one included (server sets it)

    # ------------------------------------------------------------------ control
    def reset(self) -> None:
        """Empty server, original api key, no lag/loop, RNG re-seeded."""
        self.memory.clear()
        self.persisted.clear()
        self._expiring.clear()
        self.api_key = self.initial_api_key
        self.cleanup_lag_ms = 0
        self.reconnect_loop = set()
        self.offline = False
        self.connecting_share = self.DEFAULT_CONNECTING_SHARE
        self.orphan_outcome = None
        self.qr_rotate_s = QR_ROTATE_S
        self.orphan_sockets.clear()
        self.returning.clear()
        self.rng = random.Random(self.seed)
        self.dial_rng = random.Random(None if self.seed is None else f"dial-{self.seed}")

    def restart(self) -> None:
        """Process restart: memory dropped, orphaned sockets die (their names are free: the
        loader drops empty leftover dirs), and the files-mode loader reloads every non-empty
        instance dir: every reloaded instance dials at once (§11.1) - online a paired one is
        `open` again and the others wait for a QR scan in `connecting`; offline they flap.
        Logged-out instances (no auth-state on disk) are not reloaded."""
        self._purge()
        self.orphan_sockets.clear()
        self.returning.clear()
        old = self.memory
        self.memory = {}
        for name, inst in old.items():
            entry = self.persisted.get(name)
            if entry is not None and entry.record:
                self.memory[name] = inst
                inst.qrcode = None
                if inst.integration.get("integration") == BUSINESS:
                    inst.state, inst.dialing = "open", False  # no socket: open from the start
                elif self.unreachable(name):
                    inst.state, inst.dialing = "close", True
                elif inst.paired:
                    inst.state, inst.dialing = "open", False
                else:
                    inst.state, inst.dialing = "connecting", True
                    self._new_qr(inst)
        self.persisted = {n: p for n, p in self.persisted.items() if p.record and n in self.memory}

    # ------------------------------------------------------------------ dialing
    def unreachable(self, name: str) -> bool:
        """WhatsApp cannot be reached for `name`: its dialing flaps instead of showing a QR."""
        return self.offline or name in self.reconnect_loop

    def observed_state(self, inst: SimInstance) -> str:
        """The state one request sees: a flapping instance is drawn, others are stable."""
        if inst.dialing and self.unreachable(inst.name):
            return "connecting" if self.dial_rng.random() < self.connecting_share else "close"
        return inst.state

    def start_dialing(self, inst: SimInstance, number: str | None = None) -> None:
        """A socket starts (create with qrcode, connect): online it shows a QR in
        `connecting`, offline it flaps. The socket writes its creds: the name is persisted."""
        inst.dialing = True
        self.persisted.setdefault(inst.name, Persisted(record=True))
        if self.unreachable(inst.name):
            inst.state, inst.qrcode = "close", {"count": 0}
        else:
            inst.state = "connecting"
            self._new_qr(inst, number)

    def set_reconnect_loop(self, names: set[str]) -> None:
        """Names whose WhatsApp connection is unreachable: an instance of such a name that
        is not logged out (open ones too: their connection drops) falls into the reconnect
        loop (§6 case 2) and flaps."""
        self.reconnect_loop = set(names)
        self.reachability_changed()
        for name in names:
            inst = self.memory.get(name)
            business = inst is not None and inst.integration.get("integration") == BUSINESS
            if inst is not None and self.persisted.get(name) is not None and not business:
                inst.state, inst.dialing, inst.qrcode = "close", True, None

    def reachability_changed(self) -> None:
        """WhatsApp became reachable for some names: their dialing instances now wait for a
        QR scan in `connecting` instead of flapping."""
        for inst in self.memory.values():
            if inst.dialing and not self.unreachable(inst.name) and inst.state != "connecting":
                inst.state = "connecting"
                self._new_qr(inst)

    def dialing_sockets(self) -> int:
        """Sockets in a reconnect loop now: flapping instances plus orphaned sockets."""
        self._purge()
        flapping = sum(1 for i in self.memory.values() if i.dialing and self.unreachable(i.name))
        return flapping + len(self.orphan_sockets)

    def socket_delay_ms(self, dial_cost_ms: float, inflight: int) -> float:
        """The slowness that flapping sockets cost one request (see DIAL_COST_MS)."""
        sockets = self.dialing_sockets() if dial_cost_ms else 0
        if not sockets:
            return 0.0
        crowd = 1 + (inflight - 1) / DIAL_INFLIGHT_DIVISOR
        return dial_cost_ms * sockets * crowd

    # ------------------------------------------------------------------ other dialects' hooks
    def apply_options(self, options: dict[str, Any]) -> None:
        """Validate and apply the `EXTRA_OPTIONS` in `options` (v1.8 has none)."""

    def options_view(self) -> dict[str, Any]:
        """The `EXTRA_OPTIONS` as the faults view shows them (v1.8: none)."""
        return {}

    def clear_options(self) -> None:
        """The `EXTRA_OPTIONS` back to their defaults (v1.8: none)."""

    def extra_route(self, key: str, apikey: str | None) -> Reply:
        """A route only another dialect has (v1.8's route table never names one)."""
        raise KeyError(key)

    def _orphan_socket(self, name: str, returns: bool) -> None:
        """A socket nobody can reach any more re-creates the name's dir: reserved now
        (`returns` False) or after a short free moment."""
        self.orphan_sockets.add(name)
        self._expiring.discard(name)
        if returns:
            self.persisted.pop(name, None)
            low, high = RETURN_AFTER_S
            self.returning[name] = self.clock() + self.dial_rng.uniform(low, high)
        else:
            self.persisted[name] = Persisted(record=False, orphan=True)

    def seed_instances(self, specs: list[dict]) -> list[dict]:
        """Seed instances (in memory + persisted) or, with `ghost: true`, reserved names."""
        out = []
        for spec in specs:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
                raise ValueError("every seeded instance needs a non-empty string 'name'")
            name = spec["name"]
            state = spec.get("state", "close")
            if state not in STATES:
                raise ValueError(f"state of {name!r} must be one of {', '.join(STATES)}")
            self.memory.pop(name, None)
            self.persisted.pop(name, None)
            self.orphan_sockets.discard(name)
            self.returning.pop(name, None)
            if spec.get("ghost"):
                orphan = bool(spec.get("orphan"))
                self.persisted[name] = Persisted(record=False, orphan=orphan, token=spec.get("token"))
                if orphan:
                    self.orphan_sockets.add(name)
                out.append({"name": name, "ghost": True})
                continue
            integration = spec.get("integration")
            record = dict(integration) if isinstance(integration, dict) else (
                {"integration": integration} if isinstance(integration, str) else {}
            )
            inst = SimInstance(
                name=name,
                instance_id=spec.get("instanceId") or self._uuid(),
                token=spec.get("token") or self._token(),
                state=state,
                integration=record,
            )
            if state == "open":
                inst.owner = spec.get("owner") or f"55119{self.rng.randrange(10**7, 10**8)}@s.whatsapp.net"
                inst.profile_name = spec.get("profileName", "not loaded")
                inst.profile_picture_url = spec.get("profilePictureUrl")
                inst.profile_status = spec.get("profileStatus", "")
            else:
                inst.owner = spec.get("owner", MISSING)
                inst.profile_name = spec.get("profileName", MISSING)
                inst.profile_picture_url = spec.get("profilePictureUrl", MISSING)
            inst.paired = state == "open"
            self.memory[name] = inst
            self.persisted[name] = Persisted(record=True)
            if spec.get("dialing") and state != "open":
                self.start_dialing(inst)
            elif state == "connecting":
                inst.dialing = True
                self._new_qr(inst)
            out.append({"name": name, "instanceId": inst.instance_id, "token": inst.token, "state": state,
                        "ghost": False})
        return out

    def dump(self) -> dict:
        """Debug view: every known name with its state, token and where it lives."""
        self._purge()
        now = self.clock()
        names = list(self.memory) + [n for n in self.persisted if n not in self.memory]
        instances = []
        for name in names:
            inst = self.memory.get(name)
            entry = self.persisted.get(name)
            instances.append({
                "name": name,
                "state": inst.state if inst else None,
                "instanceId": inst.instance_id if inst else None,
                "token": inst.token if inst else (entry.token if entry else None),
                "in_memory": inst is not None,
                "persisted": entry is not None,
                "orphan": bool(entry and entry.orphan),
                "dialing": bool(inst and inst.dialing),
                "frees_in_ms": (max(0.0, (entry.expires_at - now) * 1000)
                                if entry and entry.expires_at is not None else None),
            })
        return {
            "instances": instances,
            "reserved": [n for n in self.persisted if n not in self.memory],
            "returning": sorted(self.returning),
            "orphan_sockets": sorted(self.orphan_sockets),
            "cleanup_lag_ms": self.cleanup_lag_ms,
            "reconnect_loop": sorted(self.reconnect_loop),
            "offline": self.offline,
        }

    # ------------------------------------------------------------------ helpers
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _token(self) -> str:
        return self._uuid().upper()

    def _purge(self) -> None:
        """Forget the names whose cleanup lag ran out, and re-reserve the names whose orphaned
        socket came back. Only names given a lag or a return are looked at (every request
        calls this: a scan of all persisted names made the simulator O(N) per request)."""
        if self.returning:
            now = self.clock()
            for name, at in list(self.returning.items()):
                if at <= now:
                    del self.returning[name]
                    if name not in self.memory:
                        self.persisted[name] = Persisted(record=False, orphan=True)
        if not self._expiring:
            return
        now = self.clock()
        for name in list(self._expiring):
            entry = self.persisted.get(name)
            if entry is None or entry.expires_at is None:
                self._expiring.discard(name)  # replaced or removed since
            elif entry.expires_at <= now:
                del self.persisted[name]
                self._expiring.discard(name)

    def known(self, name: str) -> bool:
        """`getInstance` of the guards: in memory OR persisted (the empty name is the
        `instances/` dir itself, so it always exists)."""
        self._purge()
        return name == "" or name in self.memory or name in self.persisted

    def is_ghost(self, name: str) -> bool:
        return self.known(name) and name not in self.memory

    def authorized(self, apikey: str | None, name: str | None = None) -> bool:
        """Global key anywhere; an instance token only on a route naming that instance."""
        if not apikey:
            return False
        if apikey == self.api_key:
            return True
        if name is None:
            return False
        inst = self.memory.get(name)
        if inst is not None:
            return apikey == inst.token
        entry = self.persisted.get(name)
        return bool(entry and entry.token and apikey == entry.token)

    def _guard(self, name: str, apikey: str | None) -> Reply | None:
        if not self.known(name):
            return not_exists(name)
        if not self.authorized(apikey, name):
            return unauthorized()
        return None

    def _new_qr(self, inst: SimInstance, number: str | None = None) -> dict:
        inst.qr_at = self.clock()
        inst.qr_count += 1
        inst.qrcode = qr.qr_object(self.rng, inst.qr_count, number=number)
        return inst.qrcode

    def _state_body(self, name: str, state: str | None = None) -> dict:
        inst = self.memory.get(name)
        body: dict = {"instanceName": name}
        if inst is not None:
            body["state"] = state or self.observed_state(inst)
        return {"instance": body}

    def _item(self, inst: SimInstance) -> dict:
        state = self.observed_state(inst)
        item: dict = {"instanceName": inst.name}
        if inst.instance_id:
            item["instanceId"] = inst.instance_id
        if state == "open":
            for key, value in (("owner", inst.owner), ("profileName", inst.profile_name),
                               ("profilePictureUrl", inst.profile_picture_url),
                               ("profileStatus", inst.profile_status)):
                if value is not MISSING:
                    item[key] = value
        item["status"] = state
        item["serverUrl"] = self.server_url
        item["apikey"] = inst.token
        integration = {k: inst.integration[k] for k in ("integration", "number", "token") if k in inst.integration}
        integration["webhook_wa_business"] = f"{self.server_url}/webhook/whatsapp/{inst.name}"
        item["integration"] = integration
        return {"instance": item}

    # ------------------------------------------------------------------ routes
    def root(self) -> Reply:
        return Reply(200, {
            "status": 200,
            "message": "Welcome to the Evolution API, it is working!",
            "version": VERSION,
            "swagger": f"{self.server_url}/docs",
            "documentation": "https://doc.evolution-api.com",
        })

    def create(self, body: Any, apikey: str | None) -> tuple[Reply, bool]:
        """POST /instance/create. Returns the reply and whether a QR was generated (the
        server may then wait a short configurable delay, like the real 5 s sleep)."""
        body = body if isinstance(body, dict) else {}
        name = body.get("instanceName", MISSING)
        if not isinstance(name, str):  # the files-mode guard does path.join(dir, name)
            return envelope(500, [node_type_error(name)]), False
        if self.known(name):
            return name_in_use(name), False
        if not self.authorized(apikey):
            return unauthorized(), False
        errors = []
        if "qrcode" in body and not isinstance(body["qrcode"], bool):
            errors += ["qrcode is not of a type(s) boolean", "qrcode is not one of enum values: true,false"]
        if "number" in body:
            number = body["number"]
            if not isinstance(number, str):
                errors.append("number is not of a type(s) string")
            elif not NUMBER_PATTERN.match(number):
                errors.append(f"number does not match pattern {NUMBER_PATTERN_TEXT}")
        if errors:
            return validation_error(errors), False
        token = body.get("token") if isinstance(body.get("token"), str) and body.get("token") else None
        if token is not None and any(i.token == token for i in self.memory.values()):
            return http_error(400, "Token already exists"), False
        integration = body.get("integration")
        business = integration == BUSINESS
        if business and token is None:
            return http_error(400, "token is required"), False

        # --- from here on the instance is persisted and registered (residue on failure)
        inst = SimInstance(name=name, instance_id=self._uuid(), token=token or self._token())
        if business:
            inst.state = "open"
            inst.profile_name = "not loaded"
            inst.profile_status = ""
        self.memory[name] = inst
        self.persisted[name] = Persisted(record=True)
        webhook = body.get("webhook")
        if webhook is not None and webhook != "" and not _valid_url(webhook):
            return http_error(400, 'Invalid "url" property in webhook'), False
        number = body.get("number")
        if business and not number:
            return http_error(400, "number is required"), False
        inst.integration = {k: body[k] for k in ("integration", "number", "token")
                            if isinstance(body.get(k), str) and body.get(k)}

        instance: dict = {"instanceName": name, "instanceId": inst.instance_id}
        if integration is not None:
            instance["integration"] = integration
        instance["webhook_wa_business"] = f"{self.server_url}/webhook/whatsapp/{name}" if business else None
        instance["access_token_wa_business"] = ""
        instance["status"] = "created"
        out: dict = {"instance": instance, "hash": {"apikey": inst.token}}
        out["webhook"] = ({
            "webhook": webhook,
            "webhook_by_events": bool(body.get("webhook_by_events", False)),
            "webhook_base64": bool(body.get("webhook_base64", False)),
            "events": list(body.get("events") or []),
        } if webhook else {})
        for kind in ("websocket", "rabbitmq", "sqs"):
            enabled = body.get(f"{kind}_enabled")
            out[kind] = {"enabled": bool(enabled), "events": list(body.get(f"{kind}_events") or [])} if enabled else {}
        typebot: dict = {"enabled": bool(body.get("typebot_url"))}
        if typebot["enabled"]:
            for key in _TYPEBOT_KEYS:
                if f"typebot_{key}" in body:
                    typebot[key] = body[f"typebot_{key}"]
        out["typebot"] = typebot
        out["settings"] = {k: body.get(k, default) for k, default in DEFAULT_SETTINGS.items()}
        made_qr = False
        if body.get("qrcode") is True and not business:
            self.start_dialing(inst, number if isinstance(number, str) else None)
            out["qrcode"] = dict(inst.qrcode or {"count": 0})
            made_qr = True  # the real server sleeps 5 s after dialing, QR or not
        return Reply(201, out), made_qr

    def connect(self, name: str, apikey: str | None, number: str | None = None) -> Reply:
        denied = self._guard(name, apikey)
        if denied:
            return denied
        inst = self.memory.get(name)
        if inst is None:
            return Reply(200, EMPTY)
        state = self.observed_state(inst)
        if state == "open":
            return Reply(200, self._state_body(name, state))
        if state == "connecting":
            if inst.qrcode is not None and "code" in inst.qrcode:
                if self.qr_rotate_s and self.clock() - inst.qr_at >= self.qr_rotate_s:
                    self._new_qr(inst, number)  # WhatsApp sent a new one (Baileys: ~20 s)
                if number:
                    inst.qrcode["pairingCode"] = qr.pairing_code(self.rng)
                return Reply(200, dict(inst.qrcode))
            return Reply(200, {"count": 0})
        self.start_dialing(inst, number)
        return Reply(200, dict(inst.qrcode or {"count": 0}))

    def connection_state(self, name: str, apikey: str | None) -> Reply:
        denied = self._guard(name, apikey)
        return denied or Reply(200, self._state_body(name))

    def restart_instance(self, name: str, apikey: str | None) -> Reply:
        denied = self._guard(name, apikey)
        return denied or Reply(200, self._state_body(name))

    def fetch_instances(self, apikey: str | None, query: dict[str, str] | None = None) -> Reply:
        if not self.authorized(apikey):  # no instance token in files mode
            return unauthorized()
        query = query or {}
        for key in ("instanceId", "number"):
            if query.get(key):
                return fetch_error([f'Instance "{query[key]}" not found'])
        name = query.get("instanceName")
        if name:
            inst = self.memory.get(name)
            if inst is None:
                return fetch_error([f'Instance "{name}" not found'])
            return Reply(200, self._item(inst))
        return Reply(200, [self._item(i) for i in self.memory.values()])

    def logout(self, name: str, apikey: str | None) -> Reply:
        denied = self._guard(name, apikey)
        if denied:
            return denied
        inst = self.memory.get(name)
        if inst is not None:
            if self.observed_state(inst) == "close":
                return http_error(400, f'The "{name}" instance is not connected')
            self._logged_out(inst)
        return success("Instance logged out")

    def _logged_out(self, inst: SimInstance) -> None:
        """logout.instance: no reconnect, auth-state removed, entry stays in memory as close."""
        inst.state, inst.qrcode, inst.dialing = "close", None, False
        self.persisted.pop(inst.name, None)
        self._expiring.discard(inst.name)

    def delete(self, name: str, apikey: str | None) -> Reply:
        denied = self._guard(name, apikey)
        if denied:
            return denied
        inst = self.memory.pop(name, None)
        entry = self.persisted.get(name)
        if inst is not None:
            state = self.observed_state(inst)
            if state in ("open", "connecting"):
                inst.dialing = False  # delete logs the socket out itself (§3.7, §11.4)
            elif inst.dialing and self.unreachable(name):
                # caught `close` while dialing: the socket is orphaned (§6 case 2, §11.3)
                outcome = self.orphan_outcome or self._draw(DELETE_CLOSE_OUTCOMES)
                if outcome != "free":
                    self._orphan_socket(name, returns=outcome == "came_back")
                    return success("Instance deleted")
        elif entry is not None and entry.orphan:
            # a second delete: the dir is removed and the live orphan re-creates it, at once
            # or after a short free moment (§10, §11.3)
            outcome = self.orphan_outcome or self._draw(DELETE_CLOSE_OUTCOMES[1:])
            self._orphan_socket(name, returns=outcome == "came_back")
            return success("Instance deleted")
        if entry is not None:
            if self.cleanup_lag_ms > 0:
                self.persisted[name] = Persisted(record=False, expires_at=self.clock() + self.cleanup_lag_ms / 1000)
                self._expiring.add(name)
            else:
                del self.persisted[name]
        return success("Instance deleted")

    def _draw(self, outcomes: tuple[tuple[str, float], ...]) -> str:
        roll = self.dial_rng.random() * sum(share for _, share in outcomes)
        for outcome, share in outcomes:
            if roll < share:
                return outcome
            roll -= share
        return outcomes[-1][0]

    def set_presence(self, name: str, apikey: str | None, body: Any) -> Reply:
        denied = self._guard(name, apikey)
        if denied:
            return denied
        body = body if isinstance(body, dict) else {}
        if "presence" not in body:
            return validation_error(['instance requires property "presence"'])
        presence = body["presence"]
        if presence not in PRESENCES:
            errors = [] if isinstance(presence, str) else ["presence is not of a type(s) string"]
            return validation_error(errors + [f"presence is not one of enum values: {','.join(PRESENCES)}"])
        inst = self.memory.get(name)
        if inst is None:
            return envelope(500, "Cannot read properties of undefined (reading 'setPresence')")
        if self.observed_state(inst) == "close":
            return http_error(400, "TypeError: Cannot read properties of undefined (reading 'sendPresenceUpdate')")
        return Reply(201, EMPTY)

    def delete_database(self) -> Reply:
        return Reply(500, {"error": True, "message": "Database is not enabled"})
