"""A tiny Evolution API stub on loopback, for what the v1.8 simulator cannot say: a `GET /`
of the test's choosing (a v2 server, a hostile version or client name) and a small v2 world.

`StubEvolution(root, upstream=sim.url)`: answers `GET /` with `root` and forwards every other
request to the simulator as it is (the simulator's world, the stub's welcome).
`StubEvolution(root, rows=[...], held={...})`: a read-only v2 server of its own -
`fetchInstances` lists `rows` (v2's flat rows of this server's client), `connectionState/{name}`
answers from `held` (a state: a live instance; None: a name held without a live instance - a
ghost row of this server, or another server's row on a shared database; missing: 404 "does
not exist"), `POST /verify-creds` answers 200. Every other route: 404 `Cannot METHOD path`.
Not a simulator: nothing changes its world but the test (`stub.rows`, `stub.held`).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from tests.fixtures.sim import API_KEY

V2_ROOT = {"status": 200, "message": "Welcome to the Evolution API, it is working!",
           "version": "2.3.6", "clientName": "evo_a", "manager": "http://stub/manager",
           "documentation": "https://doc.evolution-api.com", "whatsappWebVersion": "2.3000.1"}


def v2_row(name: str, status: str = "close", *, client: str = "evo_a", messages: int = 0,
           contacts: int = 0, chats: int = 0, token: str | None = None) -> dict[str, Any]:
    """One v2 fetchInstances row (the recorded shape, tests/data/real-v2.3/)."""
    return {"id": f"id-{name}", "name": name, "connectionStatus": status, "ownerJid": None,
            "profileName": None, "profilePicUrl": None, "integration": "WHATSAPP-BAILEYS",
            "number": None, "businessId": None, "token": token or f"TOKEN-{name}-0123456789",
            "clientName": client, "disconnectionReasonCode": None,
            "disconnectionObject": None, "disconnectionAt": None,
            "createdAt": "2026-12-07T13:45:03.822Z", "updatedAt": "2026-12-07T13:45:03.822Z",
            "Chatwoot": None, "Proxy": None, "Rabbitmq": None, "Nats": None, "Sqs": None,
            "Websocket": None, "Setting": None,
            "_count": {"Message": messages, "Contact": contacts, "Chat": chats}}


class StubEvolution:
    """See the module. `with StubEvolution(...) as stub: stub.url`."""

    def __init__(self, root: dict[str, Any], *, upstream: str | None = None,
                 rows: list[dict[str, Any]] | None = None,
                 held: dict[str, str | None] | None = None, api_key: str = API_KEY) -> None:
        self.root = root
        self.upstream = upstream
        self.rows = rows if rows is not None else []
        self.held = held if held is not None else {}
        self.api_key = api_key
        self.requests: list[str] = []  # "METHOD path" of every request
        self._http = httpx.Client(base_url=upstream, timeout=10) if upstream else None
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                stub.requests.append(f"{self.command} {self.path}")
                status, payload, headers = stub.answer(self.command, self.path,
                                                       dict(self.headers), body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __enter__(self) -> StubEvolution:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._http is not None:
            self._http.close()

    # ------------------------------------------------------------------ answers
    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes
               ) -> tuple[int, bytes, dict[str, str]]:
        if method == "GET" and path.rstrip("/") == "":
            return _json(200, self.root)
        if self._http is not None:
            forwarded = {k: v for k, v in headers.items()
                         if k.lower() in ("apikey", "content-type", "accept")}
            response = self._http.request(method, path, content=body, headers=forwarded)
            return response.status_code, response.content, {
                "content-type": response.headers.get("content-type", "application/json")}
        return self._v2(method, path, headers)

    def _v2(self, method: str, path: str, headers: dict[str, str]
            ) -> tuple[int, bytes, dict[str, str]]:
        if {k.lower(): v for k, v in headers.items()}.get("apikey") != self.api_key:
            return _json(401, {"status": 401, "error": "Unauthorized",
                               "response": {"message": "Unauthorized"}})
        route = urlsplit(path).path
        if method == "GET" and route == "/instance/fetchInstances":
            return _json(200, self.rows)
        if method == "POST" and route == "/verify-creds":
            return _json(200, {"status": 200, "message": "Credentials are valid"})
        prefix = "/instance/connectionState/"
        if method == "GET" and route.startswith(prefix):
            name = unquote(route[len(prefix):])
            if name not in self.held:
                return _json(404, {"status": 404, "error": "Not Found", "response": {
                    "message": [f'The "{name}" instance does not exist']}})
            state = self.held[name]
            instance = {"instanceName": name, **({"state": state} if state else {})}
            return _json(200, {"instance": instance})
        return _json(404, {"status": 404, "error": "Not Found",
                           "response": {"message": [f"Cannot {method} {route}"]}})


def _json(status: int, value: Any) -> tuple[int, bytes, dict[str, str]]:
    return status, json.dumps(value).encode(), {
        "content-type": "application/json; charset=utf-8"}
