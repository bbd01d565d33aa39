"""The verified delete of one name, step by step and with retries (see the package doc).

Per attempt: re-check the name - by stopping the dialing of a listed instance
(`dialing_stop.py`) where the server's `RemovalProfile` says a dialing instance re-reserves
its name (v1.8), by a probe otherwise (v2) -, delete, verify and hold the absence
(`verify.py`). A name another server holds (FOREIGN) is never deleted. A name that stays or
comes back is `reserved`: retried, then `stuck_reserved` with the profile's reason; the caller
keeps (and marks) the records of anything but `removed` / `already_absent`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tui.evolution.errors import BadRequestError, EvolutionError, NotFoundError, UnauthorizedError
from tui.evolution.models import InstanceState, ProbeState
from tui.evolution.wire import RemovalProfile
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.domain import Skip, SkipCause, Step, StepOutcome, TargetOutcome
from tui.lifecycle.events import Clock, EventSink, StepEvent
from tui.lifecycle.ports import EvolutionPort
from tui.lifecycle.removal.dialing_stop import CensusBoard, Dialing, DialingStopper
from tui.lifecycle.removal.policy import (
    RESERVED_HINTS,
    ZOMBIE_HINT,
    DeletePolicy,
    DeleteResult,
    Emit,
)
from tui.lifecycle.removal.slot import Slot
from tui.lifecycle.removal.verify import Verifier

_FREE = "the name was already free"


@dataclass
class _Attempts:
    """Where one target's attempts stand."""

    probed: ProbeState | None
    state: InstanceState | None
    deleted: bool = False
    stuck: bool = False  # the last verification found the name reserved
    refused: bool = False  # the last delete was refused (400): a zombie
    last: str = ""  # the last failure, in words


