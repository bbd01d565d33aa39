"""The simulator's world on disk: `SimState` as JSON and back, for a simulator that must keep
its instances between runs (`Simulator(state_file=...)`, used by `evodash --demo`).

What is kept is what the real server would still have a moment later: the instances in
memory with every field (tokens, owners, QR codes, dialing), the persisted names (reserved
names and their cleanup lag), orphaned sockets and names about to come back, the fault
settings that live in the state, and both random generators (a restored world draws what the
running one would have). Moments on the monotonic clock (a cleanup lag running out, a name
coming back, a QR code's age) are stored as wall-clock times, so time that passed between
two runs counts. This is not a restart of the server (that is `SimState.restart`): a world
loaded back is the same running server.

A file says its dialect (`"dialect"`; a file without one is v1.8's): a v2 simulator's world is
written by `v2_persist.py`, and a file of the other dialect is refused with a clear error.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from tui.evolution.dialect import Dialect
from tui.simulator.state import MISSING, Persisted, SimInstance, SimState

FORMAT = 1
_MISSING_FIELDS = ("owner", "profile_name", "profile_picture_url", "profile_status")


class StateFileError(ValueError):
    """The state file cannot be used (unreadable, not JSON, another format)."""


def _wall(state: SimState, at: float) -> float:
    return time.time() + (at - state.clock())


def _mono(state: SimState, wall: float) -> float:
    return state.clock() + (wall - time.time())


def _rng_state(rng: random.Random) -> list[Any]:
    version, internal, gauss = rng.getstate()
    return [version, list(internal), gauss]


def _set_rng(rng: random.Random, saved: list[Any]) -> None:
    version, internal, gauss = saved
    rng.setstate((version, tuple(internal), gauss))


def _instance(state: SimState, inst: SimInstance) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(SimInstance):
        value = getattr(inst, f.name)
        if value is MISSING:
            continue  # left out: the real server leaves the key undefined
        out[f.name] = value
    out["qr_at"] = _wall(state, inst.qr_at) if inst.qr_at else 0.0
    return out


def _load_instance(state: SimState, data: dict[str, Any]) -> SimInstance:
    known = {f.name for f in fields(SimInstance)}
    values = {k: v for k, v in data.items() if k in known}
    for name in _MISSING_FIELDS:
        values.setdefault(name, MISSING)
    inst = SimInstance(**values)
    inst.qr_at = _mono(state, inst.qr_at) if inst.qr_at else 0.0
    return inst


def dump_state(state: SimState) -> dict[str, Any]:
    """Everything of `state` that a later run needs, as JSON-ready data."""
    persisted = {}
    for name, entry in state.persisted.items():
        persisted[name] = {
            "record": entry.record, "orphan": entry.orphan, "token": entry.token,
            "expires_at": None if entry.expires_at is None else _wall(state, entry.expires_at),
        }
    if state.dialect is not Dialect.V1_8:
        from tui.simulator import v2_persist
        return v2_persist.dump_v2(state)
    return {
        "format": FORMAT,
        "dialect": str(Dialect.V1_8),
        "api_key": state.api_key,
        "memory": [_instance(state, inst) for inst in state.memory.values()],
        "persisted": persisted,
        "expiring": sorted(state._expiring),
        "cleanup_lag_ms": state.cleanup_lag_ms,
        "reconnect_loop": sorted(state.reconnect_loop),
        "offline": state.offline,
        "connecting_share": state.connecting_share,
        "orphan_outcome": state.orphan_outcome,
        "qr_rotate_s": state.qr_rotate_s,
        "orphan_sockets": sorted(state.orphan_sockets),
        "returning": {name: _wall(state, at) for name, at in state.returning.items()},
        "rng": _rng_state(state.rng),
        "dial_rng": _rng_state(state.dial_rng),
    }


def load_state(state: SimState, data: dict[str, Any]) -> None:
    """Put a dumped world back into `state` (replacing what it holds)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise StateFileError(f"not a simulator state of format {FORMAT}")
    check_dialect(state, data)
    if state.dialect is not Dialect.V1_8:
        from tui.simulator import v2_persist
        v2_persist.load_v2(state, data)
        return
    try:
        memory = [_load_instance(state, item) for item in data["memory"]]
        persisted = {}
        for name, entry in data["persisted"].items():
            expires = entry.get("expires_at")
            persisted[name] = Persisted(record=bool(entry["record"]),
                                        orphan=bool(entry["orphan"]), token=entry.get("token"),
                                        expires_at=None if expires is None
                                        else _mono(state, expires))
        state.memory = {inst.name: inst for inst in memory}
        state.persisted = persisted
        state._expiring = set(data["expiring"])
        state.api_key = data["api_key"]
        state.cleanup_lag_ms = data["cleanup_lag_ms"]
        state.reconnect_loop = set(data["reconnect_loop"])
        state.offline = bool(data["offline"])
        state.connecting_share = data["connecting_share"]
        state.orphan_outcome = data["orphan_outcome"]
        state.qr_rotate_s = data["qr_rotate_s"]
        state.orphan_sockets = set(data["orphan_sockets"])
        state.returning = {name: _mono(state, at) for name, at in data["returning"].items()}
        _set_rng(state.rng, data["rng"])
        _set_rng(state.dial_rng, data["dial_rng"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"a broken simulator state: {exc.__class__.__name__}: {exc}") from None


def check_dialect(state: SimState, data: dict[str, Any]) -> None:
    """StateFileError when the file is another dialect's world than this simulator's."""
    saved = data.get("dialect", str(Dialect.V1_8))
    if saved != str(state.dialect):
        what = f"a world of the {saved} simulator"
        if saved == str(Dialect.V2):
            what += f" (Evolution API {data.get('version')}, client name {data.get('client_name')})"
        raise StateFileError(f"{what}; this simulator speaks {state.dialect}: start it with "
                             f"dialect {saved} or use another state file")


def save_state(state: SimState, path: Path) -> None:
    """Write `state` to `path` atomically (a reader sees the old world or the new one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(dump_state(state), separators=(",", ":")))
    os.replace(tmp, path)


def read_state(state: SimState, path: Path) -> bool:
    """Load `path` into `state`; False when there is no such file (a new world)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateFileError(f"{path}: not JSON ({exc})") from None
    load_state(state, data)
    return True
