"""Verifying a delete: probe until the name is absent, then hold the absence.

Free means: absent, and still absent `free_hold_s` after the first 404 (recorded: a name that
came back did so 0.09-0.26 s after its first 404). Timing is learnt over the targets of one
operation, per kind of delete (after a logout that landed or not): when the name was still
reserved at the first probe (the server's asynchronous cleanup), the middle of the interval
in which it was freed. With that estimate the next verification waits about that long
instead of polling through the lag; when the first probe of that kind is almost always
`reserved`, it is skipped. Only the timing is learnt: the verdict is always a probe's answer.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from collections import deque
from dataclasses import dataclass

from tui.evolution.errors import EvolutionError, UnauthorizedError
from tui.evolution.models import InstanceState, ProbeResult, ProbeState
from tui.lifecycle.domain import Step, StepOutcome
from tui.lifecycle.events import Clock
from tui.lifecycle.ports import EvolutionPort
from tui.lifecycle.removal.policy import DeletePolicy, Emit
from tui.lifecycle.removal.slot import Slot


#: A patient verification (v2: no slot held) waits for this quantile of the learnt lag.
PATIENT_QUANTILE = 0.8
#: ... and learns, from a first probe that found the name free, a wait this much shorter.
PATIENT_SHRINK = 0.95


@dataclass(frozen=True)
class Verdict:
    """What a verification (or a probe) came to: a probe's state, or `error` when none
    answered; `instance_state` of the last probe that saw an instance."""

    state: ProbeState | None
    error: str = ""
    instance_state: InstanceState | None = None

    @property
    def absent(self) -> bool:
        return self.state is ProbeState.ABSENT


@dataclass
class _Poll:
    """The state of one verification's polling."""

    started: float
    deadline: float
    pause: float
    polls: int = 0
    last_reserved_at: float | None = None  # send time of the last probe that saw reserved
    patient: bool = False  # waits without its slot (`Verifier.verify`)
    waited: float | None = None  # a patient verification's learnt wait before its first probe


