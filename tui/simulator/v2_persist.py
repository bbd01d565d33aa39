"""A v2 simulator's world on disk (`Simulator(dialect="v2", state_file=...)`), and back.

Owns the v2 part of `persist.py`'s file: the dialect, version and clientName it was written by
(a file of another version or clientName is refused: it is another server), the memory
(zombies, instances in the middle of a delete), the database rows (the whole table: a
database shared by two simulators is saved by each and comes back as two separate copies),
the delete cleanups still to run, the orphan sockets, the v2 options and both random
generators. Moments on the monotonic clock are stored as wall-clock times, as in v1.8's file.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from tui.simulator.database import Row
from tui.simulator.persist import FORMAT, StateFileError, _mono, _rng_state, _set_rng, _wall
from tui.simulator.state import MISSING, SimState
from tui.simulator.v2 import V2Instance, V2State

_MISSING_FIELDS = ("owner", "profile_name", "profile_picture_url", "profile_status")
_INSTANCE_TIMES = ("qr_at", "dial_since", "leaving_at")


def _as_v2(state: SimState) -> V2State:
    if not isinstance(state, V2State):  # pragma: no cover - persist dispatches on the dialect
        raise TypeError("not a v2 simulator state")
    return state


def _instance(state: V2State, inst: V2Instance) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(V2Instance):
        value = getattr(inst, f.name)
        if value is MISSING:
            continue
        if f.name in _INSTANCE_TIMES and value:
            value = _wall(state, value)
        out[f.name] = value
    return out


def _load_instance(state: V2State, data: dict[str, Any]) -> V2Instance:
    known = {f.name for f in fields(V2Instance)}
    values = {k: v for k, v in data.items() if k in known}
    for name in _MISSING_FIELDS:
        values.setdefault(name, MISSING)
    for name in _INSTANCE_TIMES:
        if values.get(name):
            values[name] = _mono(state, values[name])
    return V2Instance(**values)


def _row(state: V2State, row: Row) -> dict[str, Any]:
    out = asdict(row)
    if row.delete_at is not None:
        out["delete_at"] = _wall(state, row.delete_at)
    return out


def _load_row(state: V2State, data: dict[str, Any]) -> Row:
    known = {f.name for f in fields(Row)}
    row = Row(**{k: v for k, v in data.items() if k in known})
    if row.delete_at is not None:
        row.delete_at = _mono(state, row.delete_at)
    return row


def dump_v2(state: SimState) -> dict[str, Any]:
    st = _as_v2(state)
    st._purge()
    return {
        "format": FORMAT,
        "dialect": str(st.dialect),
        "version": st.version,
        "client_name": st.client_name,
        "server_id": st.server_id,
        "api_key": st.api_key,
        "memory": [_instance(st, inst) for inst in st.memory.values()],
        "rows": [_row(st, row) for row in st.database.rows()],
        "orphans": [[name, _wall(st, since)] for name, since in st.orphans],
        "attempts_done": dict(st.attempts_done),
        "cleanup_lag_ms": st.cleanup_lag_ms,
        "reconnect_loop": sorted(st.reconnect_loop),
        "offline": st.offline,
        "connecting_share": st.connecting_share,
        "qr_rotate_s": st.qr_rotate_s,
        **st.options_view(),
        "rng": _rng_state(st.rng),
        "dial_rng": _rng_state(st.dial_rng),
    }


def load_v2(state: SimState, data: dict[str, Any]) -> None:
    st = _as_v2(state)
    for key, mine in (("version", st.version), ("client_name", st.client_name)):
        if data.get(key) != mine:
            raise StateFileError(f"a world of the v2 simulator with {key.replace('_', ' ')} "
                                 f"{data.get(key)!r}; this simulator's is {mine!r}")
    try:
        memory = [_load_instance(st, item) for item in data["memory"]]
        rows = [_load_row(st, item) for item in data["rows"]]
        orphans = [(str(name), _mono(st, float(since))) for name, since in data["orphans"]]
        st.apply_options({"delete_window_ms": data["delete_window_ms"],
                          "window_cost_ms": data["window_cost_ms"]})
        st.database.replace_all(rows)
        st.memory = {inst.name: inst for inst in memory}
        st.orphans = orphans
        st.attempts_done = {str(k): float(v) for k, v in data["attempts_done"].items()}
        st.server_id = str(data["server_id"])
        st.api_key = data["api_key"]
        st.cleanup_lag_ms = data["cleanup_lag_ms"]
        st.reconnect_loop = set(data["reconnect_loop"])
        st.offline = bool(data["offline"])
        st.connecting_share = data["connecting_share"]
        st.qr_rotate_s = data["qr_rotate_s"]
        _set_rng(st.rng, data["rng"])
        _set_rng(st.dial_rng, data["dial_rng"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StateFileError(f"a broken simulator state: {exc.__class__.__name__}: {exc}") from None
