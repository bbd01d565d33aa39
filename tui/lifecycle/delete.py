"""Verified removal of one instance: logout → delete → verify by probe → retry.

The name is verified with `connectionState` (a probe), never with `fetchInstances`, which
cannot see names the server still reserves (contract §6). The caller removes database
records only when the outcome is `removed` or `already_absent`.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from collections import deque
from dataclasses import dataclass

from tui.evolution.errors import (
    EvolutionError,
    NotConnectedError,
    NotFoundError,
    UnauthorizedError,
)
from tui.evolution.models import InstanceState, ProbeState
from tui.lifecycle.events import Clock, EventSink, Step, StepEvent, StepOutcome, TargetOutcome

RESERVED_HINT = "the server keeps the name reserved; restarting Evolution API frees it"


@dataclass(frozen=True)
class DeletePolicy:
    """How hard to try. `verify_timeout_s` is the total verification budget of one target."""

    verify_timeout_s: float = 15.0
    max_attempts: int = 3
    first_poll_s: float = 0.02
    poll_factor: float = 1.6
    max_poll_s: float = 0.5
    # Names usually free up within a few hundred ms of the delete (the server's asynchronous
    # cleanup): poll at most every `fast_poll_s` during the first `fast_phase_s`, so the
    # verification ends close to the moment the name is free, then back off to `max_poll_s`.
    fast_phase_s: float = 1.0
    fast_poll_s: float = 0.05

    def attempt_window(self) -> float:
        return self.verify_timeout_s / self.max_attempts


@dataclass
class DeleteResult:
    outcome: TargetOutcome
    reason: str = ""
    attempts: int = 0


class InstanceRemover:
    """Runs the verified delete of one name against an Evolution client."""

    def __init__(self, client, policy: DeletePolicy, sink: EventSink, operation: str,
                 rng: random.Random | None = None):
        self.client = client
        self.policy = policy
        self.sink = sink
        self.operation = operation
        self.rng = rng or random.Random()
        # When names freed after a delete (seconds from the first verify probe), for names
        # that were still reserved at that probe: the server's cleanup lag, learnt over the
        # targets of one operation so that later verifications wait about that long instead
        # of polling through it (fewer probes, an earlier answer).
        # Kept per kind of delete (after a logout or not): a logged-out instance is usually
        # freed by the delete itself, a closed one only after the cleanup lag.
        self._free_after: dict[bool, deque[float]] = {False: deque(maxlen=16),
                                                      True: deque(maxlen=16)}
        self._first_reserved: dict[bool, deque[bool]] = {False: deque(maxlen=16),
                                                         True: deque(maxlen=16)}

    def _emit(self, clock: Clock, name: str, step: Step, attempt: int, outcome: StepOutcome,
              detail: str = "") -> None:
        self.sink(StepEvent(self.operation, name, step, attempt, outcome, clock.elapsed(), detail))

    async def remove(self, name: str, state: InstanceState | None = None,
                     probed: ProbeState | None = None) -> DeleteResult:
        """Remove `name`. `state` is the last known connection state (decides on logout);
        `probed` is a probe answer the caller already has (saves one request).
        `UnauthorizedError` propagates: no later target can succeed with that key."""
        return await self._remove(Clock(), name, state, probed)

    async def _remove(self, clock: Clock, name: str, state: InstanceState | None,
                      probed: ProbeState | None) -> DeleteResult:
        # Unknown state (nothing known), or a name the plan saw free: one fresh probe decides,
        # and a free name costs that probe only, not a DELETE.
        if state is None and probed in (None, ProbeState.ABSENT):
            probe = await self._probe(clock, name, 1)
            if isinstance(probe, str):
                return DeleteResult(TargetOutcome.FAILED, probe, 0)
            probed, state = probe
            if probed is ProbeState.ABSENT:
                return DeleteResult(TargetOutcome.ALREADY_ABSENT, "the name was already free", 0)
        already_gone = True
        last = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            logged_out = state in (InstanceState.OPEN, InstanceState.CONNECTING)
            if logged_out:
                await self._logout(clock, name, attempt)
            try:
                await self.client.delete(name)
                self._emit(clock, name, Step.DELETE, attempt, StepOutcome.OK)
                already_gone = False
            except NotFoundError:
                self._emit(clock, name, Step.DELETE, attempt, StepOutcome.GONE, "404: not there")
            except UnauthorizedError:
                raise
            except EvolutionError as exc:
                last = f"delete failed: {exc}"
                outcome = StepOutcome.RETRY if attempt < self.policy.max_attempts else StepOutcome.FAILED
                self._emit(clock, name, Step.DELETE, attempt, outcome, str(exc))
                if attempt < self.policy.max_attempts:
                    await asyncio.sleep(self._pause(attempt))
                    continue
                return DeleteResult(TargetOutcome.FAILED, last, attempt)
            verdict = await self._verify(clock, name, attempt, self.policy.attempt_window(),
                                         logged_out=logged_out)
            if verdict is ProbeState.ABSENT:
                if already_gone:
                    return DeleteResult(TargetOutcome.ALREADY_ABSENT, "the name was already free",
                                        attempt)
                return DeleteResult(TargetOutcome.REMOVED, "", attempt)
            if verdict is ProbeState.RESERVED:
                last = RESERVED_HINT
            elif verdict is ProbeState.PRESENT:
                last = f"instance still present after {attempt} delete(s)"
                state = None
            else:
                last = f"could not verify: {verdict}"
        if last == RESERVED_HINT:
            return DeleteResult(TargetOutcome.STUCK_RESERVED, RESERVED_HINT,
                                self.policy.max_attempts)
        return DeleteResult(TargetOutcome.FAILED, last, self.policy.max_attempts)

    async def _logout(self, clock: Clock, name: str, attempt: int) -> None:
        try:
            await self.client.logout(name)
            self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.OK)
        except (NotConnectedError, NotFoundError) as exc:
            self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.SKIPPED, str(exc))
        except UnauthorizedError:
            raise
        except EvolutionError as exc:
            # delete logs out open/connecting instances by itself: go on, but report it.
            self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.FAILED, str(exc))

    async def _probe(self, clock: Clock, name: str, attempt: int):
        try:
            result = await self.client.probe(name)
        except UnauthorizedError:
            raise
        except EvolutionError as exc:
            self._emit(clock, name, Step.PROBE, attempt, StepOutcome.FAILED, str(exc))
            return f"probe failed: {exc}"
        self._emit(clock, name, Step.PROBE, attempt, StepOutcome(result.state.value))
        return result.state, result.instance_state

    async def _verify(self, clock: Clock, name: str, attempt: int, window: float, *,
                      logged_out: bool = False):
        """Probe until the name is absent or `window` seconds passed; returns the last state
        (or an error text when no probe could be made).

        Timing is learnt over the targets of one operation, per kind of delete (`logged_out`):
        when the name was still reserved at the first probe (the server's asynchronous
        cleanup), the middle of the interval in which it was freed. With that estimate the
        next probe waits about that long instead of polling through the lag; and when the
        first probe of that kind is almost always `reserved`, it is skipped. Without an
        estimate the probes start at once and the pause grows from `first_poll_s`; polling
        stays fast (`fast_poll_s`) for `fast_phase_s`, then backs off to `max_poll_s`.
        Only the timing is learnt: the verdict is always a probe's answer."""
        deadline = clock.elapsed() + window
        pause = self.policy.first_poll_s
        started = clock.elapsed()
        polls = 0
        last: ProbeState | str = "no probe answered"
        learnt_free = self._free_after[logged_out]
        first_reserved = self._first_reserved[logged_out]
        last_reserved_at: float | None = None  # send time of the last probe that saw reserved
        if (len(learnt_free) >= 4 and len(first_reserved) >= 8
                and sum(first_reserved) >= len(first_reserved) - 1):
            # the first probe would almost surely say reserved: start with the learnt lag
            last_reserved_at = 0.0
            await self._sleep_until(clock, started, statistics.median(learnt_free), deadline)
            pause = self.policy.first_poll_s / self.policy.poll_factor
        while True:
            polls += 1
            sent_at = clock.elapsed() - started
            try:
                result = await self.client.probe(name)
                last = result.state
            except UnauthorizedError:
                raise
            except EvolutionError as exc:
                last = str(exc)
            if polls == 1 and last_reserved_at is None and isinstance(last, ProbeState):
                first_reserved.append(last is ProbeState.RESERVED)
            if last is ProbeState.ABSENT:
                if last_reserved_at is not None and sent_at <= self.policy.fast_phase_s:
                    learnt_free.append((last_reserved_at + sent_at) / 2)  # freed in between
                break
            if clock.elapsed() >= deadline:
                break
            if last is ProbeState.PRESENT and polls >= 3:
                break  # delete did not take: retry the delete rather than wait
            wait = pause * self.rng.uniform(0.8, 1.2)
            if last is ProbeState.RESERVED:
                if last_reserved_at is None and learnt_free:
                    wait = max(wait, statistics.median(learnt_free) - sent_at)
                    pause = self.policy.first_poll_s / self.policy.poll_factor
                last_reserved_at = sent_at
            await asyncio.sleep(min(wait, max(0.0, deadline - clock.elapsed())))
            fast = clock.elapsed() - started < self.policy.fast_phase_s
            cap = self.policy.fast_poll_s if fast else self.policy.max_poll_s
            pause = min(pause * self.policy.poll_factor, cap)
        if isinstance(last, ProbeState):
            detail = f"{last.value} after {clock.elapsed():.2f} s ({polls} probe{'s' * (polls > 1)})"
            self._emit(clock, name, Step.VERIFY, attempt, StepOutcome(last.value), detail)
        else:
            self._emit(clock, name, Step.VERIFY, attempt, StepOutcome.FAILED, last)
        return last

    @staticmethod
    async def _sleep_until(clock: Clock, started: float, offset: float, deadline: float) -> None:
        wait = min(started + offset, deadline) - clock.elapsed()
        if wait > 0:
            await asyncio.sleep(wait)

    def _pause(self, attempt: int) -> float:
        return min(self.policy.max_poll_s * 2, 0.05 * (2 ** attempt)) * self.rng.uniform(0.5, 1.0)
