"""The `/_sim/` test-control API of the simulator (never under `/instance`).

Owns: reset, restart, seeding, faults, stats and the state dump, answered only to loopback
peers (anyone else gets the same 404 an unknown route gets, so the API stays invisible).
Unauthenticated by design: it is a local test tool. A v2 simulator has two more:
`POST /_sim/zombies` (a JSON list of names whose socket dies) and `GET /_sim/attempts`
(connection attempts per name: the real server's log view of flapping and orphan sockets).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tui.simulator.faults import is_loopback
from tui.simulator.replies import cannot, encode_json
from tui.simulator.v2 import V2State

if TYPE_CHECKING:
    from tui.simulator.server import Simulator


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=encode_json(body), content_type="application/json", charset="utf-8")


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"body is not valid JSON: {exc}") from None


async def handle(sim: "Simulator", request: web.Request) -> web.Response:
    path = request.rel_url.raw_path.rstrip("/")
    if not is_loopback(request.remote):
        reply = cannot(request.method, request.rel_url.raw_path)
        return _json(reply.body, reply.status)
    route = (request.method, path)
    try:
        if route == ("POST", "/_sim/reset"):
            sim.reset()
            return _json({"ok": True})
        if route == ("POST", "/_sim/restart"):
            return _json({"ok": True, "loaded": sim.restart()})
        if route == ("POST", "/_sim/instances"):
            specs = await _body(request)
            if not isinstance(specs, list):
                raise ValueError("body must be a JSON list of instances")
            return _json(sim.state.seed_instances(specs))
        if route == ("POST", "/_sim/faults"):
            options = await _body(request)
            return _json(sim.set_faults({} if options is None else options))
        if route == ("GET", "/_sim/faults"):
            return _json(sim.faults_view())
        if route == ("GET", "/_sim/stats"):
            return _json(sim.stats.as_dict())
        if route == ("GET", "/_sim/state"):
            return _json(sim.state.dump())
        if isinstance(sim.state, V2State):
            if route == ("POST", "/_sim/zombies"):
                return _json(sim.state.mark_zombies(await _body(request)))
            if route == ("GET", "/_sim/attempts"):
                return _json(sim.state.attempts())
    except ValueError as exc:
        return _json({"error": str(exc)}, 400)
    return _json({"error": f"unknown control route {request.method} {path}"}, 404)
