"""Verified removal of one instance: re-check → stop the dialing → delete → verify → retry.

What the real v1.8 server does (contract §11, recorded in `tests/data/real-v1.8/`):

* An instance may be *dialing* WhatsApp (after a QR create, a connect, or any restart of the
  server). Offline its state flips `close` ↔ `connecting` many times a second, so one
  snapshot mostly says `close`. A delete that lands while it is `close` orphans its socket,
  and the socket re-creates the name: reserved at once, or free for 0.1–0.3 s and then
  reserved until the server restarts. So `close` never proves "quiet".
* A logout that lands while it is `connecting` answers 200 and stops the dialing for good;
  in `close` it answers 400 "not connected". A quiet `close` instance answers 400 every time.

So before every delete of a listed instance the remover retries the logout until a 200
(the dialing stopped), or until the instance was seen `close` often and long enough to be
taken as quiet (`quiet_samples`, `quiet_logouts`, `quiet_logout_s`) - longer once it was
seen dialing (`dialing_logout_s`). After the delete the name counts as free only when its absence
has lasted `free_hold_s` (a name that came back did so within 0.26 s of its first 404 in
every recording). A name that comes back is `reserved`: retried, then `stuck_reserved`.
The verdict is always a probe's (`connectionState`), never `fetchInstances`, which cannot
see reserved names (§6). The caller removes records only for `removed` / `already_absent`.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from tui.evolution.errors import (
    EvolutionError,
    NotConnectedError,
    NotFoundError,
    UnauthorizedError,
)
from tui.evolution.models import InstanceState, ProbeState
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.events import Clock, EventSink, Step, StepEvent, StepOutcome, TargetOutcome

RESERVED_HINT = (
    "the server still reserves the name (the deleted instance's orphaned connection "
    "re-creates it): restarting Evolution API frees it, and also sets every persisted "
    "instance dialing - run evodash again right after the restart, it stops the dialing "
    "before each delete")


@dataclass(frozen=True)
class DeletePolicy:
    """How hard to try. `verify_timeout_s` is the verification budget of one target (split
    over its attempts) for the name to become free; `free_hold_s` is added once it is."""

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
    # Free means: absent, and still absent `free_hold_s` after the first 404 (recorded: a
    # name that came back did so 0.09-0.26 s after its first 404; 1.0 s is about 4x that).
    free_hold_s: float = 1.0
    # Stopping the dialing (§11.2): a listed instance is taken as quiet once it was seen
    # `close` at least `quiet_samples` times over at least `quiet_logout_s` and never
    # `connecting`; samples are its logout answers (400 "not connected", at least
    # `quiet_logouts` of them), the probes in between, and - in a bulk operation - the
    # lists of the operation's census (`LifecycleService._census`), which sample every
    # instance with one request. Recorded: dialing instances answered 200 within 1-20
    # tries, mostly 1-4, as `connecting` showed in 8-41 % of observations; at 25 %, 30
    # samples let a dialing one pass for quiet about once in 5,600 (and then its name is
    # held, found reserved and reported stuck - its record kept). Once seen dialing, the
    # logout is retried for up to `dialing_logout_s`.
    quiet_samples: int = 30
    quiet_logouts: int = 3
    quiet_logout_s: float = 0.4
    dialing_logout_s: float = 8.0
    logout_pause_s: float = 0.02  # random pause 0..this between tries (off the flapping beat)
    census_wait_s: float = 0.1  # extra pause between logouts once a census samples for them
    dialing_streams: int = 3  # logouts sent together (staggered) once an instance is seen dialing

    def attempt_window(self) -> float:
        return self.verify_timeout_s / self.max_attempts


@dataclass
class DeleteResult:
    outcome: TargetOutcome
    reason: str = ""
    attempts: int = 0


class Dialing(StrEnum):
    """What stopping the dialing of one listed instance came to."""

    STOPPED = "stopped"  # a logout answered 200: no dialing from now on
    QUIET = "quiet"  # answered 400 often and long enough: taken as not dialing
    UNSTOPPED = "unstopped"  # seen dialing, but no logout landed within the budget
    GONE = "gone"  # the name went away meanwhile (404 / absent)
    RESERVED = "reserved"  # not in memory any more: a reserved name (logout is pointless)


class Slot:
    """A place in the operation's concurrency limit, held while a target works and given up
    while it only waits for its absence to last (`free_hold_s`), so waiting targets do not
    hold back working ones; taken again only if the target needs another attempt."""

    def __init__(self, gate: asyncio.Semaphore | None) -> None:
        self.gate = gate
        self.held = False

    async def __aenter__(self) -> Slot:
        await self.take()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.give_up()

    async def take(self) -> None:
        if self.gate is not None and not self.held:
            await self.gate.acquire()
            self.held = True

    def give_up(self) -> None:
        if self.held and self.gate is not None:
            self.held = False
            self.gate.release()


class InstanceRemover:
    """Runs the verified delete of one name against an Evolution client."""

    def __init__(self, client, policy: DeletePolicy, sink: EventSink, operation: str,
                 rng: random.Random | None = None, dialing: DialingTracker | None = None):
        self.client = client
        self.policy = policy
        self.sink = sink
        self.operation = operation
        self.rng = rng or random.Random()
        # sightings of `connecting` from elsewhere (the operation's census of the list, the
        # dashboard's refreshes): an instance seen dialing is not taken for quiet
        self.dialing = dialing or DialingTracker()
        self.stopping = 0  # targets now trying to stop a dialing (the census runs meanwhile)
        self.census_close: dict[str, int] = {}  # lists of the census that showed it `close`
        self.census_since: float | None = None  # monotonic time of the census' first list
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
                     probed: ProbeState | None = None, *,
                     slot: Slot | None = None, expect_unlisted: bool = False) -> DeleteResult:
        """Remove `name`. `state` / `probed` are what the plan knew; the name is re-checked
        with a fresh probe anyway (a plan may be stale). `slot`: the target's place in the
        operation's concurrency limit, held by the caller (given up while only waiting).
        `expect_unlisted`: the plan saw no instance (an orphan record): one that is there now
        appeared since (the platform re-provisioned the name) and is not touched.
        `UnauthorizedError` propagates: no later target can succeed with that key."""
        return await self._remove(Clock(), name, slot or Slot(None), state, expect_unlisted)

    async def _remove(self, clock: Clock, name: str, slot: Slot,
                      state: InstanceState | None = None,
                      expect_unlisted: bool = False) -> DeleteResult:
        if state is None:
            # not listed in the plan (a reserved name, a free one, or unknown): probe first
            probe = await self._probe(clock, name, 1)
            if isinstance(probe, str):
                return DeleteResult(TargetOutcome.FAILED, probe, 0)
            probed, state = probe
            if probed is ProbeState.PRESENT and expect_unlisted:
                return DeleteResult(TargetOutcome.SKIPPED,
                                    "changed since the plan: an instance appeared for this "
                                    "name (re-provisioned?); not touched", 0)
        else:
            # listed in the plan: the first logout re-checks it (400 = listed and close,
            # 200 = it was connecting, 404 = gone meanwhile)
            probed = ProbeState.PRESENT
        if probed is ProbeState.ABSENT:
            held = await self._hold(clock, name, 1, slot, since=clock.elapsed())
            if held is ProbeState.ABSENT:
                return DeleteResult(TargetOutcome.ALREADY_ABSENT, "the name was already free", 0)
            probed, state = (held, None) if isinstance(held, ProbeState) else (ProbeState.RESERVED, None)
        deleted = False
        last = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            await slot.take()  # given up while a previous hold waited
            logged_out = False
            if probed is ProbeState.PRESENT:
                self.stopping += 1
                try:
                    dialing = await self._stop_dialing(clock, name, attempt, state)
                finally:
                    self.stopping -= 1
                logged_out = dialing is Dialing.STOPPED
                if dialing is Dialing.GONE and attempt == 1:
                    held = await self._hold(clock, name, attempt, slot, since=clock.elapsed())
                    if held is ProbeState.ABSENT:
                        return DeleteResult(TargetOutcome.ALREADY_ABSENT,
                                            "the name was already free", 0)
                    await slot.take()
            try:
                await self.client.delete(name)
                self._emit(clock, name, Step.DELETE, attempt, StepOutcome.OK)
                deleted = True
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
            verdict, state = await self._verify(clock, name, attempt, self.policy.attempt_window(),
                                                slot, logged_out=logged_out)
            if verdict is ProbeState.ABSENT:
                if not deleted:
                    return DeleteResult(TargetOutcome.ALREADY_ABSENT, "the name was already free",
                                        attempt)
                return DeleteResult(TargetOutcome.REMOVED, "", attempt)
            if verdict is ProbeState.RESERVED:
                last = RESERVED_HINT
                probed = ProbeState.RESERVED
            elif verdict is ProbeState.PRESENT:
                last = f"instance still present after {attempt} delete(s)"
                probed = ProbeState.PRESENT
            else:
                last = f"could not verify: {verdict}"
                probed = ProbeState.PRESENT  # unknown: take it as listed (stop dialing first)
        if last == RESERVED_HINT:
            return DeleteResult(TargetOutcome.STUCK_RESERVED, RESERVED_HINT,
                                self.policy.max_attempts)
        return DeleteResult(TargetOutcome.FAILED, last, self.policy.max_attempts)

    # ------------------------------------------------------------------ stop the dialing
    async def _stop_dialing(self, clock: Clock, name: str, attempt: int,
                            state: InstanceState | None) -> Dialing:
        """Retry the logout until it answers 200 (§11.2), interleaved with probes that
        notice dialing; see the module docstring for when it gives up."""
        policy = self.policy
        started = time.monotonic()
        # only fresh sightings count: the plan's state may be old (an `open` one that dropped
        # to a quiet `close`, or into a reconnect loop: the probes and the census tell)
        seen_dialing = False
        seen_before = self.dialing.last_seen_connecting(name)
        tries = refused = probed_close = 0
        errors: list[str] = []
        while True:
            # one logout; three at staggered moments once it is known to dial (a stream of
            # one can stay in step with the flapping and keep landing in `close`)
            answers = await self._logouts(name, policy.dialing_streams if seen_dialing else 1)
            tries += len(answers)
            refused += answers.count("refused")
            if "ok" in answers:
                detail = "the dialing stopped" if tries > 1 else ""
                suffix = f" after {tries} tries" if tries > 1 else ""
                self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.OK,
                           (detail + suffix).strip())
                return Dialing.STOPPED
            if "gone" in answers:
                self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.SKIPPED,
                           "404: the instance is gone")
                return Dialing.GONE
            errors += [a for a in answers if a not in ("refused",)]
            if len(errors) >= 3:
                # delete logs out open/connecting instances by itself: go on, but say so
                self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.FAILED,
                           f"{errors[-1]} ({tries} tries)")
                return Dialing.UNSTOPPED
            elapsed = time.monotonic() - started
            if not seen_dialing and self.dialing.last_seen_connecting(name) != seen_before:
                seen_dialing = True  # the census saw it `connecting` meanwhile
            census = self.census_close.get(name, 0)
            samples = refused + probed_close + census
            since = started if not census or self.census_since is None else min(
                started, self.census_since)
            span = time.monotonic() - since  # how long it has been watched
            if not seen_dialing and refused >= policy.quiet_logouts \
                    and samples >= policy.quiet_samples and span >= policy.quiet_logout_s:
                self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.SKIPPED,
                           f"not dialing: seen close {samples} times over {span:.2f} s "
                           f"({refused} logouts answered 400 not connected)")
                return Dialing.QUIET
            if seen_dialing and elapsed >= policy.dialing_logout_s:
                self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.FAILED,
                           f"still dialing: no logout landed in {tries} tries over "
                           f"{elapsed:.1f} s; deleting anyway")
                return Dialing.UNSTOPPED
            census = self.census_since is not None
            if tries % 4 == 0 and not census:  # a probe between logouts: dialing, or gone?
                try:
                    result = await self.client.probe(name)
                except UnauthorizedError:
                    raise
                except EvolutionError:
                    result = None
                if result is not None:
                    if result.state is ProbeState.ABSENT:
                        self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.SKIPPED,
                                   "the name went away")
                        return Dialing.GONE
                    if result.state is ProbeState.RESERVED:
                        self._emit(clock, name, Step.LOGOUT, attempt, StepOutcome.SKIPPED,
                                   "reserved name: nothing to log out")
                        return Dialing.RESERVED
                    if result.instance_state in (InstanceState.CONNECTING, InstanceState.OPEN):
                        seen_dialing = True
                    elif result.instance_state is InstanceState.CLOSE:
                        probed_close += 1
            pause = self.rng.uniform(0, policy.logout_pause_s)
            if census and refused >= policy.quiet_logouts:
                pause += policy.census_wait_s  # the census gathers the samples: fewer logouts
            await asyncio.sleep(pause)

    async def _logouts(self, name: str, count: int) -> list[str]:
        """`count` logouts of `name` at slightly different moments: each answer as "ok",
        "refused" (400 not connected), "gone" (404) or the error text."""
        async def one(delay: float) -> str:
            if delay:
                await asyncio.sleep(delay)
            try:
                await self.client.logout(name)
            except NotConnectedError:
                return "refused"
            except NotFoundError:
                return "gone"
            except UnauthorizedError:
                raise
            except EvolutionError as exc:
                return str(exc)
            return "ok"

        if count == 1:
            return [await one(0.0)]
        delays = [0.0] + [self.rng.uniform(0, self.policy.logout_pause_s * 2)
                          for _ in range(count - 1)]
        return list(await asyncio.gather(*(one(d) for d in delays)))

    # ------------------------------------------------------------------ probes
    async def _probe(self, clock: Clock, name: str, attempt: int):
        try:
            result = await self.client.probe(name)
        except UnauthorizedError:
            raise
        except EvolutionError as exc:
            self._emit(clock, name, Step.PROBE, attempt, StepOutcome.FAILED, str(exc))
            return f"probe failed: {exc}"
        self._emit(clock, name, Step.PROBE, attempt, StepOutcome(result.state.value),
                   result.instance_state.value if result.instance_state else "")
        return result.state, result.instance_state

    async def _hold(self, clock: Clock, name: str, attempt: int, slot: Slot, *,
                    since: float) -> ProbeState | str:
        """The name was absent at `since` (clock time): probe it again until its absence
        has lasted `free_hold_s`. Returns ABSENT when it did, else what came back (or an
        error text). Probes at about 30 % (a name that comes back does so within 0.2 s of its
        first 404: noticed early, retried early) and 100 % of the hold; the target's slot is
        given up meanwhile (probes are not what the concurrency limit is for)."""
        hold = self.policy.free_hold_s
        polls = 0
        slot.give_up()
        for fraction in (0.3, 1.0):
            wait = since + hold * fraction - clock.elapsed()
            if wait > 0:
                await asyncio.sleep(wait)
            polls += 1
            try:
                result = await self.client.probe(name)
            except UnauthorizedError:
                raise
            except EvolutionError as exc:
                self._emit(clock, name, Step.VERIFY, attempt, StepOutcome.FAILED,
                           f"absence not confirmed: {exc}")
                return str(exc)
            if result.state is not ProbeState.ABSENT:
                self._emit(clock, name, Step.VERIFY, attempt, StepOutcome(result.state.value),
                           f"came back {clock.elapsed() - since:.2f} s after it was free")
                return result.state
        self._emit(clock, name, Step.VERIFY, attempt, StepOutcome.ABSENT,
                   f"free for {clock.elapsed() - since:.2f} s ({polls} probes)")
        return ProbeState.ABSENT

    async def _verify(self, clock: Clock, name: str, attempt: int, window: float, slot: Slot,
                      *, logged_out: bool = False) -> tuple[ProbeState | str, InstanceState | None]:
        """Probe until the name is absent or `window` seconds passed, then hold the absence
        (`_hold`); returns the verdict (or an error text when no probe could be made) and
        the instance state of the last probe that saw one.

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
        state: InstanceState | None = None
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
                last, state = result.state, result.instance_state
            except UnauthorizedError:
                raise
            except EvolutionError as exc:
                last = str(exc)
            if polls == 1 and last_reserved_at is None and isinstance(last, ProbeState):
                first_reserved.append(last is ProbeState.RESERVED)
            if last is ProbeState.ABSENT:
                if last_reserved_at is not None and sent_at <= self.policy.fast_phase_s:
                    learnt_free.append((last_reserved_at + sent_at) / 2)  # freed in between
                self._emit(clock, name, Step.VERIFY, attempt, StepOutcome.ABSENT,
                           f"free after {clock.elapsed():.2f} s ({polls} probe"
                           f"{'s' * (polls > 1)}); holding {self.policy.free_hold_s:.1f} s")
                return await self._hold(clock, name, attempt, slot, since=started + sent_at), None
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
        return last, state

    @staticmethod
    async def _sleep_until(clock: Clock, started: float, offset: float, deadline: float) -> None:
        wait = min(started + offset, deadline) - clock.elapsed()
        if wait > 0:
            await asyncio.sleep(wait)

    def _pause(self, attempt: int) -> float:
        return min(self.policy.max_poll_s * 2, 0.05 * (2 ** attempt)) * self.rng.uniform(0.5, 1.0)
