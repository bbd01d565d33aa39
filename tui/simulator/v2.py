"""The v2 (2.3.x) personality of the simulator: `V2State`, one Evolution API v2 server.

Owns what v2 does differently from v1.8 (`v2-contract.md` §1-§3, recordings of a real 2.3.6 in
`tests/data/real-v2.3/`): the list is the database (`database.py`, rows of this server's
`clientName`; several servers may share one `Database`) while connectionState, connect,
`?instanceName=` and the metrics look at memory; a name is "in use" while it is in memory or has
a row of any clientName; the delete answers at once and the name stays held for a window
(the instance stays in memory for the first part of it, then only the row, then nothing:
`delete_window_ms` + `window_cost_ms` per flapping socket, crowded like v1.8's dial cost);
a row without a live instance (ghost row, another server's row) answers without `state`, is
destroyed by this server's DELETE; a deleted dialing instance leaves an orphan socket that
costs latency and never re-reserves the name; a restart loads every row of this clientName
and every Baileys row dials; zombies (dead socket in memory) per version: 2.3.6 deletes them,
2.3.7 answers 400 "Connection Closed", 2.4.0 deletes them again. Versions: `2.3.6` (recorded),
`2.3.7` (logout awaited: a zombie's delete fails), `2.4.0` (logout of a closed instance is a
200, deletes leave no orphan, a restart does not dial rows stored `close`, create trims names).

What is not recorded and so chosen here (said where it is done): restart of a live instance,
connect of a closed business/EVOLUTION instance, logout of a zombie on 2.3.7+, the create
validation texts, the webhook block of a create.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tui.evolution.dialect import Dialect
from tui.simulator import v2_shapes as shapes
from tui.simulator.database import COUNT_KEYS, Database, Row, now_iso
from tui.simulator.replies import (
    Reply,
    envelope,
    http_error,
    name_in_use,
    success,
    unauthorized,
    validation_error,
)
from tui.simulator.state import MISSING, NUMBER_PATTERN, NUMBER_PATTERN_TEXT, STATES, SimInstance, SimState

DEFAULT_VERSION = "2.3.6"
VERSIONS = ("2.3.6", "2.3.7", "2.4.0")
DEFAULT_CLIENT_NAME = "evolution"  # DATABASE_CONNECTION_CLIENT_NAME's default
BAILEYS, BUSINESS, EVOLUTION = "WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION"
INTEGRATIONS = (BAILEYS, BUSINESS, EVOLUTION)

# Recorded (tests/data/real-v2.3/): a flapping instance is `connecting` in 8-26 % of the
# probes; the name stays held after a 200 delete: quiet/open 0.06-0.12 s, longer with sockets
# flapping (1-3: up to 0.27 s, 4: 0.25-0.53 s, 10 deleted at once: 1.05-1.24 s); the probe
# shows the state for the first part of that (~10 ms quiet, up to ~0.1 s loaded).
DIAL_CONNECTING_SHARE_V2 = 0.2
DELETE_WINDOW_MS = (55.0, 115.0)
WINDOW_COST_MS = 45.0  # each flapping socket (live or orphan) makes the cleanup this much slower
WINDOW_INFLIGHT_DIVISOR = 6
MEMORY_SHARE = (0.03, 0.15)  # the part of the window the instance is still in memory
# Latency (latency.json and the samples): a request takes ~9 ms with 1 instance flapping,
# ~14 with 2, ~20 with 4, 22.7 with 10 (so ~ sqrt of the flapping ones), 90 ms with 10
# orphans (linear: an orphan costs `ORPHAN_COST_SHARE` x the dial cost each); 16 at once
# take ~6x one.
DIAL_COST_MS_V2 = 7.2
ORPHAN_COST_SHARE = 1.25
V2_INFLIGHT_DIVISOR = 3
# Connection attempts of a flapping socket (the server log's `Browser:` lines; recorded
# 12-41 per second): the simulator's log equivalent (`attempts`), approximate.
ATTEMPTS_PER_S = 15.0


def version_tuple(version: str) -> tuple[int, int, int]:
    """`2.4.0-rc2` -> (2, 4, 0); ValueError unless it is a 2.x.y version."""
    core = version.strip().lstrip("vV").split("-", 1)[0]
    parts = core.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts) or parts[0] != "2":
        raise ValueError(f"version must be a v2 version like 2.3.6, not {version!r}")
    return int(parts[0]), int(parts[1]), int(parts[2])


@dataclass
class V2Instance(SimInstance):
    """One instance in a v2 server's memory (`waInstances`)."""

    zombie: bool = False  # the socket died, the entry stays (state frozen)
    leaving_at: float | None = None  # deleted: leaves memory at this monotonic time
    dial_since: float = 0.0  # when its socket started dialing (connection attempts)

    @property
    def kind(self) -> str:
        return str(self.integration.get("integration") or BAILEYS)


