"""The named server scenarios: what to do to an Evolution server and what to write down.

Each scenario is an async function of a `Recorder`. It uses its own fresh names, leaves the
server as it found it (dialing stopped, instances deleted; the restart scenario restarts it),
and sets `marks`: the facts the differential comparison looks at (`compare.py`). The same
code runs against the real server (recorded into `tests/data/real-v1.8/`, `real-v2.3/`) and
against the simulator (in the default suite), so the facts are derived the same way on both.

Two catalogs: `SCENARIOS` (v1.8, every file of `tests/data/real-v1.8/`) and `V2_SCENARIOS`
(the v1.8 scenarios, which all apply to v2 too, plus the v2-only ones at the end of this
file); `CATALOGS` maps a dialect to its catalog.

Contract sections: v1.8 §11 (dialing dynamics), §6 (reserved names), §3.6/3.7 (logout,
delete); v2 (`v2-contract.md`) §2.3 (the delete → 403 window), §1.3 (the missing-`state`
ghost), §2.1 (another clientName's row), §3 (boot-time reconnects, orphan sockets).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.scenarios.runner import Recorder, Sample

Scenario = Callable[[Recorder], Awaitable[None]]
SCENARIOS: dict[str, tuple[Scenario, str]] = {}  # v1.8
V2_SCENARIOS: dict[str, tuple[Scenario, str]] = {}
CATALOGS = {"v1.8": SCENARIOS, "v2": V2_SCENARIOS}

DIAL: dict[str, Any] = {"qrcode": True}
BUSINESS = {"integration": "WHATSAPP-BUSINESS", "token": "scenario-token-{label}",
            "number": "5511900000000"}
AFTER_DELETE_S = 3.0  # how long a name is watched after a delete


def scenario(description: str,
             dialects: tuple[str, ...] = ("v1.8", "v2")) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        for dialect in dialects:
            CATALOGS[dialect][fn.__name__] = (fn, description)
        return fn
    return register


def flapping(sample: Sample) -> dict[str, Any]:
    """Facts of a sample of a live instance: the states seen, flips, share of `connecting`."""
    total = sum(r[2] for r in sample.runs) or 1
    connecting = sum(r[2] for r in sample.runs if r[3] == "connecting")
    return {"states": sorted(set(sample.states)), "flips": max(0, len(sample.runs) - 1),
            "connecting_share": round(connecting / total, 3), "probes": total}


def after_delete(sample: Sample, deleted_at: float) -> dict[str, Any]:
    """What became of a name after its delete: `free` (absent throughout), `reserved`
    (never absent), `came_back` (absent, then reserved again: the gap from the first 404 to
    the return, and from the delete), `freed_late` (reserved first, then absent for good)."""
    states = sample.states
    runs = sample.runs
    first_absent = next((r[0] for r in runs if r[3] == "absent"), None)
    out: dict[str, Any] = {"final": states[-1] if states else None,
                           "states": sorted(set(states))}
    if first_absent is None:
        out["kind"] = "reserved" if "reserved" in states else "other"
        return out
    back = next((r[0] for r in runs if r[0] > first_absent and r[3] != "absent"), None)
    if back is None:
        out["kind"] = "free" if states[0] == "absent" else "freed_late"
        out["first_absent_s"] = round(first_absent - deleted_at, 3)
        return out
    out["kind"] = "came_back"
    out["absent_s"] = round(back - first_absent, 3)
    out["back_after_delete_s"] = round(back - deleted_at, 3)
    return out


async def delete_and_watch(rec: Recorder, label: str) -> dict[str, Any]:
    deleted_at = rec.now()
    status = await rec.delete(label)
    sample = await rec.sample(label, AFTER_DELETE_S, tag="after-delete")
    facts = after_delete(sample, deleted_at)
    facts["delete_status"] = status
    facts["recreate_status"] = await rec.create(label)
    return facts


async def dialing(rec: Recorder, labels: list[str]) -> None:
    """Create `labels` with `qrcode: true` (they dial WhatsApp; offline they flap)."""
    await asyncio.gather(*(rec.create(label, **DIAL) for label in labels))


# ---------------------------------------------------------------------------- scenarios
@scenario("create with qrcode:true dials; offline the state flaps close/connecting")
async def dialing_after_create(rec: Recorder) -> None:
    started = time.monotonic()
    rec.mark("create_status", await rec.create("a", **DIAL))
    rec.mark("create_s", round(time.monotonic() - started, 2))
    rec.mark("sample", flapping(await rec.sample("a", 2.0, tag="dialing")))
    rec.mark("fetch_one_status", await rec.fetch_one("a"))
    rec.mark("listed", "a" in await rec.listed())
    await rec.cleanup(["a"])


@scenario("a quiet close instance stays close; connect makes it dial and flap")
async def dialing_after_connect(rec: Recorder) -> None:
    rec.mark("create_status", await rec.create("b"))
    rec.mark("quiet", flapping(await rec.sample("b", 0.5, tag="quiet")))
    started = time.monotonic()
    rec.mark("connect_status", await rec.connect("b"))
    rec.mark("connect_s", round(time.monotonic() - started, 2))
    rec.mark("sample", flapping(await rec.sample("b", 2.0, tag="dialing")))
    await rec.cleanup(["b"])


@scenario("logout in each state: quiet close, dialing, open (business), reserved, unknown")
async def logout_states(rec: Recorder) -> None:
    await rec.create("q")
    await dialing(rec, ["d"])
    rec.mark("quiet_close", [await rec.logout("q") for _ in range(3)])
    rec.mark("quiet_close_after", flapping(await rec.sample("q", 0.3, tag="quiet-after")))
    tries, statuses = await rec.logout_until_ok("d")
    rec.mark("dialing_tries", tries)
    rec.mark("dialing_statuses", sorted(set(statuses)))
    rec.mark("dialing_after", flapping(await rec.sample("d", 1.0, tag="logged-out")))
    rec.mark("dialing_fetch_one_after", await rec.fetch_one("d"))
    rec.mark("dialing_second_logout", await rec.logout("d"))
    business = {k: (v.format(label=rec.run_id) if isinstance(v, str) else v)
                for k, v in BUSINESS.items()}
    rec.mark("open_create", await rec.create("o", **business))
    rec.mark("open_state", await rec.probe("o"))
    rec.mark("open_logout", await rec.logout("o"))
    rec.mark("open_after", flapping(await rec.sample("o", 0.5, tag="open-after-logout")))
    rec.mark("unknown_logout", await rec.logout("nobody"))
    await rec.cleanup(["q", "d", "o"])


@scenario("delete of a quiet close instance: the name is free at once and for good")
async def delete_quiet_close(rec: Recorder) -> None:
    await rec.create("q")
    rec.mark("after", await delete_and_watch(rec, "q"))
    await rec.cleanup(["q"])


@scenario("delete of an open (business) instance frees the name for good")
async def delete_open(rec: Recorder) -> None:
    business = {k: (v.format(label=rec.run_id) if isinstance(v, str) else v)
                for k, v in BUSINESS.items()}
    await rec.create("o", **business)
    rec.mark("state", await rec.probe("o"))
    rec.mark("after", await delete_and_watch(rec, "o"))
    await rec.cleanup(["o"])


@scenario("logout retried until 200 stops the dialing; a delete after that frees the name")
async def delete_after_logout(rec: Recorder) -> None:
    labels = ["l0", "l1", "l2"]
    await dialing(rec, labels)
    tries = []
    for label in labels:
        tries.append((await rec.logout_until_ok(label))[0])
    rec.mark("logout_tries", tries)
    rec.mark("after", [await delete_and_watch(rec, label) for label in labels])
    await rec.cleanup(labels)


@scenario("delete of dialing instances caught `close` (10 dialing): some names come back")
async def delete_dialing_close(rec: Recorder) -> None:
    labels = [f"c{i}" for i in range(10)]
    await dialing(rec, labels)
    await asyncio.sleep(0.5)

    async def one(label: str) -> dict[str, Any]:
        await rec.wait_for(label, "close")
        return await delete_and_watch(rec, label)

    results = await asyncio.gather(*(one(label) for label in labels))
    rec.mark("after", list(results))
    stuck = [label for label, r in zip(labels, results) if r["final"] == "reserved"]
    rec.mark("stuck", len(stuck))
    if stuck:  # a reserved name: logout answers, a second delete does not free it
        label = stuck[0]
        rec.mark("reserved_logout", await rec.logout(label))
        rec.mark("reserved_fetch_one", await rec.fetch_one(label))
        rec.mark("reserved_listed", label in await rec.listed())
        rec.mark("reserved_second_delete", await delete_and_watch(rec, label))
    await rec.cleanup(labels)


@scenario("delete of dialing instances caught `connecting`")
async def delete_dialing_connecting(rec: Recorder) -> None:
    labels = [f"k{i}" for i in range(4)]
    await dialing(rec, labels)
    results = []
    for label in labels:
        await rec.wait_for(label, "connecting")
        results.append(await delete_and_watch(rec, label))
    rec.mark("after", results)
    await rec.cleanup(labels)


@scenario("restart with persisted (quiet, dialing), logged-out and reserved (ghost) names")
async def restart(rec: Recorder) -> None:
    await rec.create("p")
    await dialing(rec, ["d", "lo"] + [f"g{i}" for i in range(6)])
    rec.mark("logged_out_tries", (await rec.logout_until_ok("lo"))[0])
    ghost = None
    for i in range(6):  # make a reserved name: delete dialing instances caught close
        label = f"g{i}"
        await rec.wait_for(label, "close")
        await rec.delete(label)
        await asyncio.sleep(1.0)
        if ghost is None and await rec.probe(label) == "reserved":
            ghost = label
    rec.mark("ghost_made", ghost is not None)
    rec.mark("before", {"p": await rec.probe("p"), "lo": await rec.probe("lo"),
                        "ghost": await rec.probe(ghost) if ghost else None})
    rec.mark("restart_s", round(await rec.restart(), 1))
    rec.mark("after_p", flapping(await rec.sample("p", 1.5, tag="persisted-after-restart")))
    rec.mark("after_d", flapping(await rec.sample("d", 1.0, tag="dialing-after-restart")))
    rec.mark("after_lo", flapping(await rec.sample("lo", 0.5, tag="logged-out-after-restart")))
    rec.mark("listed_after", sorted(await rec.listed()))
    if ghost:
        rec.mark("after_ghost", flapping(await rec.sample(ghost, 0.5, tag="ghost-after-restart")))
        rec.mark("ghost_create", await rec.create(ghost))
    await rec.cleanup(["p", "d", "lo"] + [f"g{i}" for i in range(6)])


@scenario("request latency with 0 and with 10 instances dialing (sequential and 16 at once)")
async def latency(rec: Recorder) -> None:
    await rec.create("q")

    async def measure(tag: str) -> dict[str, float]:
        seq = []
        for _ in range(30):
            started = time.monotonic()
            await rec.probe("q", record=False)
            seq.append((time.monotonic() - started) * 1000)
        started = time.monotonic()
        await asyncio.gather(*(rec.probe("q", record=False) for _ in range(16)))
        burst = (time.monotonic() - started) * 1000
        out = {"median_ms": round(statistics.median(seq), 1),
               "p90_ms": round(sorted(seq)[int(len(seq) * 0.9)], 1),
               "burst16_ms": round(burst, 1)}
        rec.events.append({"t": rec.now(), "op": "latency", "tag": tag, **out})
        return out

    rec.mark("quiet", await measure("quiet"))
    labels = [f"x{i}" for i in range(10)]
    await dialing(rec, labels)
    await asyncio.sleep(1.0)
    rec.mark("dialing10", await measure("dialing10"))
    await rec.cleanup(labels + ["q"])
    await asyncio.sleep(0.5)
    rec.mark("after_stop", await measure("after-stop"))


# ---------------------------------------------------------------------------- v2 only
# Facts v1.8 has no counterpart for (`v2-contract.md` §2-§3). Each is bounded (tens of
# seconds) and cleans up after itself; the ones that need more than HTTP to this server (a
# restart command, a second server, the database, the log) say so in a mark and skip the
# part they cannot do.
WINDOW_LIMIT_S = 5.0  # how long a re-create is retried after a delete


async def delete_then_recreate(rec: Recorder, label: str, *, probe: bool,
                               **extra: Any) -> dict[str, Any]:
    """Delete `label`, then create it again and again until 201 (`probe`: a connectionState
    before each create). Each request timed from the moment the delete was sent, as
    [sent_s, answered_s, status or state] in `creates` / `probes`; `free_by_s`: when the
    create that got 201 was sent (a create with qrcode answers 5 s later)."""
    state = await rec.probe(label, record=False)
    sent = time.monotonic()

    def since() -> float:
        return round(time.monotonic() - sent, 3)

    status = await rec.delete(label)
    delete_ms = round((time.monotonic() - sent) * 1000, 1)
    creates: list[list[Any]] = []
    probes: list[list[Any]] = []
    while time.monotonic() - sent < WINDOW_LIMIT_S:
        if probe:
            at = since()
            seen = await rec.probe(label)
            probes.append([at, since(), seen])
        at = since()
        answer = await rec.create(label, **extra)
        creates.append([at, since(), answer])
        if answer == 201:
            break
    refused = [c for c in creates if c[2] == 403]
    out: dict[str, Any] = {
        "state_before": state, "delete_status": status, "delete_ms": delete_ms,
        "creates_403": len(refused), "other_statuses": sorted({c[2] for c in creates} - {201, 403}),
        "free_by_s": creates[-1][0] if creates and creates[-1][2] == 201 else None,
        "last_403_s": refused[-1][1] if refused else None, "creates": creates}
    if probe:
        out["probes"] = probes
        out["probe_states"] = sorted({p[2] for p in probes})
        # a probe said absent, yet the create right after it was refused
        out["absent_then_403"] = sum(1 for p, c in zip(probes, creates)
                                     if p[2] == "absent" and c[2] == 403)
        absent = [p[1] for p in probes if p[2] == "absent"]
        out["first_absent_s"] = absent[0] if absent else None
    return out


async def delete_then_watch(rec: Recorder, label: str, seconds: float = 3.0) -> dict[str, Any]:
    """Delete `label`, then probe it back to back for `seconds`: when the name is free
    (`after_delete`), the delete's status and latency."""
    deleted_at = rec.now()
    sent = time.monotonic()
    status = await rec.delete(label)
    delete_ms = round((time.monotonic() - sent) * 1000, 1)
    sample = await rec.sample(label, seconds, tag="after-delete")
    facts = after_delete(sample, deleted_at)
    facts.update(delete_status=status, delete_ms=delete_ms)
    return facts


