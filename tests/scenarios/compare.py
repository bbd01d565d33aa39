"""Comparing a run of a scenario with its recording on the real server, by shape.

Not byte for byte (ids, tokens and timings differ from run to run, and dialing is random
on the real server too) but by what the behaviour is: status codes, the set of states seen,
whether a state flaps, whether and when a name comes back, request latency. Each rule says
its tolerance; `compare` returns the differences as readable lines (empty: same shape).

Tolerances (stated here, used below):
* a flapping sample must flap (>= 3 flips) and show `connecting` in 2-60 % of the probes;
* logout tries until 200 of a dialing instance: at most `MAX_LOGOUT_TRIES`;
* a name that comes back after a delete does so within `RETURN_SLACK` x the slowest return
  recorded in any scenario (+ 0.05 s; `recorded_returns`), and every kind of outcome the
  run shows was recorded for that case;
* latency with 10 instances dialing within 0.5x-2x of the recording; quiet at most 10 ms
  or 3x the recording.

v2 (`tests/data/real-v2.3/`, the dialect the recording's `server` names): a logout that
answers 200 does not stop a flapping instance there, so what a later probe or logout of it
sees is drawn (`close`/`connecting`, 400/200); the delete -> 403 window: every round refused
at least one create, the name free within `WINDOW_SLACK` x the slowest recorded round
(+ 0.05 s) and no sooner than half the quickest, a probe that said absent never followed by
a 403; connection attempts (the log) compared as none / some.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_LOGOUT_TRIES = 40
RETURN_SLACK = 1.5
WINDOW_SLACK = 2.0
FLAP = {"close", "connecting"}
AFTER_DELETE_KINDS = {"free", "reserved", "came_back", "freed_late"}


def load_recording(name: str, folder: Path | str) -> dict[str, Any]:
    return json.loads((Path(folder) / f"{name}.json").read_text())


def recorded_returns(folder: Path | str) -> list[float]:
    """Every recorded absence before a name came back (seconds from its first 404), over all
    scenarios: the same mechanism (an orphaned socket) whatever made the socket orphan."""
    out: list[float] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("kind") == "came_back" and "absent_s" in value:
                out.append(value["absent_s"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in sorted(Path(folder).glob("*.json")):
        walk(json.loads(path.read_text()).get("marks"))
    return out


class Diff:
    def __init__(self, returns: list[float] | None = None, dialect: str = "v1.8") -> None:
        self.lines: list[str] = []
        self.returns = returns or []
        self.dialect = dialect

    def among(self, what: str, allowed: set, other: Any) -> None:
        if other not in allowed:
            self.lines.append(f"{what}: got {other!r}, expected one of {sorted(allowed, key=str)}")

    def attempts(self, what: str, real: dict | None, other: dict | None) -> None:
        """Connection attempts per name, as none / some (skipped when either side has no log)."""
        if real is None or other is None:
            return
        self.same(f"{what}: names with connection attempts", sorted(k for k, v in real.items() if v > 0),
                  sorted(k for k, v in other.items() if v > 0))

    def same(self, what: str, real: Any, other: Any) -> None:
        if real != other:
            self.lines.append(f"{what}: recorded {real!r}, got {other!r}")

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.lines.append(what)

    def flapping(self, what: str, real: dict, other: dict) -> None:
        self.same(f"{what}: states seen", real["states"], other["states"])
        if real["flips"] > 0:
            self.check(other["flips"] >= 3, f"{what}: recorded flapping ({real['flips']} flips), "
                                            f"got {other['flips']} flips")
            self.check(0.02 <= other["connecting_share"] <= 0.6,
                       f"{what}: connecting share {other['connecting_share']} outside 0.02-0.6 "
                       f"(recorded {real['connecting_share']})")
        else:
            self.same(f"{what}: flips", 0, other["flips"])

    def after_delete(self, what: str, real: list[dict], other: list[dict]) -> None:
        """Outcomes of deletes: kinds within the recorded ones (plus `free`, which the real
        server shows too, just not in every recording), returns no later than recorded."""
        real_kinds = {r["kind"] for r in real} | {"free"}
        for i, run in enumerate(other):
            self.check(run["kind"] in real_kinds,
                       f"{what}[{i}]: outcome {run['kind']!r} never recorded ({sorted(real_kinds)})")
            self.same(f"{what}[{i}]: delete status", 200, run["delete_status"])
            expected = 403 if run["final"] == "reserved" else 201
            self.same(f"{what}[{i}]: re-create status for a name {run['final']}", expected,
                      run["recreate_status"])
        returns = [r["absent_s"] for r in real if r["kind"] == "came_back"] + self.returns
        if returns:
            limit = max(returns) * RETURN_SLACK + 0.05
            for i, run in enumerate(other):
                if run["kind"] == "came_back":
                    self.check(run["absent_s"] <= limit,
                               f"{what}[{i}]: came back after {run['absent_s']} s of absence, "
                               f"recorded at most {max(returns)} s (limit {limit:.2f})")


def _dialing_after_create(d: Diff, r: dict, o: dict) -> None:
    d.same("create status", r["create_status"], o["create_status"])
    d.flapping("after create", r["sample"], o["sample"])
    d.same("fetchInstances?instanceName status", r["fetch_one_status"], o["fetch_one_status"])
    d.same("listed", r["listed"], o["listed"])


def _dialing_after_connect(d: Diff, r: dict, o: dict) -> None:
    d.same("create status", r["create_status"], o["create_status"])
    d.flapping("before connect", r["quiet"], o["quiet"])
    d.same("connect status", r["connect_status"], o["connect_status"])
    d.flapping("after connect", r["sample"], o["sample"])


def _logout_states(d: Diff, r: dict, o: dict) -> None:
    d.same("logout of a quiet close instance", r["quiet_close"], o["quiet_close"])
    d.flapping("quiet close after logouts", r["quiet_close_after"], o["quiet_close_after"])
    d.check(200 in o["dialing_statuses"] and set(o["dialing_statuses"]) <= {200, 400},
            f"logout of a dialing instance answered {o['dialing_statuses']}")
    d.check(o["dialing_tries"] <= MAX_LOGOUT_TRIES,
            f"logout of a dialing instance took {o['dialing_tries']} tries")
    d.flapping("dialing instance after its logout", r["dialing_after"], o["dialing_after"])
    keys = ["dialing_fetch_one_after", "dialing_second_logout", "open_create", "open_state",
            "open_logout", "unknown_logout"]
    if r["dialing_after"]["flips"] > 0:  # v2: still flapping, its second logout is drawn too
        keys.remove("dialing_second_logout")
        d.among("dialing_second_logout", {200, 400}, o["dialing_second_logout"])
    for key in keys:
        d.same(key, r[key], o[key])
    d.flapping("open instance after logout", r["open_after"], o["open_after"])


def _delete_one(d: Diff, r: dict, o: dict) -> None:
    if "state" in r:
        d.same("state before delete", r["state"], o["state"])
    for key in ("kind", "final", "delete_status", "recreate_status"):
        d.same(f"after delete: {key}", r["after"][key], o["after"][key])


def _delete_after_logout(d: Diff, r: dict, o: dict) -> None:
    for i, tries in enumerate(o["logout_tries"]):
        d.check(tries <= MAX_LOGOUT_TRIES, f"logout[{i}] took {tries} tries")
    d.same("after delete: kinds", [a["kind"] for a in r["after"]], [a["kind"] for a in o["after"]])
    d.same("re-create", [a["recreate_status"] for a in r["after"]],
           [a["recreate_status"] for a in o["after"]])


def _delete_dialing_close(d: Diff, r: dict, o: dict) -> None:
    d.after_delete("delete caught close", r["after"], o["after"])
    d.check((o["stuck"] > 0) == (r["stuck"] > 0),
            f"names left reserved: recorded {r['stuck']}, got {o['stuck']}")
    if r["stuck"] and o["stuck"]:
        for key in ("reserved_logout", "reserved_fetch_one", "reserved_listed"):
            d.same(key, r[key], o[key])
        d.same("a second delete of a reserved name: final", r["reserved_second_delete"]["final"],
               o["reserved_second_delete"]["final"])


def _delete_dialing_connecting(d: Diff, r: dict, o: dict) -> None:
    d.after_delete("delete right after a probe saw connecting", r["after"], o["after"])


def _restart(d: Diff, r: dict, o: dict) -> None:
    d.same("a reserved name could be made", r["ghost_made"], o["ghost_made"])
    if d.dialect == "v2":  # the logged-out `lo` still flaps on v2 (a 200 logout does not stop it)
        d.among("before restart: lo", FLAP, o["before"]["lo"])
        d.same("before restart", {**r["before"], "lo": None}, {**o["before"], "lo": None})
    else:
        d.same("before restart", r["before"], o["before"])
    d.flapping("persisted quiet instance after restart", r["after_p"], o["after_p"])
    d.flapping("dialing instance after restart", r["after_d"], o["after_d"])
    d.flapping("logged-out instance after restart", r["after_lo"], o["after_lo"])
    d.same("listed after restart", r["listed_after"], o["listed_after"])
    if r["ghost_made"] and o["ghost_made"]:
        d.flapping("reserved name after restart", r["after_ghost"], o["after_ghost"])
        d.same("create of the formerly reserved name", r["ghost_create"], o["ghost_create"])


def _latency(d: Diff, r: dict, o: dict) -> None:
    for phase in ("quiet", "after_stop"):
        limit = max(10.0, r[phase]["median_ms"] * 3)
        d.check(o[phase]["median_ms"] <= limit,
                f"{phase}: median {o[phase]['median_ms']} ms above {limit} ms")
    for key in ("median_ms", "burst16_ms"):
        real, other = r["dialing10"][key], o["dialing10"][key]
        d.check(0.5 * real <= other <= 2 * real,
                f"10 dialing, {key}: {other} ms outside 0.5x-2x of the recorded {real} ms")


def _after_delete_one(d: Diff, what: str, r: dict, o: dict) -> None:
    for key in ("kind", "final", "delete_status"):
        d.same(f"{what}: {key}", r[key], o[key])


def _window(d: Diff, what: str, r: dict, o: dict) -> None:
    for key in ("rounds", "all_created", "delete_statuses"):
        d.same(f"{what}: {key}", r[key], o[key])
    allowed = FLAP if set(r["states_before"]) <= FLAP else set(r["states_before"])
    d.check(set(o["states_before"]) <= allowed,
            f"{what}: states before the delete {o['states_before']} (recorded {r['states_before']})")
    if min(r["creates_403"]) >= 1:
        d.check(bool(o["creates_403"]) and min(o["creates_403"]) >= 1,
                f"{what}: a create right after the 200 delete was not refused ({o['creates_403']} x 403)")
    if r["free_by_s"] and o["free_by_s"]:
        high = max(r["free_by_s"]) * WINDOW_SLACK + 0.05
        low = min(r["free_by_s"]) / WINDOW_SLACK
        d.check(max(o["free_by_s"]) <= high,
                f"{what}: free after {max(o['free_by_s'])} s, recorded at most {max(r['free_by_s'])} s")
        d.check(min(o["free_by_s"]) >= low,
                f"{what}: free after {min(o['free_by_s'])} s, recorded at least {min(r['free_by_s'])} s")
    if "probe_states" in r:
        d.same(f"{what}: a probe said absent, the create after it got 403", r["absent_then_403"],
               o.get("absent_then_403"))
        d.check("reserved" in o.get("probe_states", []),
                f"{what}: no probe saw the name reserved ({o.get('probe_states')})")
        d.check(set(o.get("probe_states", [])) <= set(r["probe_states"]) | FLAP,
                f"{what}: probes saw {o.get('probe_states')} (recorded {r['probe_states']})")


def _delete_403_window(d: Diff, r: dict, o: dict) -> None:
    for phase in ("quiet", "probed", "open", "dialing"):
        _window(d, phase, r[phase], o[phase])


def _ghost_row(d: Diff, r: dict, o: dict) -> None:
    d.same("a row could be inserted", r["db"], o["db"])
    if not (r["db"] and o["db"]):
        return
    for key in ("state", "row", "fetch_one", "in_metrics", "create", "logout", "state_after_logout",
                "connect", "state_after_connect", "restart_instance", "state_after_restart_instance",
                "row_after_calls", "rows_in_db_after_delete", "listed_after_delete", "second_delete",
                "recreate"):
        d.same(key, r[key], o[key])
    _after_delete_one(d, "delete", r["delete"], o["delete"])


def _other_client_row(d: Diff, r: dict, o: dict) -> None:
    d.same("a second server", r["other_server"], o["other_server"])
    if not (r["other_server"] and o["other_server"]):
        return
    for key in sorted(set(r) - {"delete"}):
        d.same(key, r[key], o.get(key))
    _after_delete_one(d, "delete", r["delete"], o["delete"])


def _restart_autoconnect(d: Diff, r: dict, o: dict) -> None:
    d.check(o["logged_out_tries"] <= MAX_LOGOUT_TRIES, f"logout took {o['logged_out_tries']} tries")
    d.same("rows before", r["rows_before"], o["rows_before"])
    d.same("rows after", r["rows_after"], o.get("rows_after"))
    for when in ("before", "first_probe"):
        d.same(f"{when}: names", sorted(r[when]), sorted(o.get(when, {})))
        for label, state in r[when].items():
            seen = o.get(when, {}).get(label)
            if state in FLAP:
                d.among(f"{when}: {label}", FLAP, seen)
            else:
                d.same(f"{when}: {label}", state, seen)
    for when in ("metrics_before", "metrics_after"):
        d.same(f"{when}: names", sorted(r[when]), sorted(o.get(when, {})))
        for label, state in r[when].items():
            if state == "open":
                d.same(f"{when}: {label}", state, o.get(when, {}).get(label))
    for label, sample in r["after"].items():
        d.flapping(f"{label} after restart", sample, o["after"][label])
    d.attempts("after restart", r["attempts_after_restart"], o.get("attempts_after_restart"))
    _after_delete_one(d, "delete of a reconnecting row", r["delete_reconnecting"], o["delete_reconnecting"])
    d.same("recreate", r["recreate"], o["recreate"])


def _zombie_delete(d: Diff, r: dict, o: dict) -> None:
    d.flapping("before", r["before"], o["before"])
    d.check(o["logout_tries"] <= MAX_LOGOUT_TRIES, f"logout took {o['logout_tries']} tries")
    d.check(200 in o["logout_statuses"] and set(o["logout_statuses"]) <= {200, 400},
            f"logout answered {o['logout_statuses']}")
    d.flapping("after its logout", r["after_logout"], o["after_logout"])
    _after_delete_one(d, "delete", r["delete"], o["delete"])
    _after_delete_one(d, "direct delete", r["direct_delete"], o["direct_delete"])
    for key in ("second_delete", "in_metrics_after_delete", "recreate", "recreated_row",
                "direct_caught_connecting"):
        d.same(key, r[key], o[key])
    d.flapping("recreated", r["recreated"], o["recreated"])
    for key in ("attempts_dialing_and_after_logout", "orphan_attempts_2s", "attempts_while_recreated",
                "direct_orphan_attempts_2s"):
        d.attempts(key, r[key], o[key])


RULES: dict[str, Callable[[Diff, dict, dict], None]] = {
    "dialing_after_create": _dialing_after_create,
    "dialing_after_connect": _dialing_after_connect,
    "logout_states": _logout_states,
    "delete_quiet_close": _delete_one,
    "delete_open": _delete_one,
    "delete_after_logout": _delete_after_logout,
    "delete_dialing_close": _delete_dialing_close,
    "delete_dialing_connecting": _delete_dialing_connecting,
    "restart": _restart,
    "latency": _latency,
    "delete_403_window": _delete_403_window,
    "ghost_row": _ghost_row,
    "other_client_row": _other_client_row,
    "restart_autoconnect": _restart_autoconnect,
    "zombie_delete": _zombie_delete,
}


def compare(recorded: dict[str, Any], run: dict[str, Any],
            returns: list[float] | None = None) -> list[str]:
    """Differences between a run and the recording of the same scenario; `returns`: the
    recorded absences before a name came back, over all scenarios (`recorded_returns`)."""
    diff = Diff(returns, recorded["server"].get("dialect") or "v1.8")
    diff.same("scenario", recorded["scenario"], run["scenario"])
    diff.same("server version", recorded["server"]["version"], run["server"]["version"])
    rule = RULES.get(recorded["scenario"])
    if rule is None:
        diff.lines.append(f"no comparison rule for {recorded['scenario']!r}")
    else:
        rule(diff, recorded["marks"], run["marks"])
    return diff.lines