def _window_option(value: Any) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value, value]
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
            or not 0 <= value[0] <= value[1]):
        raise ValueError("delete_window_ms must be a number >= 0 or [low, high] with 0 <= low <= high")
    return float(value[0]), float(value[1])


class V2State(SimState):
    """One Evolution API v2 server: its memory, its orphan sockets, a (shared) database."""

    dialect = Dialect.V2
    DEFAULT_CONNECTING_SHARE = DIAL_CONNECTING_SHARE_V2
    DEFAULT_DIAL_COST_MS = DIAL_COST_MS_V2
    CONNECT_WAIT = 0.4  # connect sleeps 2 s where create sleeps 5 s
    EXTRA_OPTIONS = ("delete_window_ms", "window_cost_ms")
    memory: dict[str, V2Instance]  # type: ignore[assignment]

    def __init__(
        self,
        api_key: str = "sim-global-key",
        *,
        seed: int | None = None,
        server_url: str = "http://127.0.0.1:8080",
        clock: Callable[[], float] | None = None,
        client_name: str = DEFAULT_CLIENT_NAME,
        version: str = DEFAULT_VERSION,
        database: Database | None = None,
        delete_window_ms: Any = DELETE_WINDOW_MS,
    ) -> None:
        if not isinstance(client_name, str) or not client_name:
            raise ValueError("client_name must be a non-empty string")
        self.version_info = version_tuple(version)
        if database is None:
            database = Database(clock) if clock is not None else Database()
        super().__init__(api_key, seed=seed, server_url=server_url, clock=database.clock)
        self.database = database
        self.client_name = client_name
        self.version = version
        self.server_id = uuid.uuid4().hex  # whose cleanups a restart of this server cancels
        self.base_delete_window_ms = _window_option(delete_window_ms)
        self.delete_window_ms = self.base_delete_window_ms
        self.window_cost_ms = WINDOW_COST_MS
        self.orphans: list[tuple[str, float]] = []  # (name, dialing since) of each orphan socket
        self.attempts_done: dict[str, float] = {}  # connection attempts of sockets gone

    # ------------------------------------------------------------------ version traits
    @property
    def awaits_logout(self) -> bool:
        """2.3.7+: the controller awaits `logoutInstance()` (a zombie's error surfaces)."""
        return self.version_info >= (2, 3, 7)

    @property
    def fixed(self) -> bool:
        """2.4.0+: zombies deletable, no orphan after delete, close rows not dialed at boot,
        idempotent logout, trimmed names."""
        return self.version_info >= (2, 4, 0)

    # ------------------------------------------------------------------ options
    def apply_options(self, options: dict[str, Any]) -> None:
        window = _window_option(options.get("delete_window_ms", self.delete_window_ms))
        cost = options.get("window_cost_ms", self.window_cost_ms)
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or cost < 0:
            raise ValueError("window_cost_ms must be a number >= 0")
        self.delete_window_ms, self.window_cost_ms = window, cost

    def options_view(self) -> dict[str, Any]:
        return {"delete_window_ms": list(self.delete_window_ms), "window_cost_ms": self.window_cost_ms}

    def clear_options(self) -> None:
        self.delete_window_ms = self.base_delete_window_ms
        self.window_cost_ms = WINDOW_COST_MS

    # ------------------------------------------------------------------ control
    def reset(self) -> None:
        """Empty server (its rows too, not another clientName's), defaults, RNGs re-seeded."""
        super().reset()
        self.database.cancel_deletes(self.server_id)
        self.database.clear(self.client_name)
        self.orphans.clear()
        self.attempts_done.clear()
        self.clear_options()

    def restart(self) -> None:
        """Process restart: memory, zombies and orphan sockets gone, unfinished delete
        cleanups never happen; every row of this clientName is loaded (recorded: even rows
        that were not in memory): Baileys rows dial (offline they flap; online a paired one
        is `open`, the others wait in `connecting`), business/EVOLUTION rows are `open`. The
        rows' `connectionStatus` is not touched (it never says `connecting`). 2.4.0: a
        Baileys row stored `close` is loaded quiet."""
        self._purge()
        self.database.cancel_deletes(self.server_id)
        now = self.clock()
        for inst in self.memory.values():
            self._socket_ended(inst, now)
        for name, since in self.orphans:
            self._count_attempts(name, since, now)
        self.orphans.clear()
        self.memory = {}
        for row in self.database.rows(self.client_name):
            inst = self._instance_of(row)
            self.memory[row.name] = inst
            if inst.kind != BAILEYS:
                inst.state = "open"
            elif self.fixed and row.connection_status == "close":
                inst.state = "close"
            elif self.unreachable(row.name):
                inst.state, inst.dialing, inst.dial_since = "close", True, now
            elif row.owner_jid:
                inst.state, inst.paired = "open", True
            else:
                inst.state, inst.dialing, inst.dial_since = "connecting", True, now
                self._new_qr(inst)

    def _instance_of(self, row: Row) -> V2Instance:
        integration: dict[str, Any] = {"integration": row.integration}
        if row.number:
            integration["number"] = row.number
        inst = V2Instance(name=row.name, instance_id=row.id, token=row.token, integration=integration)
        if row.owner_jid:
            inst.owner, inst.paired = row.owner_jid, True
            inst.profile_name = row.profile_name
            inst.profile_picture_url = row.profile_pic_url
        return inst

    def mark_zombies(self, names: list[str]) -> list[dict[str, Any]]:
        """The socket of each named instance dies; the entry stays in memory, its state
        frozen at what it shows now (it no longer flaps). Until a restart."""
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ValueError("body must be a JSON list of instance names")
        self._purge()
        missing = [n for n in names if n not in self.memory]
        if missing:
            raise ValueError(f"not in memory: {', '.join(missing)}")
        out = []
        for name in names:
            inst = self.memory[name]
            if not inst.zombie:
                inst.state = self.observed_state(inst)
                self._socket_ended(inst, self.clock())
                inst.dialing, inst.zombie = False, True
            out.append({"name": name, "state": inst.state, "zombie": True})
        return out

    # ------------------------------------------------------------------ sockets
    def _flapping(self, inst: V2Instance) -> bool:
        return inst.dialing and not inst.zombie and self.unreachable(inst.name)

    def _count_attempts(self, name: str, since: float, now: float) -> None:
        self.attempts_done[name] = self.attempts_done.get(name, 0.0) + max(0.0, now - since) * ATTEMPTS_PER_S

    def _socket_ended(self, inst: V2Instance, now: float) -> None:
        if self._flapping(inst) and inst.leaving_at is None:
            self._count_attempts(inst.name, inst.dial_since, now)

    def attempts(self) -> dict[str, int]:
        """Connection attempts per name so far (live flapping instances and orphans): what
        the real server's log shows of sockets nobody can reach."""
        self._purge()
        now = self.clock()
        totals = dict(self.attempts_done)
        running = [(i.name, i.dial_since) for i in self.memory.values()
                   if self._flapping(i) and i.leaving_at is None] + self.orphans
        for name, since in running:
            totals[name] = totals.get(name, 0.0) + max(0.0, now - since) * ATTEMPTS_PER_S
        return {name: int(count) for name, count in sorted(totals.items())}

    def dialing_sockets(self) -> int:
        self._purge()
        return self._live_flapping() + len(self.orphans)

    def _live_flapping(self) -> int:
        return sum(1 for i in self.memory.values() if self._flapping(i) and i.leaving_at is None)

    def socket_delay_ms(self, dial_cost_ms: float, inflight: int) -> float:
        """~sqrt of the flapping instances, linear in the orphans (see DIAL_COST_MS_V2)."""
        if not dial_cost_ms:
            return 0.0
        self._purge()
        load = math.sqrt(self._live_flapping()) + ORPHAN_COST_SHARE * len(self.orphans)
        if not load:
            return 0.0
        return dial_cost_ms * load * (1 + (inflight - 1) / V2_INFLIGHT_DIVISOR)

    def start_dialing(self, inst: SimInstance, number: str | None = None) -> None:
        """A socket starts (create with qrcode, connect): online a QR in `connecting`,
        offline it flaps."""
        assert isinstance(inst, V2Instance)
        inst.dialing, inst.zombie = True, False
        inst.dial_since = self.clock()
        if self.unreachable(inst.name):
            inst.state, inst.qrcode = "close", {"count": 0}
        else:
            inst.state = "connecting"
            self._new_qr(inst, number)

    def set_reconnect_loop(self, names: set[str]) -> None:
        """WhatsApp unreachable for `names`: their open or dialing Baileys instances flap."""
        self.reconnect_loop = set(names)
        self.reachability_changed()
        for name in names:
            inst = self.memory.get(name)
            if (inst is not None and inst.kind == BAILEYS and not inst.zombie and inst.leaving_at is None
                    and (inst.dialing or inst.state == "open")):
                if not inst.dialing:
                    inst.dial_since = self.clock()
                inst.state, inst.dialing, inst.qrcode = "close", True, None

    # ------------------------------------------------------------------ names
    def _purge(self) -> None:
        """Instances whose delete has run long enough leave memory."""
        now = self.clock()
        for name in [n for n, i in self.memory.items() if i.leaving_at is not None and i.leaving_at <= now]:
            del self.memory[name]

    def known(self, name: str) -> bool:
        """The guards' `getInstance`: in memory or a row of any clientName."""
        self._purge()
        return name in self.memory or self.database.get(name) is not None

    def authorized(self, apikey: str | None, name: str | None = None) -> bool:
        """The global key anywhere; an instance token on a route naming a row with it."""
        if not apikey:
            return False
        if apikey == self.api_key:
            return True
        if name is None:
            return False
        row = self.database.get(name)
        return row is not None and row.token == apikey

    def _window_s(self) -> float:
        low, high = self.delete_window_ms
        sockets = self._live_flapping() + len(self.orphans)
        crowd = 1 + (max(1, self.inflight) - 1) / WINDOW_INFLIGHT_DIVISOR
        ms = self.dial_rng.uniform(low, high) + self.window_cost_ms * sockets * crowd + self.cleanup_lag_ms
        return ms / 1000

    # ------------------------------------------------------------------ routes
    def root(self) -> Reply:
        return Reply(200, shapes.root_body(self.version, self.client_name, self.server_url))

    def extra_route(self, key: str, apikey: str | None) -> Reply:
        if key == "verifyCreds":
            if apikey != self.api_key:
                return unauthorized()
            return Reply(200, {"status": 200, "message": "Credentials are valid"})
        if key == "metrics":
            self._purge()
            return shapes.metrics_text(self.version, self.client_name, self.server_url,
                                       [(i.name, i.kind, self.observed_state(i)) for i in self.memory.values()])
        raise KeyError(key)

    def create(self, body: Any, apikey: str | None) -> tuple[Reply, bool]:
        """POST /instance/create: 403 if the name is held, 401, validation, then nothing is
        left behind on an error (v2 rolls back)."""
        body = body if isinstance(body, dict) else {}
        name = body.get("instanceName", MISSING)
        if isinstance(name, str) and self.fixed:
            name = name.strip()
        if isinstance(name, str) and name:
            if self.known(name):
                return name_in_use(name), False
        if not self.authorized(apikey):
            return unauthorized(), False
        errors = []
        if name is MISSING:
            errors.append('instance requires property "instanceName"')
        elif not isinstance(name, str):
            errors.append("instanceName is not of a type(s) string")
        elif not name:
            errors.append("instanceName does not meet minimum length of 1")
        if "qrcode" in body and not isinstance(body["qrcode"], bool):
            errors.append("qrcode is not of a type(s) boolean")
        if "number" in body and body["number"] is not None:
            number = body["number"]
            if not isinstance(number, str):
                errors.append("number is not of a type(s) string")
            elif not NUMBER_PATTERN.match(number):
                errors.append(f"number does not match pattern {NUMBER_PATTERN_TEXT}")
        if errors:
            return validation_error(errors), False
        assert isinstance(name, str)
        integration = body.get("integration")
        if integration not in INTEGRATIONS:
            return http_error(400, "Invalid integration"), False
        number = body.get("number") if isinstance(body.get("number"), str) and body.get("number") else None
        if integration == BUSINESS and number is None:
            return http_error(400, "number is required"), False

        token = body.get("token") if isinstance(body.get("token"), str) and body.get("token") else self._token()
        record: dict[str, Any] = {"integration": integration}
        if number:
            record["number"] = number
        inst = V2Instance(name=name, instance_id=self._uuid(), token=token, integration=record)
        assert inst.instance_id is not None
        if integration != BAILEYS:  # no WhatsApp socket: open at once, never dials
            inst.state = "open"
        made_qr = body.get("qrcode") is True and integration == BAILEYS
        if made_qr:
            self.start_dialing(inst, number)
        created = now_iso()
        business_id = body.get("businessId")
        row = Row(id=inst.instance_id, name=name, connection_status="open" if inst.state == "open" else "close",
                  integration=integration, token=token, client_name=self.client_name, number=number,
                  business_id=business_id if isinstance(business_id, str) and business_id else None,
                  created_at=created,
                  setting={"id": self._uuid(), **shapes.settings(body), "createdAt": created,
                           "updatedAt": created, "instanceId": inst.instance_id})
        with self.database.locked():
            if self.database.get(name) is not None:  # another server took it meanwhile
                return name_in_use(name), False
            self.database.insert(row)
        self.memory[name] = inst
        out = shapes.created_body(body, name=name, instance_id=inst.instance_id, integration=integration,
                                  token=token, status=inst.state, server_url=self.server_url)
        if made_qr:
            out["qrcode"] = dict(inst.qrcode or {"count": 0})
        return Reply(201, out), made_qr

    def connect(self, name: str, apikey: str | None, number: str | None = None) -> Reply:
        denied = self._guard(name, apikey)
        if denied:
            return denied
        inst = self.memory.get(name)
        if inst is None:
            return Reply(200, dict(shapes.OBJECT_OBJECT))
        if inst.kind != BAILEYS:
            # not recorded: a business/EVOLUTION instance has no socket to dial; it is open again
            if inst.state != "open" and inst.leaving_at is None:
                inst.state = "open"
                row = self.database.get(name)
                if row is not None:
                    row.set_status("open")
            return Reply(200, self._state_body(name, inst.state))
        return super().connect(name, apikey, number)

    def restart_instance(self, name: str, apikey: str | None) -> Reply:
        """POST /instance/restart: no live instance -> `[object Object]` (recorded). Not
        recorded, chosen: a closed one the same (its "not connected" error object), a live
        one answers its state and goes on as it was."""
        denied = self._guard(name, apikey)
        if denied:
            return denied
        inst = self.memory.get(name)
        if inst is None:
            return Reply(200, dict(shapes.OBJECT_OBJECT))
        state = self.observed_state(inst)
        if state == "close":
            return Reply(200, dict(shapes.OBJECT_OBJECT))
        return Reply(200, self._state_body(name, state))

    def fetch_instances(self, apikey: str | None, query: dict[str, str] | None = None) -> Reply:
        """The database rows of this clientName; a name asked must be in memory (404).
        An instance token: the rows sharing it (any clientName) name the instances asked."""
        if not apikey:
            return unauthorized()
        query = query or {}
        self._purge()
        if apikey != self.api_key:
            rows = [r for r in self.database.by_token(apikey)
                    if (not query.get("instanceName") or r.name == query["instanceName"])
                    and (not query.get("instanceId") or r.id == query["instanceId"])]
            if not rows:
                return unauthorized()
            return self._info([r.name for r in rows])
        for key in ("instanceId", "number"):
            value = query.get(key)
            if value:
                found = next((r for r in self.database.rows()
                              if (r.id if key == "instanceId" else r.number) == value), None)
                if found is None:
                    return http_error(404, f'Instance "{value}" not found')
                return self._info([found.name])
        name = query.get("instanceName")
        return self._info([name] if name else None)

    def _info(self, names: list[str] | None) -> Reply:
        if names:
            missing = [n for n in dict.fromkeys(names) if n not in self.memory]
            if missing:
                plural = "s" if len(missing) > 1 else ""
                return http_error(404, f'Instance{plural} "{", ".join(missing)}" not found')
        rows = self.database.rows(self.client_name)
        if names:
            rows = [r for r in rows if r.name in names]
        return Reply(200, [r.api() for r in rows])

    def logout(self, name: str, apikey: str | None) -> Reply:
        denied = self._guard(name, apikey)
        if denied:
            return denied
        inst = self.memory.get(name)
        if inst is None:  # a row without a live instance: nothing to log out, yet a 200
            return success("Instance logged out")
        if self.observed_state(inst) == "close":
            if self.fixed:
                return success("Instance was already disconnected")
            return http_error(400, f'The "{name}" instance is not connected')
        if inst.zombie:
            if self.awaits_logout:  # not recorded: the dead socket's error as a 500
                return envelope(500, ["Error: Connection Closed"])
            return success("Instance logged out")  # 2.3.6 does not await it: fails unseen
        self._logged_out(inst)
        return success("Instance logged out")

    def _logged_out(self, inst: SimInstance) -> None:
        """logoutInstance: a business/EVOLUTION or a connected/QR-waiting Baileys instance is
        `close` for good; a flapping socket reconnects regardless (recorded on 2.3.6: the 200
        does not stop the dialing)."""
        assert isinstance(inst, V2Instance)
        if self._flapping(inst):
            return
        inst.state, inst.qrcode, inst.dialing, inst.paired = "close", None, False, False
        inst.owner = MISSING
        row = self.database.get(inst.name)
        if row is not None:
            row.set_status("close")
            row.owner_jid = None

    def delete(self, name: str, apikey: str | None) -> Reply:
        """200 at once; the instance leaves memory a moment later and the row (by name,
        whichever clientName's it is) at the end of the window. A flapping socket becomes an
        orphan (not on 2.4.0). 2.3.7: a zombie that is not `close` -> 400 every time."""
        denied = self._guard(name, apikey)
        if denied:
            return denied
        now = self.clock()
        window = self._window_s()
        inst = self.memory.get(name)
        if inst is not None:
            if inst.leaving_at is not None:
                return success("Instance deleted")  # its cleanup runs already
            state = self.observed_state(inst)
            if state in ("open", "connecting"):
                if inst.zombie:
                    if self.awaits_logout and not self.fixed:
                        return http_error(400, "Connection Closed")
                else:
                    self._logged_out(inst)
            if self._flapping(inst):
                if self.fixed:  # isDeleting: no reconnect during the delete
                    self._count_attempts(name, inst.dial_since, now)
                else:
                    self.orphans.append((name, inst.dial_since))
            low, high = MEMORY_SHARE
            inst.leaving_at = now + window * self.dial_rng.uniform(low, high)
        with self.database.locked():
            row = self.database.get(name)
            if row is not None:
                row.set_status("close")
                self.database.schedule_delete(name, now + window, self.server_id)
        return success("Instance deleted")

    # ------------------------------------------------------------------ seeding, dump
    def seed_instances(self, specs: list[dict]) -> list[dict]:
        """Seed rows and instances. Per spec: `name`, `state` (close/connecting/open),
        `token`, `instanceId`, `dialing`, `owner`, `profileName`, `profilePictureUrl`, `number`
        and the v2 fields `integration` (default Baileys), `client_name` (default this
        server's; another one's row is never live here), `live` (false: a database row only,
        `state` is then its stored connectionStatus; `ghost: true` says the same), `zombie`,
        `messages`/`contacts`/`chats` (the row's `_count`)."""
        prepared = [self._check_spec(spec) for spec in specs]
        out = []
        for spec, live, client, integration in prepared:
            out.append(self._seed_one(spec, live, client, integration))
        return out

    def _check_spec(self, spec: Any) -> tuple[dict, bool, str, str]:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec["name"]:
            raise ValueError("every seeded instance needs a non-empty string 'name'")
        name = spec["name"]
        if spec.get("state", "close") not in STATES:
            raise ValueError(f"state of {name!r} must be one of {', '.join(STATES)}")
        client = spec.get("client_name", self.client_name)
        if not isinstance(client, str) or not client:
            raise ValueError(f"client_name of {name!r} must be a non-empty string")
        live = spec.get("live", not spec.get("ghost", False))
        if not isinstance(live, bool):
            raise ValueError(f"live of {name!r} must be true or false")
        if live and client != self.client_name:
            raise ValueError(f"{name!r}: a row of another clientName is never live on this server")
        integration = spec.get("integration", BAILEYS)
        if integration not in INTEGRATIONS:
            raise ValueError(f"integration of {name!r} must be one of {', '.join(INTEGRATIONS)}")
        if spec.get("zombie") and not live:
            raise ValueError(f"{name!r}: only a live instance can be a zombie")
        for key in ("messages", "contacts", "chats"):
            value = spec.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{key} of {name!r} must be an integer >= 0")
        return spec, live, client, integration

    def _seed_one(self, spec: dict, live: bool, client: str, integration: str) -> dict:
        name, state = spec["name"], spec.get("state", "close")
        self.memory.pop(name, None)
        instance_id = spec.get("instanceId") or self._uuid()
        token = spec.get("token") or self._token()
        number = spec.get("number") if isinstance(spec.get("number"), str) else None
        if live and integration != BAILEYS and "state" not in spec:
            state = "open"
        row_status = state if not live else ("open" if state == "open" else "close")
        row = Row(id=instance_id, name=name, connection_status=row_status, integration=integration,
                  token=token, client_name=client, number=number,
                  counts={"Message": spec.get("messages", 0), "Contact": spec.get("contacts", 0),
                          "Chat": spec.get("chats", 0)})
        if state == "open" and integration == BAILEYS:
            row.owner_jid = spec.get("owner") or f"55119{self.rng.randrange(10**7, 10**8)}@s.whatsapp.net"
            row.profile_name = spec.get("profileName")
            row.profile_pic_url = spec.get("profilePictureUrl")
        if live:
            created = row.created_at
            row.setting = {"id": self._uuid(), **shapes.SETTING_DEFAULTS, "createdAt": created,
                           "updatedAt": created, "instanceId": instance_id}
        self.database.put(row)
        result = {"name": name, "instanceId": instance_id, "token": token, "state": state,
                  "live": live, "client_name": client, "ghost": not live}
        if not live:
            return result
        inst = self._instance_of(row)
        inst.state = state
        if integration == BAILEYS:
            if spec.get("dialing") and state != "open":
                self.start_dialing(inst)
            elif state == "connecting":
                inst.dialing, inst.dial_since = True, self.clock()
                self._new_qr(inst)
        self.memory[name] = inst
        if spec.get("zombie"):
            self.mark_zombies([name])
        return result

    def dump(self) -> dict:
        """Debug view: this server's memory, every row of the database, orphan sockets."""
        self._purge()
        now = self.clock()
        rows = self.database.rows()
        instances = []
        for inst in self.memory.values():
            instances.append({
                "name": inst.name, "state": inst.state, "instanceId": inst.instance_id, "token": inst.token,
                "integration": inst.kind, "dialing": inst.dialing, "zombie": inst.zombie,
                "leaves_memory_in_ms": (None if inst.leaving_at is None
                                        else round(max(0.0, inst.leaving_at - now) * 1000, 1)),
            })
        return {
            "dialect": str(self.dialect), "version": self.version, "client_name": self.client_name,
            "instances": instances,
            "rows": [{"name": r.name, "client_name": r.client_name, "connectionStatus": r.connection_status,
                      "integration": r.integration, "in_memory": r.name in self.memory,
                      "_count": {k: r.counts.get(k, 0) for k in COUNT_KEYS},
                      "deleted_in_ms": (None if r.delete_at is None
                                        else round(max(0.0, r.delete_at - now) * 1000, 1))}
                     for r in rows],
            "reserved": [r.name for r in rows if r.name not in self.memory],
            "orphan_sockets": sorted(name for name, _ in self.orphans),
            "attempts": self.attempts(),
            "cleanup_lag_ms": self.cleanup_lag_ms,
            "reconnect_loop": sorted(self.reconnect_loop),
            "offline": self.offline,
            **self.options_view(),
        }