def _window_summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    free = [r["free_by_s"] for r in rounds if r["free_by_s"] is not None]
    out = {"rounds": len(rounds), "creates_403": [r["creates_403"] for r in rounds],
           "free_by_s": free, "free_by_s_max": max(free) if free else None,
           "last_403_s_max": max((r["last_403_s"] for r in rounds if r["last_403_s"]), default=None),
           "all_created": len(free) == len(rounds),
           "states_before": sorted({r["state_before"] for r in rounds}),
           "delete_statuses": sorted({r["delete_status"] for r in rounds})}
    if any("probes" in r for r in rounds):
        out["probe_states"] = sorted({s for r in rounds for s in r["probe_states"]})
        out["absent_then_403"] = sum(r["absent_then_403"] for r in rounds)
        out["first_absent_s"] = [r["first_absent_s"] for r in rounds]
    return out


@scenario("v2: a 200 delete answers before the name is free: re-creates get 403 for a while "
          "(quiet, probed, dialing, open)", dialects=("v2",))
async def delete_403_window(rec: Recorder) -> None:
    business = {k: (v.format(label=rec.run_id) if isinstance(v, str) else v)
                for k, v in BUSINESS.items()}
    await rec.create("w")
    await rec.create("o", **business)
    await rec.create("d", **DIAL)
    quiet = [await delete_then_recreate(rec, "w", probe=False) for _ in range(5)]
    probed = [await delete_then_recreate(rec, "w", probe=True) for _ in range(5)]
    opened = [await delete_then_recreate(rec, "o", probe=False, **business) for _ in range(3)]
    dialed = []
    for _ in range(3):
        await rec.wait_for("d", "connecting", limit_s=3.0)
        dialed.append(await delete_then_recreate(rec, "d", probe=True, **DIAL))
    rec.mark("quiet", _window_summary(quiet))
    rec.mark("probed", _window_summary(probed))
    rec.mark("open", _window_summary(opened))
    rec.mark("dialing", _window_summary(dialed))
    rec.mark("rounds", {"quiet": quiet, "probed": probed, "open": opened, "dialing": dialed})
    await rec.cleanup(["w", "o", "d"])


