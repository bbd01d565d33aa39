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
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_LOGOUT_TRIES = 40
RETURN_SLACK = 1.5
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
    def __init__(self, returns: list[float] | None = None) -> None:
        self.lines: list[str] = []
        self.returns = returns or []

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
    for key in ("dialing_fetch_one_after", "dialing_second_logout", "open_create",
                "open_state", "open_logout", "unknown_logout"):
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
}


def compare(recorded: dict[str, Any], run: dict[str, Any],
            returns: list[float] | None = None) -> list[str]:
    """Differences between a run and the recording of the same scenario; `returns`: the
    recorded absences before a name came back, over all scenarios (`recorded_returns`)."""
    diff = Diff(returns)
    diff.same("scenario", recorded["scenario"], run["scenario"])
    diff.same("server version", recorded["server"]["version"], run["server"]["version"])
    rule = RULES.get(recorded["scenario"])
    if rule is None:  # a v2-only scenario: its rules come with the v2 simulator
        diff.lines.append(f"no comparison rule for {recorded['scenario']!r} yet")
    else:
        rule(diff, recorded["marks"], run["marks"])
    return diff.lines