class Verifier:
    """Probes names after their delete; learns the server's cleanup lag over one operation."""

    def __init__(self, client: EvolutionPort, policy: DeletePolicy, rng: random.Random) -> None:
        self.client = client
        self.policy = policy
        self.rng = rng
        self._free_after: dict[bool, deque[float]] = {False: deque(maxlen=16),
                                                      True: deque(maxlen=16)}
        self._first_reserved: dict[bool, deque[bool]] = {False: deque(maxlen=16),
                                                         True: deque(maxlen=16)}

    async def probe(self, name: str, emit: Emit, *, locate: bool = False) -> Verdict:
        """One probe, reported as a PROBE step; with `locate`, a reserved name is told apart
        from another server's (FOREIGN). `UnauthorizedError` propagates."""
        try:
            result = await (self.client.locate(name) if locate else self.client.probe(name))
        except UnauthorizedError:
            raise
        except EvolutionError as exc:
            emit(Step.PROBE, StepOutcome.FAILED, str(exc))
            return Verdict(None, f"probe failed: {exc}")
        emit(Step.PROBE, StepOutcome(result.state.value),
             result.instance_state.value if result.instance_state else "")
        return Verdict(result.state, instance_state=result.instance_state)

    async def hold(self, clock: Clock, name: str, slot: Slot, emit: Emit, *,
                   since: float) -> Verdict:
        """The name was absent at `since` (clock time): probe it again until its absence
        has lasted `free_hold_s`. Probes at about 30 % (where a name that comes back is
        retried: it does so within 0.2 s of its first 404, noticed early, retried early) and
        at 100 % of the hold; the target's slot is given up meanwhile."""
        hold = self.policy.hold_s
        polls = 0
        slot.give_up()
        for fraction in self.policy.hold_probes:
            wait = since + hold * fraction - clock.elapsed()
            if wait > 0:
                await asyncio.sleep(wait)
            polls += 1
            try:
                result = await self.client.probe(name)
            except UnauthorizedError:
                raise
            except EvolutionError as exc:
                emit(Step.VERIFY, StepOutcome.FAILED, f"absence not confirmed: {exc}")
                return Verdict(None, str(exc))
            if result.state is not ProbeState.ABSENT:
                emit(Step.VERIFY, StepOutcome(result.state.value),
                     f"came back {clock.elapsed() - since:.2f} s after it was free")
                return Verdict(result.state)
        emit(Step.VERIFY, StepOutcome.ABSENT,
             f"free for {clock.elapsed() - since:.2f} s ({polls} probes)")
        return Verdict(ProbeState.ABSENT)

    async def verify(self, clock: Clock, name: str, window: float, slot: Slot, emit: Emit,
                     *, logged_out: bool = False, loaded_is_held: bool = False,
                     patient: bool = False) -> Verdict:
        """Probe until the name is absent or `window` seconds passed, then hold the
        absence; the verdict, with the instance state of the last probe that saw one.
        `loaded_is_held`: the instance still answering with a state after its delete is the
        server's cleanup not yet begun (v2 unloads it only after the delete's event fan-out),
        waited for like a reserved name, not taken for a delete that did not take.
        `patient`: the target waits without its slot (v2), so a later first probe costs only
        its own latency: it waits for the upper part of the learnt lag (`PATIENT_QUANTILE`)
        rather than its median, and a first probe that finds the name free teaches a wait a
        little shorter than its own (`PATIENT_SHRINK`), so most names need one probe and the
        wait still follows a server that got faster; before anything is learnt its probes
        back off without the fast phase's cap."""
        poll = _Poll(clock.elapsed(), clock.elapsed() + window, self.policy.first_poll_s,
                     patient=patient)
        learnt_free = self._free_after[logged_out]
        first_reserved = self._first_reserved[logged_out]
        if (len(learnt_free) >= 4 and len(first_reserved) >= 8
                and sum(first_reserved) >= len(first_reserved) - 1):
            # the first probe would almost surely say reserved: start with the learnt lag
            wait = _estimate(learnt_free, patient)
            if patient:
                poll.waited = wait
            else:
                poll.last_reserved_at = 0.0
            await self._sleep_until(clock, poll.started, wait, poll.deadline)
            poll.pause = self.policy.first_poll_s / self.policy.poll_factor
        last = Verdict(None, "no probe answered")
        state: InstanceState | None = None
        while True:
            poll.polls += 1
            sent_at = clock.elapsed() - poll.started
            last = await self._one_probe(name)
            state = last.instance_state if last.state is not None else state
            held = last.state is ProbeState.RESERVED or (
                loaded_is_held and last.state is ProbeState.PRESENT)
            if (poll.polls == 1 and poll.last_reserved_at is None and poll.waited is None
                    and last.state is not None):
                first_reserved.append(held)
            if last.absent:
                return await self._absent(clock, name, slot, emit, poll, sent_at, learnt_free)
            if clock.elapsed() >= poll.deadline:
                break
            if last.state is ProbeState.PRESENT and poll.polls >= 3 and not held:
                break  # delete did not take: retry the delete rather than wait
            await self._wait(clock, poll, held, sent_at, learnt_free)
        self._report_end(clock, emit, poll, last)
        return Verdict(last.state, last.error, state)

    async def _one_probe(self, name: str) -> Verdict:
        try:
            result: ProbeResult = await self.client.probe(name)
        except UnauthorizedError:
            raise
        except EvolutionError as exc:
            return Verdict(None, str(exc))
        return Verdict(result.state, instance_state=result.instance_state)

    async def _absent(self, clock: Clock, name: str, slot: Slot, emit: Emit, poll: _Poll,
                      sent_at: float, learnt_free: deque[float]) -> Verdict:
        if poll.polls == 1 and poll.waited is not None:
            learnt_free.append(poll.waited * PATIENT_SHRINK)  # free by then: a bit sooner
        elif poll.last_reserved_at is not None and sent_at <= self.policy.fast_phase_s:
            learnt_free.append((poll.last_reserved_at + sent_at) / 2)  # freed in between
        emit(Step.VERIFY, StepOutcome.ABSENT,
             f"free after {clock.elapsed():.2f} s ({poll.polls} probe"
             f"{'s' * (poll.polls > 1)}); holding {self.policy.hold_s:.1f} s")
        held = await self.hold(clock, name, slot, emit, since=poll.started + sent_at)
        return Verdict(held.state, held.error, None)

    async def _wait(self, clock: Clock, poll: _Poll, held: bool, sent_at: float,
                    learnt_free: deque[float]) -> None:
        policy = self.policy
        wait = poll.pause * self.rng.uniform(0.8, 1.2)
        if held:  # still held by the server's cleanup: wait about the learnt lag
            if poll.last_reserved_at is None and learnt_free:
                wait = max(wait, statistics.median(learnt_free) - sent_at)
                poll.pause = policy.first_poll_s / policy.poll_factor
            poll.last_reserved_at = sent_at
        await asyncio.sleep(min(wait, max(0.0, poll.deadline - clock.elapsed())))
        # the fast phase keeps a held slot's wait short; a patient one backs off at once
        fast = clock.elapsed() - poll.started < policy.fast_phase_s and not poll.patient
        cap = policy.fast_poll_s if fast else policy.max_poll_s
        poll.pause = min(poll.pause * policy.poll_factor, cap)

    @staticmethod
    def _report_end(clock: Clock, emit: Emit, poll: _Poll, last: Verdict) -> None:
        if last.state is not None:
            plural = "s" * (poll.polls > 1)
            emit(Step.VERIFY, StepOutcome(last.state.value),
                 f"{last.state.value} after {clock.elapsed():.2f} s ({poll.polls} probe{plural})")
        else:
            emit(Step.VERIFY, StepOutcome.FAILED, last.error)

    @staticmethod
    async def _sleep_until(clock: Clock, started: float, offset: float, deadline: float) -> None:
        wait = min(started + offset, deadline) - clock.elapsed()
        if wait > 0:
            await asyncio.sleep(wait)


def _estimate(learnt: deque[float], patient: bool) -> float:
    """When a name is likely free after its delete, from what was learnt: the median, or
    for a patient verification the `PATIENT_QUANTILE`."""
    if not patient:
        return statistics.median(learnt)
    ordered = sorted(learnt)
    return ordered[round(PATIENT_QUANTILE * (len(ordered) - 1))]