@scenario("v2: a database row with no live instance (inserted behind the server's back): no "
          "`state`, listed, 404 by name, 403 on create; connect/logout/restart; DELETE removes it",
          dialects=("v2",))
async def ghost_row(rec: Recorder) -> None:
    if not rec.has_db:
        rec.mark("db", False)
        return
    rec.mark("db", True)
    await rec.insert_row("g", "open", with_status=True)
    rec.mark("state", await rec.probe("g"))
    rec.mark("row", (await rec.rows()).get("g"))
    rec.mark("fetch_one", await rec.fetch_one("g"))
    rec.mark("in_metrics", "g" in await rec.metrics())
    rec.mark("create", await rec.create("g"))
    rec.mark("logout", await rec.logout("g"))
    rec.mark("state_after_logout", await rec.probe("g"))
    rec.mark("connect", await rec.connect("g"))
    rec.mark("state_after_connect", await rec.probe("g"))
    rec.mark("restart_instance", await rec.restart_instance("g"))
    rec.mark("state_after_restart_instance", await rec.probe("g"))
    rec.mark("row_after_calls", (await rec.rows()).get("g"))
    rec.mark("delete", await delete_then_watch(rec, "g", 2.0))
    rec.mark("rows_in_db_after_delete", await rec.count_rows("g"))
    rec.mark("listed_after_delete", "g" in await rec.listed())
    rec.mark("second_delete", await rec.delete("g"))
    rec.mark("recreate", await rec.create("g"))
    await rec.cleanup(["g"])