class InstanceRemover:
    """Runs the verified delete of names against an Evolution client (one per operation:
    the cleanup lag it learns and the census board are shared by its targets)."""

    def __init__(self, client: EvolutionPort, policy: DeletePolicy, sink: EventSink,
                 operation: str, rng: random.Random | None = None,
                 dialing: DialingTracker | None = None) -> None:
        self.client = client
        self.policy = policy
        self.sink = sink
        self.operation = operation
        self.rng = rng or random.Random()
        # sightings of `connecting` from elsewhere (the operation's census of the list, the
        # dashboard's refreshes): an instance seen dialing is not taken for quiet
        self.dialing = dialing or DialingTracker()
        self.board = CensusBoard()
        self.stopper = DialingStopper(client, policy, self.rng, self.dialing, self.board)
        self.verifier = Verifier(client, policy, self.rng)
        self.profile: RemovalProfile | None = None

    async def ready(self) -> RemovalProfile:
        """The server's removal profile (asked once), and the policy made for it."""
        if self.profile is None:
            self.profile = await self.client.removal_profile()
            self.policy = self.policy.for_server(self.profile)
            self.stopper.policy = self.verifier.policy = self.policy
        return self.profile

    def _emitter(self, clock: Clock, name: str, attempt: int) -> Emit:
        def emit(step: Step, outcome: StepOutcome, detail: str = "") -> None:
            self.sink(StepEvent(self.operation, name, step, attempt, outcome, clock.elapsed(),
                                detail))
        return emit

    async def remove(self, name: str, state: InstanceState | None = None, *,
                     slot: Slot | None = None, expect_unlisted: bool = False,
                     before_mutation: Callable[[], Awaitable[bool]] | None = None
                     ) -> DeleteResult:
        """Remove `name`. `state` is what the plan knew (None: not listed); the name is
        re-checked anyway (a plan may be stale): by a probe when not listed, by the first
        logout when listed (400 = listed and close, 200 = connecting, 404 = gone).
        `slot`: the target's place in the operation's concurrency limit, held by the caller
        (given up while only waiting). `expect_unlisted`: the plan saw no instance (an
        orphan record): one that is there now appeared since and is not touched.
        `before_mutation`: awaited right before the first request that changes anything
        (after the re-check, which only reads); False: nothing is changed (SKIPPED, without
        a skip of its own: the caller knows why).
        `UnauthorizedError` propagates: no later target can succeed with that key."""
        clock, slot = Clock(), slot or Slot(None)
        profile = await self.ready()
        at = _Attempts(ProbeState.PRESENT if state is not None else None, state)
        if not profile.stop_dialing_first:
            at.probed = None  # no logout to re-check it: a probe does
        early = await self._recheck(clock, name, slot, at, expect_unlisted)
        if early is not None:
            return early
        if before_mutation is not None and not await before_mutation():
            return DeleteResult(TargetOutcome.SKIPPED, attempts=0)
        for attempt in range(1, self.policy.max_attempts + 1):
            done = await self._attempt(clock, name, slot, at, attempt)
            if done is not None:
                return done
        if at.stuck:
            return DeleteResult(TargetOutcome.STUCK_RESERVED,
                                RESERVED_HINTS[profile.reserved_cause], self.policy.max_attempts)
        return DeleteResult(TargetOutcome.FAILED, at.last, self.policy.max_attempts)

    async def _recheck(self, clock: Clock, name: str, slot: Slot, at: _Attempts,
                       expect_unlisted: bool) -> DeleteResult | None:
        """Before the first attempt: probe a name the plan did not see listed, and hold a
        free one (a result when nothing is left to do)."""
        emit = self._emitter(clock, name, 1)
        if at.probed is None:
            probe = await self.verifier.probe(name, emit, locate=at.state is None)
            if probe.state is None:
                return DeleteResult(TargetOutcome.FAILED, probe.error, 0)
            if probe.state is ProbeState.FOREIGN:
                return DeleteResult(TargetOutcome.SKIPPED, attempts=0,
                                    skip=Skip(SkipCause.OTHER_SERVER, state=probe.state.value))
            at.probed, at.state = probe.state, probe.instance_state
            if probe.state is ProbeState.PRESENT and expect_unlisted:
                return DeleteResult(TargetOutcome.SKIPPED, attempts=0,
                                    skip=Skip(SkipCause.INSTANCE_APPEARED))
        if at.probed is ProbeState.ABSENT:
            held = await self.verifier.hold(clock, name, slot, emit, since=clock.elapsed())
            if held.absent:
                return DeleteResult(TargetOutcome.ALREADY_ABSENT, _FREE, 0)
            at.probed, at.state = held.state or ProbeState.RESERVED, None
        return None

    async def _attempt(self, clock: Clock, name: str, slot: Slot, at: _Attempts,
                       attempt: int) -> DeleteResult | None:
        """One attempt: stop the dialing, delete, verify (a result when it settled)."""
        emit = self._emitter(clock, name, attempt)
        await slot.take()  # given up while a previous hold waited
        logged_out = deleted_now = False
        if at.probed is ProbeState.PRESENT and self.policy_stops_dialing:
            dialing = await self.stopper.stop(name, emit)
            logged_out = dialing is Dialing.STOPPED
            if dialing is Dialing.GONE and attempt == 1:
                held = await self.verifier.hold(clock, name, slot, emit, since=clock.elapsed())
                if held.absent:
                    return DeleteResult(TargetOutcome.ALREADY_ABSENT, _FREE, 0)
                await slot.take()
        deleted_now = False
        try:
            await self.client.delete(name)
            emit(Step.DELETE, StepOutcome.OK)
            at.deleted = deleted_now = True
        except NotFoundError:
            emit(Step.DELETE, StepOutcome.GONE, "404: not there")
        except UnauthorizedError:
            raise
        except EvolutionError as exc:
            at.last = f"delete failed: {exc}"
            at.refused = isinstance(exc, BadRequestError)
            last_try = attempt >= self.policy.max_attempts
            emit(Step.DELETE, StepOutcome.FAILED if last_try else StepOutcome.RETRY, str(exc))
            if last_try:
                zombie = at.refused and bool(self.profile and self.profile.refusal_retries)
                return DeleteResult(TargetOutcome.FAILED,
                                    f"{at.last}; {ZOMBIE_HINT}" if zombie else at.last, attempt)
            await asyncio.sleep(self._pause(attempt))
            return None
        return await self._settle(clock, name, slot, at, attempt, logged_out, deleted_now)

    async def _settle(self, clock: Clock, name: str, slot: Slot, at: _Attempts, attempt: int,
                      logged_out: bool, deleted_now: bool) -> DeleteResult | None:
        emit = self._emitter(clock, name, attempt)
        assert self.profile is not None  # `remove` asked for it first
        waits = not self.profile.retry_reserved  # v2: its cleanup runs, a re-delete won't help
        window = self.policy.verify_timeout_s if waits else self.policy.attempt_window()
        # v2 unloads a deleted instance only after the delete's event fan-out: until then
        # the name answers with a state, which is its cleanup pending, not a failed delete
        loaded_is_held = waits and deleted_now
        if waits:
            # the delete is answered: from here the target only waits for the server's
            # cleanup (seconds on a loaded 2.3.6), so its slot goes to the next target's
            # delete, as for the hold; each waiting target keeps at most one probe in flight
            # on its backing-off schedule (another attempt takes the slot again). Measured:
            # holding it made the deletes of 30 targets at 16 go in two waves, ~2 s apart.
            slot.give_up()
        verdict = await self.verifier.verify(clock, name, window, slot, emit,
                                             logged_out=logged_out,
                                             loaded_is_held=loaded_is_held, patient=waits)
        at.state = verdict.instance_state
        if verdict.absent:
            if not at.deleted:
                return DeleteResult(TargetOutcome.ALREADY_ABSENT, _FREE, attempt)
            return DeleteResult(TargetOutcome.REMOVED, "", attempt)
        at.stuck = verdict.state is ProbeState.RESERVED or (
            loaded_is_held and verdict.state is ProbeState.PRESENT)
        if at.stuck:
            at.last = RESERVED_HINTS[self.profile.reserved_cause]
            at.probed = ProbeState.RESERVED
            if not self.profile.retry_reserved:  # v2: the whole budget was waited
                return DeleteResult(TargetOutcome.STUCK_RESERVED, at.last, attempt)
        elif verdict.state is ProbeState.PRESENT:
            at.last = f"instance still present after {attempt} delete(s)"
            at.probed = ProbeState.PRESENT
        else:
            at.last = f"could not verify: {verdict.error}"
            at.probed = ProbeState.PRESENT  # unknown: take it as listed (stop dialing first)
        return None

    @property
    def policy_stops_dialing(self) -> bool:
        return self.profile is None or self.profile.stop_dialing_first

    def _pause(self, attempt: int) -> float:
        cap: float = min(self.policy.max_poll_s * 2, 0.05 * (2.0 ** attempt))
        return cap * self.rng.uniform(0.5, 1.0)
