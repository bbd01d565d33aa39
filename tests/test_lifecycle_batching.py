"""Round trips shared by the targets that ask at about the same time: the `Coalescer`, and the
audit log's group commit (intents synced together, before their mutation)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tui.lifecycle import audit as audit_module
from tui.lifecycle.audit import AuditError, AuditLog
from tui.lifecycle.batching import Coalescer
from tui.lifecycle.domain import TargetOutcome
from tui.lifecycle.events import Summary, TargetResult


class Fetcher:
    """A fetch that records its batches and answers each key with its double, slowly."""

    def __init__(self, delay: float = 0.01, fail: BaseException | None = None) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.fail = fail

    async def __call__(self, keys: list[int]) -> dict[int, int]:
        self.batches.append(list(keys))
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return {k: 2 * k for k in keys if k != 13}


async def test_keys_asked_together_share_a_round_trip_and_a_lone_one_goes_at_once():
    fetch = Fetcher()
    coalescer: Coalescer[int, int] = Coalescer(fetch, default=lambda: -1)
    assert await asyncio.gather(*(coalescer(k) for k in (1, 2, 3, 2))) == [2, 4, 6, 4]
    assert fetch.batches == [[1, 2, 3]]  # one round trip, each key once

    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await coalescer(5) == 10
    assert loop.time() - started < 0.5  # nothing waits for a batch to fill
    assert fetch.batches[-1] == [5] and coalescer.round_trips == 2


async def test_keys_asked_during_a_round_trip_go_together_in_the_next():
    fetch = Fetcher(delay=0.05)
    coalescer: Coalescer[int, int] = Coalescer(fetch)
    first = asyncio.ensure_future(coalescer(1))
    await asyncio.sleep(0.01)  # the first round trip is in flight
    later = [asyncio.ensure_future(coalescer(k)) for k in (2, 3, 4)]
    assert await first == 2 and [await f for f in later] == [4, 6, 8]
    assert fetch.batches == [[1], [2, 3, 4]]


async def test_batches_are_capped():
    fetch = Fetcher()
    coalescer: Coalescer[int, int] = Coalescer(fetch, max_batch=2)
    assert await asyncio.gather(*(coalescer(k) for k in range(5))) == [0, 2, 4, 6, 8]
    assert fetch.batches == [[0, 1], [2, 3], [4]]


async def test_a_failed_round_trip_fails_each_of_its_callers_and_the_next_goes_on():
    boom = RuntimeError("store down")
    fetch = Fetcher(fail=boom)
    coalescer: Coalescer[int, int] = Coalescer(fetch)
    results = await asyncio.gather(coalescer(1), coalescer(2), return_exceptions=True)
    assert results == [boom, boom]
    fetch.fail = None
    assert await coalescer(3) == 6


async def test_a_key_without_an_answer():
    with_default: Coalescer[int, int] = Coalescer(Fetcher(), default=lambda: -1)
    assert await with_default(13) == -1
    without: Coalescer[int, int] = Coalescer(Fetcher())
    with pytest.raises(LookupError):
        await without(13)


async def test_a_cancelled_caller_does_not_cancel_the_others_and_its_answer_is_handed_back():
    fetch = Fetcher(delay=0.05)
    abandoned: list[tuple[int, int]] = []
    coalescer: Coalescer[int, int] = Coalescer(fetch, abandoned=lambda k, v: abandoned.append(
        (k, v)))
    mine = asyncio.ensure_future(coalescer(1))
    other = asyncio.ensure_future(coalescer(2))
    await asyncio.sleep(0.01)
    mine.cancel()
    assert await other == 4
    with pytest.raises(asyncio.CancelledError):
        await mine
    assert abandoned == [(1, 2)]  # (a claim taken for a cancelled target is released)


# ---------------------------------------------------------------------------- audit
def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def syncs(monkeypatch) -> list[int]:
    """Every fdatasync of the audit log (the fd's file size at that moment)."""
    seen: list[int] = []
    real = audit_module._sync

    def counting(fd: int) -> None:
        import os
        seen.append(os.fstat(fd).st_size)
        real(fd)

    monkeypatch.setattr(audit_module, "_sync", counting)
    return seen


async def test_intents_of_the_moment_share_one_sync_made_before_any_returns(tmp_path, syncs):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.start("op", "clear_all", "all", ["a", "b", "c"])
    assert len(syncs) == 1

    async def intent(name: str) -> int:
        log.append_intent("op", "clear_all", name, "probe → delete")
        await log.durable()
        return syncs[-1]  # what was on disk when this intent's wait ended

    on_disk = await asyncio.gather(*(intent(n) for n in "abc"))
    assert len(syncs) == 2  # one sync for the three intents
    assert on_disk == [path.stat().st_size] * 3  # each returned after its line was synced
    assert [e["target"] for e in lines(path) if e["event"] == "intent"] == ["a", "b", "c"]

    await intent("d")  # a later intent: a sync of its own
    assert len(syncs) == 3
    await log.durable()  # nothing new: no sync
    assert len(syncs) == 3


async def test_an_outcome_is_synced_with_the_next_intent_and_the_summary_syncs_all(tmp_path,
                                                                                  syncs):
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    result = TargetResult("a", TargetOutcome.REMOVED, reseller_id="r1", records_removed=1)
    log.outcome("op", "delete", result)
    assert syncs == [] and lines(path)[0]["event"] == "outcome"  # written, not yet synced
    log.append_intent("op", "delete", "b", "delete")
    await log.durable()
    assert syncs == [path.stat().st_size]  # covers the outcome before it too
    log.outcome("op", "delete", TargetResult("b", TargetOutcome.REMOVED))
    log.record(Summary("delete", "all"), "op")
    assert syncs[-1] == path.stat().st_size and len(syncs) == 2
    assert [e["event"] for e in lines(path)] == ["outcome", "intent", "outcome", "summary"]


async def test_an_intent_that_cannot_be_written_or_synced_raises(tmp_path, monkeypatch):
    blocked = tmp_path / "log-is-a-dir"
    blocked.mkdir()
    log = AuditLog(blocked)
    with pytest.raises(AuditError, match="cannot be written"):
        log.append_intent("op", "delete", "a", "delete")

    log = AuditLog(tmp_path / "audit.jsonl")
    log.append_intent("op", "delete", "a", "delete")

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(audit_module, "_sync", failing)
    results = await asyncio.gather(log.durable(), log.durable(), return_exceptions=True)
    assert all(isinstance(r, AuditError) and "Input/output error" in str(r) for r in results)