@scenario("v2: a row of another clientName on the same database (server b): invisible to this "
          "server's list, no `state`, 403 on create, and this server's DELETE destroys it",
          dialects=("v2",))
async def other_client_row(rec: Recorder) -> None:
    if not rec.other_url:
        rec.mark("other_server", False)
        return
    if rec.other_start_cmd:
        await rec.run_cmd(rec.other_start_cmd)
    try:
        await rec.wait_up("other")
        other_root = await rec.root(via="other")
        rec.mark("other_server", True)
        rec.mark("other_client_is_different", other_root.get("clientName") != rec.client_name)
        status, body, _ = await rec.create_answer("s", via="other")
        token = body.get("hash") if isinstance(body, dict) else None  # used, never written
        rec.mark("other_create", status)
        rec.mark("other_state", await rec.probe("s", via="other"))
        rec.mark("other_row", (await rec.rows(via="other")).get("s"))
        # from this server
        rec.mark("listed", "s" in await rec.listed())
        rec.mark("fetch_one", await rec.fetch_one("s"))
        rec.mark("state", await rec.probe("s"))
        rec.mark("in_metrics", "s" in await rec.metrics())
        rec.mark("create", await rec.create("s"))
        if isinstance(token, str):  # the other server's instance token, used here
            listed = "s" in await rec.rows(apikey=token)
            rec.mark("other_token_here", {"status": rec.events[-1]["status"], "listed": listed})
        rec.mark("logout", await rec.logout("s"))
        rec.mark("connect", await rec.connect("s"))
        rec.mark("state_after_connect", await rec.probe("s"))
        rec.mark("other_state_after_calls", await rec.probe("s", via="other"))
        rec.mark("other_row_after_calls", (await rec.rows(via="other")).get("s"))
        # last: this server's DELETE of the other server's row
        rec.mark("delete", await delete_then_watch(rec, "s", 1.5))
        await asyncio.sleep(0.5)
        rec.mark("rows_in_db_after_delete", await rec.count_rows("s"))
        rec.mark("other_listed_after_delete", "s" in await rec.listed(via="other"))
        rec.mark("other_state_after_delete", await rec.probe("s", via="other"))
        rec.mark("other_fetch_one_after_delete", await rec.fetch_one("s", via="other"))
        rec.mark("other_create_after_delete", await rec.create("s", via="other"))
        rec.mark("create_here_after_delete", await rec.create("s"))
        rec.mark("other_state_after_create_here", await rec.probe("s", via="other"))
        rec.mark("other_listed_after_create_here", "s" in await rec.listed(via="other"))
        await rec.cleanup(["s"])
        await rec.cleanup(["s"], via="other")
        rec.mark("final_here", await rec.probe("s"))
        rec.mark("final_other", await rec.probe("s", via="other"))
    finally:
        if rec.other_stop_cmd:
            await rec.run_cmd(rec.other_stop_cmd)


