"""The named server scenarios: what to do to an Evolution v1.8 server and what to write down.

Each scenario is an async function of a `Recorder`. It uses its own fresh names, leaves the
server as it found it (dialing stopped, instances deleted; the restart scenario restarts it),
and sets `marks`: the facts the differential comparison looks at (`compare.py`). The same
code runs against the real server (recorded into `tests/data/real-v1.8/`) and against the
simulator (in the default suite), so the facts are derived the same way on both.

Contract sections: §11 (dialing dynamics), §6 (reserved names), §3.6/3.7 (logout, delete).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.scenarios.runner import Recorder, Sample

Scenario = Callable[[Recorder], Awaitable[None]]
SCENARIOS: dict[str, tuple[Scenario, str]] = {}

DIAL = {"qrcode": True}
BUSINESS = {"integration": "WHATSAPP-BUSINESS", "token": "scenario-token-{label}",
            "number": "5511900000000"}
AFTER_DELETE_S = 3.0  # how long a name is watched after a delete


def scenario(description: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[fn.__name__] = (fn, description)
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
