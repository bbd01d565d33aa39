"""An httpx transport that sends requests with aiohttp.

Why: on this project's machines httpx's default async transport (httpcore over anyio) spends
about 4 ms of CPU per request at 16 concurrent requests (connection-pool bookkeeping and anyio
cancel scopes), which made bulk clear-alls CPU-bound; aiohttp (already a dependency, for the
simulator) needs about 1 ms. The client keeps httpx's API, timeouts and error classes: this
module maps aiohttp's exceptions onto httpx's so `tui.evolution.client` needs no change.

The URL is passed to aiohttp as already encoded (`yarl.URL(..., encoded=True)`), so percent-
encoded instance names (`%2F`, `%2E`, `%25`, ...) reach the server byte for byte.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import aiohttp
import httpx
import yarl

_CHUNK = 64 * 1024


def _connect_message(exc: aiohttp.ClientConnectorError) -> str:
    os_error = getattr(exc, "os_error", None)
    errno = getattr(os_error, "errno", None)
    if isinstance(os_error, ConnectionRefusedError) or errno == 111:
        return "connection refused"
    if errno is not None and errno > 0:
        return os.strerror(errno)
    return str(os_error or exc)


def _mapped(exc: BaseException, request: httpx.Request) -> httpx.TransportError | None:
    """The httpx exception that matches an aiohttp one (None: not a transport failure)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(getattr(exc, "os_error", None), TimeoutError):
            return httpx.ConnectTimeout("connect timed out", request=request)
        return httpx.ConnectError(_connect_message(exc), request=request)
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout("connect timed out", request=request)
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return httpx.ReadTimeout("read timed out", request=request)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("server disconnected", request=request)
    if isinstance(exc, aiohttp.ClientResponseError):  # unparsable status line / headers
        return httpx.RemoteProtocolError(str(exc.message or exc), request=request)
    if isinstance(exc, (aiohttp.ClientOSError, aiohttp.ClientPayloadError)):
        return httpx.ReadError(str(exc) or "connection reset", request=request)
    if isinstance(exc, aiohttp.ClientError):
        return httpx.ReadError(str(exc) or type(exc).__name__, request=request)
    return None


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request):
        self._response = response
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except Exception as exc:
            mapped = _mapped(exc, self._request)
            if mapped is None:
                raise
            raise mapped from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (connection pool) per transport, created in the running loop."""

    def __init__(self, *, max_connections: int = 100):
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _session_for_loop(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is not None and (self._loop is not loop or self._session.closed):
            self._drop_session()
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self._max_connections, force_close=False)
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,  # httpx decodes Content-Encoding itself
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept"),
            )
            self._loop = loop
        return self._session

    def _drop_session(self) -> None:
        """Forget a session of another (finished) event loop, closing its sockets."""
        session, self._session, self._loop = self._session, None, None
        if session is not None and not session.closed and session.connector is not None:
            session.connector._close()  # sync close of the pooled transports
            session._connector = None  # the session now counts as closed: no warning at GC

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session_for_loop()
        timeout = request.extensions.get("timeout", {})
        body = request.content or None
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        try:
            response = await session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),
                headers=headers,
                data=body,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    sock_connect=timeout.get("connect"),
                    sock_read=timeout.get("read"),
                ),
            )
        except Exception as exc:
            mapped = _mapped(exc, request)
            if mapped is None:
                raise
            raise mapped from exc
        return httpx.Response(
            status_code=response.status,
            headers=[(k, v) for k, v in response.raw_headers],
            stream=_ResponseStream(response, request),
            request=request,
            extensions={"http_version": b"HTTP/1.1",
                        "reason_phrase": (response.reason or "").encode("latin-1", "replace")},
        )

    def __del__(self) -> None:
        # A transport dropped without aclose (its loop already gone): close its sockets now
        # rather than let aiohttp warn about an unclosed session at garbage collection.
        try:
            self._drop_session()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            try:
                await session.close()
            except RuntimeError:  # its loop is gone
                pass