@scenario("v2: restart with rows in every state: every Baileys row (even a quiet close one) "
          "redials at boot; what each row's state, list status and memory look like after",
          dialects=("v2",))
async def restart_autoconnect(rec: Recorder) -> None:
    business = {k: (v.format(label=rec.run_id) if isinstance(v, str) else v)
                for k, v in BUSINESS.items()}
    labels = ["p", "d", "lo", "o", "e"]
    await rec.create("p")
    await rec.create("o", **business)
    await rec.create("e", integration="EVOLUTION")
    await dialing(rec, ["d", "lo"])
    rec.mark("logged_out_tries", (await rec.logout_until_ok("lo"))[0])
    if rec.has_db:
        labels.append("g")
        await rec.insert_row("g", "close")
    rec.mark("before", {label: await rec.probe(label) for label in labels})
    rec.mark("rows_before", await rec.rows())
    rec.mark("metrics_before", await rec.metrics())
    if not (rec.restart_cmd or rec.sim_control):
        rec.mark("restarted", False)
        await rec.cleanup(labels)
        return
    mark = await rec.log_mark()
    rec.mark("restart_s", round(await rec.restart(), 1))
    rec.mark("first_probe", {label: await rec.probe(label) for label in labels})
    rec.mark("after", {label: flapping(await rec.sample(label, 1.0, tag=f"{label}-after-restart"))
                       for label in labels})
    rec.mark("rows_after", await rec.rows())
    rec.mark("metrics_after", await rec.metrics())
    rec.mark("attempts_after_restart", await rec.log_attempts(mark, labels, tag="since-restart"))
    rec.mark("delete_reconnecting", await delete_then_watch(rec, "p", 1.5))
    rec.mark("recreate", await rec.create("p"))
    await rec.cleanup(labels)


