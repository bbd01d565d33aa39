"""The simulator's HTTP server: an aiohttp app that speaks Evolution API v1.8 (or v2) on loopback.

Owns: the route table of the `/instance` API (Express-like matching: case-insensitive,
optional trailing slash, 404 `Cannot <METHOD> <path>` otherwise), the response headers
(`application/json; charset=utf-8`, `X-Powered-By: Express`), fault injection and stats around
each request, the `Simulator` (async start/stop in the caller's loop) and the
`ThreadedSimulator` (same server in a daemon thread with its own loop, for sync callers).
The route logic itself lives in `state.py`, the `/_sim/` control API in `control.py`.
`dialect="v2"` gives the server the v2 personality: `v2.py` (`V2State`, the route logic),
`v2_shapes.py` (its route table and bodies), `database.py` (the table several v2 servers may
share); this module only picks them.

With a `state_file` the world outlives the process (`persist.py`): it is loaded at start
and written before the answer of every request that changes it (a client that was told
"deleted" finds it deleted in the next run, even if this process is killed next), and at
stop.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from tui.evolution.dialect import Dialect
from tui.secrets import mask_token
from tui.simulator import control
from tui.simulator.database import Database
from tui.simulator.persist import read_state, save_state
from tui.simulator.faults import (
    ERROR,
    MALFORMED,
    MALFORMED_BODY,
    ROUTE_KEYS,
    STATE_OPTIONS,
    TIMEOUT,
    Faults,
    Stats,
)
from tui.simulator.replies import Reply, cannot, envelope
from tui.simulator.state import (
    DELETE_CLOSE_OUTCOMES,
    DIAL_COST_MS,
    DIAL_INFLIGHT_DIVISOR,
    QR_ROTATE_S,
    SimState,
)
from tui.simulator.v2 import V2State
from tui.simulator.v2_shapes import ROUTE_KEYS_V2, ROUTES_V2

ORPHAN_OUTCOMES = tuple(outcome for outcome, _ in DELETE_CLOSE_OUTCOMES)

_NAME = r"/([^/]+)/?$"
ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(pattern, re.IGNORECASE), key)
    for method, pattern, key in (
        ("GET", r"^/$", "root"),
        ("POST", r"^/instance/create/?$", "create"),
        ("GET", r"^/instance/connect" + _NAME, "connect"),
        ("GET", r"^/instance/connectionState" + _NAME, "connectionState"),
        ("GET", r"^/instance/fetchInstances/?$", "fetchInstances"),
        ("PUT", r"^/instance/restart" + _NAME, "restart"),
        ("DELETE", r"^/instance/logout" + _NAME, "logout"),
        ("DELETE", r"^/instance/delete" + _NAME, "delete"),
        ("POST", r"^/instance/setPresence" + _NAME, "setPresence"),
        ("DELETE", r"^/instance/deleteDatabase/?$", "deleteDatabase"),
    )
]
BASE_HEADERS = {"X-Powered-By": "Express", "Access-Control-Allow-Credentials": "true"}
__all__ = ["DIAL_COST_MS", "DIAL_INFLIGHT_DIVISOR", "Simulator", "ThreadedSimulator", "match_route"]
V2_ONLY_OPTIONS = ("client_name", "version", "database", "delete_window_ms")
JSON_TYPE = "application/json; charset=utf-8"
# the routes that may change the world (a `state_file` is written before they answer)
CHANGING_ROUTES = frozenset({"create", "connect", "restart", "logout", "delete", "setPresence",
                             "deleteDatabase"})


def match_route(method: str, raw_path: str,
                routes: list[tuple[str, re.Pattern[str], str]] = ROUTES) -> tuple[str | None, str | None]:
    """(route key, decoded instance name) of a request, (None, None) when nothing matches."""
    method = "GET" if method == "HEAD" else method
    for route_method, pattern, key in routes:
        if route_method == method:
            found = pattern.match(raw_path)
            if found:
                return key, unquote(found.group(1)) if found.groups() else None
    return None, None


def dialect_of(value: Dialect | str) -> Dialect:
    """`Dialect.V2` / "v2" -> Dialect.V2; ValueError naming the valid ones otherwise."""
    try:
        return Dialect(value)
    except ValueError:
        choices = ", ".join(d.value for d in Dialect)
        raise ValueError(f"dialect must be one of {choices}, not {value!r}") from None


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Simulator:
    """Evolution API simulator on a real TCP port: v1.8 (files mode, apikey auth) by default,
    v2 with `dialect="v2"` (options `client_name`, `version`, `database` (share one with
    another v2 simulator), `delete_window_ms`; all four are v2's only)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = "sim-global-key",
        latency_ms: float = 0,
        seed: int | None = None,
        *,
        qr_delay_ms: float = 0,
        server_url: str | None = None,
        offline: bool = False,
        dial_cost_ms: float | None = None,
        state_file: str | Path | None = None,
        dialect: Dialect | str = Dialect.V1_8,
        **v2_options: Any,
    ) -> None:
        self.host = host
        self.public_url = server_url  # SERVER_URL as the server reports it; default: bind URL
        self.port = port
        self.seed = seed
        self.base_latency_ms = latency_ms
        self.qr_delay_ms = qr_delay_ms
        self.dialect = dialect_of(dialect)
        unknown = sorted(set(v2_options) - set(V2_ONLY_OPTIONS))
        if unknown:
            raise TypeError(f"unknown simulator option(s): {', '.join(unknown)}")
        self.state: SimState
        if self.dialect is Dialect.V2:
            self.state = V2State(api_key, seed=seed, **{k: v for k, v in v2_options.items() if v is not None})
            self.routes, self.route_keys = ROUTES_V2, ROUTE_KEYS_V2
        else:
            given = sorted(k for k, v in v2_options.items() if v is not None)
            if given:
                raise ValueError(f"{', '.join(given)}: only with dialect v2")
            self.state = SimState(api_key, seed=seed)
            self.routes, self.route_keys = ROUTES, ROUTE_KEYS
        if dial_cost_ms is None:
            dial_cost_ms = self.state.DEFAULT_DIAL_COST_MS
        self.base_offline = offline
        self.state.offline = offline
        self.base_dial_cost_ms = dial_cost_ms
        self.dial_cost_ms = dial_cost_ms
        self._inflight = 0
        self.faults = Faults(latency_ms=latency_ms)
        self.stats = Stats()
        self._fault_rng = random.Random(None if seed is None else f"faults-{seed}")
        self._wake: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.state_file = Path(state_file) if state_file is not None else None
        # False: a new world (no state file yet); raises StateFileError on a broken one
        self.restored = self.state_file is not None and read_state(self.state, self.state_file)

    def save(self) -> None:
        """Write the world to `state_file` (no-op without one)."""
        if self.state_file is not None:
            save_state(self.state, self.state_file)

    @property
    def api_key(self) -> str:
        return self.state.api_key

    @property
    def database(self) -> Database | None:
        """The v2 database (give it to another v2 simulator to share it); None on v1.8."""
        return self.state.database if isinstance(self.state, V2State) else None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else ("[::1]" if self.host == "::" else self.host)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        self._wake = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = _bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self.state.server_url = self.public_url or self.url

    async def stop(self) -> None:
        self._wake_hung()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.save()

    # ------------------------------------------------------------------ control (in loop)
    def reset(self) -> None:
        """Clear instances, faults and stats; original api key; RNGs re-seeded."""
        self._wake_hung()
        self.state.reset()
        self.state.offline = self.base_offline
        self.dial_cost_ms = self.base_dial_cost_ms
        self.faults = Faults(latency_ms=self.base_latency_ms)
        self.stats = Stats()
        self._fault_rng = random.Random(None if self.seed is None else f"faults-{self.seed}")

    def restart(self) -> list[str]:
        """Simulated Evolution process restart; returns the names loaded back."""
        self._wake_hung()
        self.state.restart()
        return list(self.state.memory)

    def set_faults(self, options: dict[str, Any]) -> dict[str, Any]:
        """Merge fault options (validated first: nothing changes on error); `{}` clears all."""
        if not isinstance(options, dict):
            raise ValueError("faults body must be a JSON object")
        if not options:
            self.faults = Faults(latency_ms=self.base_latency_ms)
            self.state.cleanup_lag_ms = 0
            self.state.reconnect_loop = set()
            self.state.offline = self.base_offline
            self.state.reachability_changed()
            self.state.connecting_share = self.state.DEFAULT_CONNECTING_SHARE
            self.state.orphan_outcome = None
            self.state.clear_options()
            self.state.qr_rotate_s = QR_ROTATE_S
            self.dial_cost_ms = self.base_dial_cost_ms
            self.state.api_key = self.state.initial_api_key
            return self.faults_view()
        candidate = Faults(**self.faults.as_dict())
        candidate.merge({k: v for k, v in options.items()
                         if k not in STATE_OPTIONS and k not in self.state.EXTRA_OPTIONS}, self.route_keys)
        lag = options.get("cleanup_lag_ms", self.state.cleanup_lag_ms)
        if isinstance(lag, bool) or not isinstance(lag, (int, float)) or lag < 0:
            raise ValueError("cleanup_lag_ms must be a number >= 0")
        loop = options.get("reconnect_loop", sorted(self.state.reconnect_loop))
        if not isinstance(loop, list) or not all(isinstance(n, str) for n in loop):
            raise ValueError("reconnect_loop must be a list of instance names")
        key = options.get("api_key", self.state.api_key)
        if not isinstance(key, str) or not key:
            raise ValueError("api_key must be a non-empty string")
        offline = options.get("offline", self.state.offline)
        if not isinstance(offline, bool):
            raise ValueError("offline must be true or false")
        cost = options.get("dial_cost_ms", self.dial_cost_ms)
        if isinstance(cost, bool) or not isinstance(cost, (int, float)) or cost < 0:
            raise ValueError("dial_cost_ms must be a number >= 0")
        rotate = options.get("qr_rotate_s", self.state.qr_rotate_s)
        if isinstance(rotate, bool) or not isinstance(rotate, (int, float)) or rotate < 0:
            raise ValueError("qr_rotate_s must be a number >= 0 (0: never)")
        share = options.get("connecting_share", self.state.connecting_share)
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise ValueError("connecting_share must be a number between 0 and 1")
        outcome = options.get("orphan_outcome", self.state.orphan_outcome)
        if outcome not in (None, *ORPHAN_OUTCOMES):
            raise ValueError(f"orphan_outcome must be null or one of {', '.join(ORPHAN_OUTCOMES)}")
        self.state.apply_options(options)  # validated (ValueError) and applied, or nothing
        self.faults = candidate
        self.state.connecting_share, self.state.orphan_outcome = share, outcome
        self.state.qr_rotate_s = rotate
        self.state.cleanup_lag_ms, self.state.api_key = lag, key
        self.state.offline, self.dial_cost_ms = offline, cost
        self.state.set_reconnect_loop(set(loop))
        return self.faults_view()

    def faults_view(self) -> dict[str, Any]:
        view = self.faults.as_dict()
        view.update(
            cleanup_lag_ms=self.state.cleanup_lag_ms,
            reconnect_loop=sorted(self.state.reconnect_loop),
            offline=self.state.offline,
            dial_cost_ms=self.dial_cost_ms,
            connecting_share=self.state.connecting_share,
            qr_rotate_s=self.state.qr_rotate_s,
            orphan_outcome=self.state.orphan_outcome,
            api_key=mask_token(self.state.api_key),
            **self.state.options_view(),
        )
        return view

    def _wake_hung(self) -> None:
        if self._wake is not None:
            self._wake.set()
            self._wake = asyncio.Event()

    # ------------------------------------------------------------------ HTTP
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_path = request.rel_url.raw_path
        if raw_path == "/_sim" or raw_path.startswith("/_sim/"):
            answer = await control.handle(self, request)
            if request.method != "GET":
                self.save()
            return answer
        key, name = match_route(request.method, raw_path, self.routes)
        self.stats.count(key or "other")
        self._inflight += 1
        self.state.inflight = self._inflight
        try:
            response = await self._serve(request, key, name, raw_path)
            if key in CHANGING_ROUTES:
                self.save()  # before the client reads the answer
            return response
        finally:
            self._inflight -= 1
            self.state.inflight = max(1, self._inflight)

    def dial_delay_s(self) -> float:
        """The slowness that flapping sockets cost this request (see DIAL_COST_MS)."""
        return self.state.socket_delay_ms(self.dial_cost_ms, self._inflight) / 1000

    async def _serve(self, request: web.Request, key: str | None, name: str | None,
                     raw_path: str) -> web.StreamResponse:
        delay = self.faults.latency_ms / 1000 + self.dial_delay_s()
        if delay:
            await asyncio.sleep(delay)
        fault = self.faults.draw(key or "other", self._fault_rng)
        if fault == TIMEOUT:
            if await self._hang(self.faults.hang_s):
                return self._send(envelope(503, ["simulated fault: server restarted"]))
        elif fault == ERROR:
            return self._send(envelope(self.faults.error_status, ["simulated fault"]))
        elif fault == MALFORMED:
            self.stats.bytes_out += len(MALFORMED_BODY)
            return web.Response(status=200, body=MALFORMED_BODY, content_type="text/html", headers=BASE_HEADERS)
        reply = await self._dispatch(request, key, name, raw_path)
        return self._send(reply)

    async def _hang(self, seconds: float) -> bool:
        """Wait `seconds`; True if woken early by a reset/restart/stop."""
        wake = self._wake
        assert wake is not None
        try:
            await asyncio.wait_for(wake.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return False
        return True

    async def _dispatch(self, request: web.Request, key: str | None, name: str | None, raw_path: str) -> Reply:
        st = self.state
        apikey = request.headers.get("apikey")
        if key is None:
            return cannot(request.method, raw_path)
        if key == "root":
            return st.root()
        if key in ("verifyCreds", "metrics"):
            return st.extra_route(key, apikey)
        if key == "deleteDatabase":
            return st.delete_database()
        if key == "fetchInstances":
            return st.fetch_instances(apikey, dict(request.query))
        if key == "create":
            reply, made_qr = st.create(await _json_body(request), apikey)
            if made_qr and self.qr_delay_ms:
                await asyncio.sleep(self.qr_delay_ms / 1000)
            return reply
        assert name is not None  # every remaining route's pattern captures the name (`_NAME`)
        if key == "connect":
            reply = st.connect(name, apikey, request.query.get("number"))
            if self.qr_delay_ms and isinstance(reply.body, dict) and "count" in reply.body:
                await asyncio.sleep(self.qr_delay_ms * st.CONNECT_WAIT / 1000)
            return reply
        if key == "connectionState":
            return st.connection_state(name, apikey)
        if key == "restart":
            return st.restart_instance(name, apikey)
        if key == "logout":
            return st.logout(name, apikey)
        if key == "delete":
            return st.delete(name, apikey)
        return st.set_presence(name, apikey, await _json_body(request))

    def _send(self, reply: Reply) -> web.Response:
        body = reply.encode()
        self.stats.bytes_out += len(body)
        if reply.empty:
            return web.Response(status=reply.status, headers=BASE_HEADERS)
        content_type = reply.content_type or JSON_TYPE
        return web.Response(status=reply.status, body=body, headers={**BASE_HEADERS, "Content-Type": content_type})


async def _json_body(request: web.Request) -> Any:
    """Express' json parser: only `application/json` bodies are parsed, else `{}`."""
    raw = await request.read()
    if not raw or "json" not in request.content_type:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        return {}


class ThreadedSimulator:
    """A `Simulator` running in a daemon thread with its own event loop (for sync callers)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = "sim-global-key",
                 latency_ms: float = 0, seed: int | None = None, **kwargs: Any) -> None:
        self.simulator = Simulator(host, port, api_key, latency_ms, seed, **kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return self.simulator.url

    @property
    def api_key(self) -> str:
        return self.simulator.api_key

    @property
    def state(self) -> SimState:
        return self.simulator.state

    @property
    def database(self) -> Database | None:
        return self.simulator.database

    def start(self, timeout: float = 10) -> "ThreadedSimulator":
        """Start the thread and block until the server listens; returns self."""
        self._thread = threading.Thread(target=self._run, name="evodash-simulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("simulator did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.simulator.start())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._loop = loop
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.simulator.stop())
            loop.close()

    def stop(self, timeout: float = 10) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)

    def __enter__(self) -> "ThreadedSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
