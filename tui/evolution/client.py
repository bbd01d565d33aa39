"""Async client of the Evolution API `/instance` routes, v1.8 and v2 alike (contracts:
shared/evolution-api/v1.8-contract.md, v2-contract.md).

One `EvolutionClient` per server: a pooled `httpx.AsyncClient` with the `apikey` header, typed
errors (`tui.evolution.errors`), bodies normalised into `tui.evolution.models`.

Dialects: what differs between v1.8 and v2 (routes, bodies, shapes, the removal profile) is
the dialect's `Wire` (`v18/`, `v2/`). The dialect is the `dialect` argument (the setting
`evolution.dialect`), or detected at the first call that needs it (`detect.py`: `GET /`'s
version, then `/verify-creds`, then the list's shape) and cached; an answer with the other
dialect's shape makes the client detect again and ask again (`profile()` says which one it
talks to).

Names: every instance name goes into the URL percent-encoded with `quote(name, safe="")`
(plus `.`/`..` as `%2E`, so no dot-segment is ever normalised away); httpx keeps valid
`%XX` escapes as they are, so the server receives exactly those bytes. Names are case-sensitive
and never stripped. An empty name is a programming error (`ValueError`): `/instance/x/` would
hit another route and `instanceName=` lists every instance.

Timeouts: `timeout_s` bounds every httpx phase (connect, write, each read) and also the whole
request (send + reading the body), so a server dripping bytes cannot hold a call forever.

Retry policy (full-jitter exponential backoff: sleep ~ U(0, min(backoff_max_s,
backoff_base_s * 2**n)); at most `retries` retries, i.e. `retries + 1` attempts):

* transient = timeout, connection error, 5xx, 429; 4xx are never retried;
* 429 honours `Retry-After` (seconds or HTTP date), capped at `backoff_max_s`;
* `create` is not idempotent: it is retried only when the request surely did not reach the
  server (connect refused / connect or pool timeout) or on 429. After a read timeout, a reset
  connection or a 5xx it is *not* retried -- the instance may exist now, and a retry would get
  403 "already in use" for our own instance. The caller sees the transient error and should
  `probe(name)` to find out what happened;
* `GET /` is not retried after a timeout (v2's is slow every time when the server's egress
  is poor; detection asks its next oracle);
* `delete`/`logout`/`restart`/`connect` and reads are retried. A retried delete whose first
  attempt did reach the server may end in `NotFoundError` (the name is gone); a retried logout
  may end in `NotConnectedError`. They are raised as is -- the caller decides -- and every
  raised error carries `attempts` (how many requests were made) so it can tell.

Stats: `client.stats` counts requests, bytes in/out, retries and failed attempts;
`on_request` (optional callable) receives a `RequestEvent` after every attempt.

Types: a body comes back from `_call` as a `parse.JSONValue` and is turned into a model by a
`parse` function through `_parsed`, which keeps that function's return type, so every public
method's return type is checked by mypy from the JSON up.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import Any, ParamSpec, TypedDict, TypeVar
from urllib.parse import quote

import httpx

from tui.evolution import parse
from tui.evolution.detect import detect
from tui.evolution.dialect import Dialect
from tui.evolution.parse import JSONValue
from tui.evolution.v18 import V18Wire
from tui.evolution.v2 import V2Wire
from tui.evolution.wire import DialectMismatch, RemovalProfile, Wire
from tui.evolution.errors import (
    BadRequestError,
    EvolutionError,
    EvolutionTimeoutError,
    MalformedResponseError,
    NameInUseError,
    NotConnectedError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnreachableError,
)
from tui.evolution.transport import AiohttpTransport
from tui.evolution.models import (
    ConnectResult,
    CreateResult,
    DetectedBy,
    Instance,
    ProbeResult,
    ProbeState,
    ServerInfo,
    ServerProfile,
)
from tui.secrets import SecretIndex, mask_token, mask_uri, scrub

log = logging.getLogger(__name__)

ERROR_BODY_CAP = 64 * 1024  # bytes of an error body read to build a message
MAX_BODY_BYTES = 64 * 1024 * 1024  # a success body larger than this is refused
_MAX_KNOWN_TOKENS = 1_000_000  # a bound on memory, far above any real server's instance count

_P = ParamSpec("_P")
_T = TypeVar("_T")
WIRES: dict[Dialect, Wire] = {Dialect.V1_8: V18Wire(), Dialect.V2: V2Wire()}
LIST_FRESH_S = 1.0  # how long `locate` trusts the instance list it fetched


def encode_name(name: str) -> str:
    """Percent-encode an instance name as one URL path segment (exact round trip)."""
    if not isinstance(name, str) or name == "":
        raise ValueError("instance name must be a non-empty string")
    if name in (".", ".."):
        return "%2E" * len(name)
    return quote(name, safe="")


@dataclass
class RequestEvent:
    """One HTTP attempt, as reported to `on_request`."""

    op: str  # client operation, e.g. "delete"
    method: str
    route: str  # "DELETE /instance/delete/a%20b"
    attempt: int  # 1-based
    status: int | None  # None when no response (timeout, connection error)
    bytes_in: int
    bytes_out: int
    elapsed_s: float
    error: str | None = None  # error class name when the attempt failed


@dataclass
class ClientStats:
    """Cheap running totals over every attempt made by one client."""

    requests: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    retries: int = 0
    errors: int = 0  # failed attempts (including ones that were retried)
    malformed_items: int = 0  # fetchInstances items skipped because unusable
    by_op: dict[str, int] = field(default_factory=dict)  # requests per operation

    def reset(self) -> None:
        fresh = ClientStats()
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(fresh, name))


class _Transport(Exception):
    """Internal: an attempt failed before a response; `sent` = the request may have been processed."""

    def __init__(self, error: EvolutionError, *, sent: bool):
        super().__init__(str(error))
        self.error = error
        self.sent = sent


class EvolutionClient:
    """Async Evolution API client, v1.8 or v2 (see the module docstring for dialects, names,
    timeouts, retries)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout_s: float = 10,
        retries: int = 3,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        on_request: Callable[[RequestEvent], None] | None = None,
        dialect: Dialect | str | None = None,
    ):
        if not base_url:
            raise ValueError("base_url is required")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout_s = float(timeout_s)
        self.retries = max(0, int(retries))
        self.backoff_base_s = max(0.0, float(backoff_base_s))
        self.backoff_max_s = max(0.0, float(backoff_max_s))
        self._rng = rng or random.Random()
        self.on_request = on_request
        self.stats = ClientStats()
        self._urls: dict[str, httpx.URL] = {}
        self._known_tokens = SecretIndex()  # every instance token seen: scrubbed from errors
        self._forced = Dialect(dialect) if dialect not in (None, "auto") else None
        self._profile: ServerProfile | None = None
        self._detecting: asyncio.Lock | None = None
        self._listed: tuple[float, frozenset[str]] | None = None  # locate's recent list
        # requests are built by httpx's client (headers, timeouts, URL) and sent straight to
        # the transport: the client's send adds auth, redirect and cookie handling this API
        # does not use (no redirects followed, no cookies), measured at 40 % of the CPU of a
        # probe (~140 us of ~340 us)
        self._transport = transport or AiohttpTransport()
        self._http = httpx.AsyncClient(
            headers={"apikey": api_key, "accept": "application/json"},
            timeout=httpx.Timeout(self.timeout_s),
            transport=self._transport,
            follow_redirects=False,
            trust_env=False,
        )

    @classmethod
    def from_settings(cls, evo: Any, **kwargs: Any) -> EvolutionClient:
        """Build from the settings' Evolution section (`.url`, `.api_key` SecretStr,
        `.timeout_s`, `.dialect`)."""
        key = evo.api_key
        key = key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)
        kwargs.setdefault("dialect", getattr(evo, "dialect", None))
        return cls(str(evo.url), key, timeout_s=evo.timeout_s, **kwargs)

    # ------------------------------------------------------------------ dialect

    @property
    def known_profile(self) -> ServerProfile | None:
        """The profile found so far (None before the first call that needed it)."""
        return self._profile

    async def profile(self) -> ServerProfile:
        """Which server this is: dialect (set or detected), version, client name. Cached."""
        if self._profile is not None:
            return self._profile
        if self._detecting is None:
            self._detecting = asyncio.Lock()
        async with self._detecting:
            if self._profile is None:
                self._profile = await self._find_profile()
        return self._profile

    async def removal_profile(self) -> RemovalProfile:
        """How this server's deletes behave (its dialect's `RemovalProfile`)."""
        return (await self._wire()).removal

    async def _find_profile(self) -> ServerProfile:
        if self._forced is None:
            return await detect(self.server_info, self._body)
        try:
            info: ServerInfo | None = await self.server_info()
        except (UnauthorizedError, UnreachableError):
            raise
        except EvolutionError:
            info = None
        return ServerProfile(dialect=self._forced, detected_by=DetectedBy.SETTING,
                             version=info.version if info else None,
                             client_name=info.client_name if info else None,
                             whatsapp_web_version=info.whatsapp_web_version if info else None)

    async def _body(self, op: str, method: str, path: str) -> JSONValue:
        return (await self._call(op, method, path))[1]

    async def _wire(self) -> Wire:
        if self._forced is not None:  # set: nothing to ask (`profile()` asks for the version)
            return WIRES[self._forced]
        return WIRES[(await self.profile()).dialect]

    async def _redetected(self, wire: Wire) -> Wire | None:
        """After an answer in the other dialect's shape: detect again. The new wire when the
        dialect changed, None when it did not (or is set): parse the answer as it is."""
        if self._forced is not None:
            return None
        self._profile = None
        fresh = await self._wire()
        log.info("Evolution API dialect re-detected: %s", self._profile)
        return None if fresh is wire else fresh

    async def _instances(self, route: str, body: JSONValue) -> tuple[list[Instance], list[str]]:
        wire = await self._wire()
        try:
            return self._parsed(route, wire.parse_instances, body)
        except DialectMismatch:
            fresh = await self._redetected(wire)
        if fresh is not None:
            try:
                return self._parsed(route, fresh.parse_instances, body)
            except DialectMismatch:
                pass
        return self._parsed(route, parse.parse_instance_list, body)

    def __repr__(self) -> str:
        return f"EvolutionClient(base_url={mask_uri(self.base_url)!r}, api_key={mask_token(self._api_key)!r})"

    __str__ = __repr__

    async def __aenter__(self) -> EvolutionClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ operations

    async def server_info(self) -> ServerInfo:
        """GET / (no auth needed). Raises transport errors, ServerError, MalformedResponseError.
        A timeout is not retried: v2 answers `/` only once it has asked WhatsApp Web for its
        version (slow every time when the server's egress is poor, contract §1.1), and
        detection has cheaper oracles to ask next."""
        _, body = await self._call("server_info", "GET", "/", retry_timeouts=False)
        return self._parsed("GET /", parse.parse_server_info, body)

    async def check_auth(self) -> None:
        """Prove the API key is valid: GET /instance/fetchInstances without query is the one
        call that really answers 401 (404/403 are decided before the auth guard, contract §1).
        Raises UnauthorizedError on 401."""
        _, body = await self._call("check_auth", "GET", "/instance/fetchInstances")
        if not isinstance(body, (list, dict)):
            raise self._malformed("GET /instance/fetchInstances", "expected an array of instances")

    async def list_instances(self) -> list[Instance]:
        """GET /instance/fetchInstances: every instance loaded in memory (ghosts are not listed).

        An unusable item (not an object, no instanceName) makes the whole answer malformed:
        a partial list would make every plan built on it wrong (instances would look gone)."""
        route = "GET /instance/fetchInstances"
        _, body = await self._call("list_instances", "GET", "/instance/fetchInstances")
        instances, problems = await self._instances(route, body)
        if problems:
            self.stats.malformed_items += len(problems)
            raise self._malformed(
                route, f"{len(problems)} unusable item(s) in the instance list, first: {problems[0]}")
        self._remember(i.token.get_secret_value() for i in instances if i.token)
        return instances

    async def fetch_instance(self, name: str) -> Instance:
        """GET /instance/fetchInstances?instanceName=: NotFoundError if not loaded (the server's
        500 `{"error":true,...not found}`; also for a ghost)."""
        route = "GET /instance/fetchInstances"
        path = f"/instance/fetchInstances?instanceName={encode_name(name)}"
        _, body = await self._call("fetch_instance", "GET", path, route=route)
        instances, _ = await self._instances(route, body)
        self._remember(i.token.get_secret_value() for i in instances if i.token)
        for instance in instances:
            if instance.name == name:
                return instance
        if isinstance(body, dict) and instances:
            raise self._malformed(route, f"asked for instance {name!r}, got {instances[0].name!r}")
        raise NotFoundError(f'instance "{name}" not found in fetchInstances', status=200, route=route)

    async def probe(self, name: str) -> ProbeResult:
        """GET /instance/connectionState/{name}: PRESENT (200 + state) / RESERVED (200, no state:
        a ghost) / ABSENT (404 "does not exist"). A 404 that is not the instance guard's (e.g.
        "Cannot GET", wrong base URL) raises NotFoundError instead of claiming the name is free."""
        try:
            _, body = await self._call("probe", "GET", f"/instance/connectionState/{encode_name(name)}")
        except NotFoundError as exc:
            if exc.status == 404 and "does not exist" in exc.message:
                return ProbeResult(name=name, state=ProbeState.ABSENT)
            raise
        return self._parsed(_route("GET", "/instance/connectionState/", name), parse.parse_probe, name, body)

    async def locate(self, name: str) -> ProbeResult:
        """`probe`, and a RESERVED name told apart: this server's own ghost (RESERVED: a v1.8
        leftover, a v2 row of this `clientName` - both deletable here) or another server's
        (FOREIGN: on v2 a name held but not in this server's list is a row of another
        `clientName` on a shared database; deleting it here would destroy that row). Costs a
        list on v2 when the probe finds a name reserved (shared by the calls of a second), and
        a second probe when the list does not show it (an own row may have gone meanwhile)."""
        found = await self.probe(name)
        if found.state is not ProbeState.RESERVED or (await self._wire()).dialect is Dialect.V1_8:
            return found
        now = time.monotonic()
        if self._listed is None or now - self._listed[0] > LIST_FRESH_S:
            self._listed = (now, frozenset(i.name for i in await self.list_instances()))
        if name in self._listed[1]:
            return found
        # not listed: another server's - or this server's own row whose delete finished
        # between the probe and the list (its last moment held): a second probe tells
        again = await self.probe(name)
        if again.state is not ProbeState.RESERVED:
            return again
        return ProbeResult(name=name, state=ProbeState.FOREIGN)

    async def create(
        self,
        name: str,
        *,
        qrcode: bool = False,
        token: str | None = None,
        number: str | None = None,
        integration: str | None = None,
    ) -> CreateResult:
        """POST /instance/create. Raises NameInUseError (403), BadRequestError (400: validation,
        "Token already exists", "number is required", ...), UnauthorizedError (401). Not retried
        after the request may have reached the server (see module docstring)."""
        if not isinstance(name, str) or name == "":
            raise ValueError("instance name must be a non-empty string")
        wire = await self._wire()
        payload = wire.create_body(name, qrcode=qrcode, token=token, number=number,
                                   integration=integration)
        route = "POST /instance/create"
        _, body = await self._call(
            "create", "POST", "/instance/create", json=payload, idempotent=False, secrets=[token]
        )
        result = self._parsed(route, wire.parse_create, body, requested_name=name)
        if result.token:
            self._remember([result.token.get_secret_value()])
        return result

    async def connect(self, name: str, *, number: str | None = None) -> ConnectResult:
        """GET /instance/connect/{name}[?number=]: QR payload, state (when open), or `empty=True`
        (200 with an empty body: a ghost). Dials WhatsApp on the server side (and the real server
        sleeps 5 s for a `close` instance, so keep timeout_s above that). NotFoundError (404)."""
        path = f"/instance/connect/{encode_name(name)}"
        if number is not None:
            path += f"?number={quote(number, safe='')}"
        wire = await self._wire()
        _, body = await self._call("connect", "GET", path, route=_route("GET", "/instance/connect/", name))
        return self._parsed(_route("GET", "/instance/connect/", name), wire.parse_connect, name, body)

    async def restart(self, name: str) -> ProbeResult:
        """Restart one instance (v1.8 `PUT`, v2 `POST /instance/restart/{name}`). The answer
        is read as a probe: PRESENT (+instance_state), or RESERVED for a ghost (v1.8: no
        `state`; v2: `{"error": true}`). An unknown name raises NotFoundError (restarting
        nothing is an error)."""
        wire = await self._wire()
        method = wire.restart_method
        _, body = await self._call("restart", method, f"/instance/restart/{encode_name(name)}")
        if isinstance(body, dict) and body.get("error") is True:
            return ProbeResult(name=name, state=ProbeState.RESERVED)
        return self._parsed(_route(method, "/instance/restart/", name), parse.parse_probe, name, body)

    async def logout(self, name: str) -> None:
        """DELETE /instance/logout/{name}. NotConnectedError when the instance was not
        connected (400 "not connected", or 2.4's 200 "already disconnected": the same answer),
        NotFoundError."""
        wire = await self._wire()
        route = _route("DELETE", "/instance/logout/", name)
        _, body = await self._call("logout", "DELETE", f"/instance/logout/{encode_name(name)}")
        self._parsed(route, parse.parse_ack, body)
        if wire.logout_was_noop(body):
            raise NotConnectedError(parse.error_message(body), status=200, route=route)

    async def delete(self, name: str) -> None:
        """DELETE /instance/delete/{name}. NotFoundError (404). The server answers before its
        cleanup is done (contract §6): verify with `probe` before re-creating the name."""
        _, body = await self._call("delete", "DELETE", f"/instance/delete/{encode_name(name)}")
        self._parsed(_route("DELETE", "/instance/delete/", name), parse.parse_ack, body)

    # ------------------------------------------------------------------ plumbing

    def _secrets(self, extra: list[str | None] | None = None) -> SecretIndex:
        return self._known_tokens.with_extra([self._api_key, *(extra or [])])

    def _remember(self, tokens: Iterable[str]) -> None:
        room = _MAX_KNOWN_TOKENS - len(self._known_tokens)
        if room > 0:
            self._known_tokens.update(itertools.islice(tokens, room))

    def _malformed(self, route: str, reason: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"malformed response: {scrub(reason, self._secrets())}", route=route
        )

    def _parsed(
        self, route: str, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T:
        """`fn(*args, **kwargs)` (a `parse` function), its ParseError as MalformedResponseError."""
        try:
            return fn(*args, **kwargs)
        except parse.ParseError as exc:
            raise self._malformed(route, str(exc)) from None

    async def _call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        route: str | None = None,
        json: JSONValue = None,
        idempotent: bool = True,
        secrets: list[str | None] | None = None,
        retry_timeouts: bool = True,
    ) -> tuple[int, JSONValue]:
        """Send with retries; return (status, decoded JSON or None for an empty body).
        `retry_timeouts=False`: a timeout is final (an answer that is slow every time)."""
        route = route or f"{method} {path}"
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            error: EvolutionError
            sent = True
            try:
                status, body = await self._attempt(op, method, url, route, attempt, json, secrets)
                return status, body
            except _Transport as failure:
                error, sent = failure.error, failure.sent
                error.__cause__ = failure.__cause__  # keep the httpx exception for debugging
            except EvolutionError as exc:
                error = exc
                sent = not isinstance(exc, RateLimitedError)  # a 429 was refused, not processed
            error.attempts = attempt
            retry_ok = error.transient and (idempotent or not sent) and (
                retry_timeouts or not isinstance(error, EvolutionTimeoutError))
            if not retry_ok or attempt > self.retries:
                raise error
            self.stats.retries += 1
            await asyncio.sleep(self._backoff(attempt, error))

    def _parsed_url(self, url: str) -> httpx.URL:
        """`httpx.URL(url)`, memoised: parsing a URL is a quarter of httpx's per-request CPU,
        and a verified delete sends 3-4 requests to the same instance path."""
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= 4096:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    def _backoff(self, attempt: int, error: EvolutionError) -> float:
        retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
        if retry_after is not None:
            return min(max(0.0, retry_after), self.backoff_max_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** (attempt - 1)))
        return self._rng.uniform(0, ceiling)

    async def _attempt(
        self,
        op: str,
        method: str,
        url: str,
        route: str,
        attempt: int,
        json: JSONValue,
        secrets: list[str | None] | None,
    ) -> tuple[int, JSONValue]:
        request = self._http.build_request(method, self._parsed_url(url), json=json)
        bytes_out = len(request.content)
        started = time.monotonic()
        status: int | None = None
        bytes_in = 0
        failure: BaseException | None = None
        try:
            try:
                async with asyncio.timeout(self.timeout_s):
                    if self._http.is_closed:
                        raise RuntimeError("the Evolution API client was closed")
                    response = await self._transport.handle_async_request(request)
                    try:
                        status = response.status_code
                        cap = ERROR_BODY_CAP if status >= 400 else MAX_BODY_BYTES + 1
                        content = await _read_capped(response, cap)
                    finally:
                        bytes_in = response.num_bytes_downloaded
                        await response.aclose()
            except (TimeoutError, httpx.TimeoutException) as exc:
                sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                raise _Transport(
                    EvolutionTimeoutError(f"no answer within {self.timeout_s:g} s", route=route), sent=sent
                ) from exc
            except httpx.ConnectError as exc:
                raise _Transport(self._unreachable(exc, route), sent=False) from exc
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                raise _Transport(self._unreachable(exc, route), sent=True) from exc
            except httpx.HTTPError as exc:  # protocol/decoding problems: not retried
                raise self._malformed(route, f"{type(exc).__name__}: {exc}") from exc
            ctype = response.headers.get("content-type", "")
            if 200 <= status < 300:
                if len(content) > MAX_BODY_BYTES:
                    raise self._malformed(route, f"body larger than {MAX_BODY_BYTES} bytes")
                if not content.strip():
                    return status, None
                try:
                    return status, parse.decode_json(content, ctype)
                except parse.ParseError as exc:
                    raise self._malformed(route, str(exc)) from None
            raise error_from_response(
                status,
                content,
                ctype,
                route=route,
                headers=response.headers,
                secrets=self._secrets(secrets),
                reason=response.reason_phrase,
            )
        except BaseException as exc:
            failure = exc
            raise
        finally:
            self._account(op, method, route, attempt, status, bytes_in, bytes_out, started, failure)

    def _unreachable(self, exc: Exception, route: str) -> UnreachableError:
        text = str(exc) or type(exc).__name__
        low = text.lower()
        if "refused" in low or "all connection attempts failed" in low:
            why = "connection refused"
        elif any(s in low for s in ("name or service", "nodename", "getaddrinfo", "name resolution")):
            why = "host name not found"
        elif isinstance(exc, httpx.RemoteProtocolError):
            why = "connection closed by the server"
        elif isinstance(exc, (httpx.ReadError, httpx.WriteError)):
            why = "connection reset"
        else:
            why = " ".join(text.split())[:200]
        why = scrub(why, self._secrets())
        return UnreachableError(f"cannot reach Evolution API at {mask_uri(self.base_url)}: {why}", route=route)

    def _account(
        self,
        op: str,
        method: str,
        route: str,
        attempt: int,
        status: int | None,
        bytes_in: int,
        bytes_out: int,
        started: float,
        failure: BaseException | None,
    ) -> None:
        stats = self.stats
        stats.requests += 1
        stats.bytes_in += bytes_in
        stats.bytes_out += bytes_out
        stats.by_op[op] = stats.by_op.get(op, 0) + 1
        error_name = None
        if failure is not None:
            stats.errors += 1
            inner = failure.error if isinstance(failure, _Transport) else failure
            error_name = type(inner).__name__
        if self.on_request is not None:
            event = RequestEvent(
                op, method, route, attempt, status, bytes_in, bytes_out, time.monotonic() - started, error_name
            )
            try:
                self.on_request(event)
            except Exception:  # a progress hook must never break an operation
                log.exception("on_request hook failed")