@scenario("v2: delete of a zombie (dialing, logout 200 but the socket keeps reconnecting): "
          "the delete succeeds, the name is free, the orphan socket keeps dialing",
          dialects=("v2",))
async def zombie_delete(rec: Recorder) -> None:
    await dialing(rec, ["z", "y"])
    mark = await rec.log_mark()
    rec.mark("before", flapping(await rec.sample("z", 1.0, tag="dialing")))
    tries, statuses = await rec.logout_until_ok("z")
    rec.mark("logout_tries", tries)
    rec.mark("logout_statuses", sorted(set(statuses)))
    rec.mark("after_logout", flapping(await rec.sample("z", 1.5, tag="after-logout")))
    rec.mark("attempts_dialing_and_after_logout", await rec.log_attempts(mark, ["z"], tag="before-delete"))
    rec.mark("delete", await delete_then_watch(rec, "z", 1.5))
    rec.mark("second_delete", await rec.delete("z"))
    rec.mark("in_metrics_after_delete", "z" in await rec.metrics())
    mark = await rec.log_mark()
    await asyncio.sleep(2.0)
    rec.mark("orphan_attempts_2s", await rec.log_attempts(mark, ["z"], tag="orphan-2s"))
    # the same name again, quiet: does the orphan reach the new instance?
    rec.mark("recreate", await rec.create("z"))
    mark = await rec.log_mark()
    rec.mark("recreated", flapping(await rec.sample("z", 2.0, tag="recreated")))
    rec.mark("recreated_row", (await rec.rows()).get("z"))
    rec.mark("attempts_while_recreated", await rec.log_attempts(mark, ["z"], tag="recreated-2s"))
    # a dialing instance deleted without a logout first, caught connecting
    rec.mark("direct_caught_connecting", await rec.wait_for("y", "connecting", limit_s=3.0))
    rec.mark("direct_delete", await delete_then_watch(rec, "y", 1.5))
    mark = await rec.log_mark()
    await asyncio.sleep(2.0)
    rec.mark("direct_orphan_attempts_2s", await rec.log_attempts(mark, ["y"], tag="direct-orphan-2s"))
    await rec.cleanup(["z", "y"])