def _route(method: str, prefix: str, name: str) -> str:
    return f"{method} {prefix}{encode_name(name)}"


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    """Read at most `cap` bytes of the body (the rest is dropped with the connection)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= cap:
            break
    return b"".join(chunks)[:cap]


def _retry_after(headers: httpx.Headers | None) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _ErrorWhere(TypedDict):
    """The keyword arguments every `EvolutionError` of one answer shares."""

    status: int | None
    route: str | None


def error_from_response(
    status: int,
    content: bytes,
    content_type: str,
    *,
    route: str,
    headers: httpx.Headers | None = None,
    secrets: list[str | None] | SecretIndex | None = None,
    reason: str = "",
) -> EvolutionError:
    """Map a non-2xx answer to a typed error (pure; contract §1 envelopes). One line, scrubbed."""
    try:
        body = parse.decode_json(content, content_type) if content.strip() else None
        detail = parse.error_message(body)
    except parse.ParseError as exc:
        body = None
        detail = f"non-JSON body: {exc}".replace("expected JSON, got ", "")
    detail = scrub(detail, secrets or [])
    low = detail.lower()
    kw: _ErrorWhere = {"status": status, "route": route}

    def text(prefix: str) -> str:
        return f"{prefix}: {detail}" if detail else prefix

    if status == 400:
        if "is not connected" in low:
            return NotConnectedError(detail, **kw)
        return BadRequestError(text("bad request (400)"), **kw)
    if status == 401:
        return UnauthorizedError("Evolution API rejected the API key (401)", **kw)
    if status == 403:
        if "already in use" in low:
            return NameInUseError(detail, **kw)
        return EvolutionError(text("forbidden (403)"), **kw)
    if status == 404:
        return NotFoundError(detail or "not found (404)", **kw)
    if status == 429:
        error = RateLimitedError(text("rate limited (429)"), **kw)
        error.retry_after = _retry_after(headers)
        return error
    if status >= 500:
        if isinstance(body, dict) and body.get("error") is True and "not found" in low:
            return NotFoundError(detail, **kw)
        return ServerError(text(f"server error ({status} {reason})".replace(" )", ")")), **kw)
    if 400 <= status < 500:
        return BadRequestError(text(f"request rejected ({status} {reason})".replace(" )", ")")), **kw)
    return MalformedResponseError(f"malformed response: unexpected HTTP {status}", **kw)
