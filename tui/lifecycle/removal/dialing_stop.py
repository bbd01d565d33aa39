"""Stopping the dialing of one listed instance before its delete (contract §11.2).

The logout is retried until it answers 200 (the dialing stopped), interleaved with probes
that notice dialing, or until the instance was seen `close` often and long enough to be
taken as quiet (`DeletePolicy.quiet_samples`, `quiet_logouts`, `quiet_logout_s`); once it
was seen dialing, three staggered logouts go at once, for up to `dialing_logout_s`. In a
bulk operation a census of the instance list (`tui.lifecycle.ops.census`) supplies `close`
samples through the shared `CensusBoard`.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from enum import StrEnum

from tui.evolution.errors import (
    EvolutionError,
    NotConnectedError,
    NotFoundError,
    UnauthorizedError,
)
from tui.evolution.models import ProbeResult, InstanceState, ProbeState
from tui.lifecycle.dialing import DialingTracker
from tui.lifecycle.domain import Step, StepOutcome
from tui.lifecycle.ports import EvolutionPort
from tui.lifecycle.removal.policy import DeletePolicy, Emit


class Dialing(StrEnum):
    """What stopping the dialing of one listed instance came to."""

    STOPPED = "stopped"  # a logout answered 200: no dialing from now on
    QUIET = "quiet"  # answered 400 often and long enough: taken as not dialing
    UNSTOPPED = "unstopped"  # seen dialing, but no logout landed within the budget
    GONE = "gone"  # the name went away meanwhile (404 / absent)
    RESERVED = "reserved"  # not in memory any more: a reserved name (logout is pointless)


class LogoutAnswer(StrEnum):
    OK = "ok"  # 200: the dialing stopped (or the instance was logged out)
    REFUSED = "refused"  # 400 not connected: `close` at that moment
    GONE = "gone"  # 404: the instance is gone
    ERROR = "error"  # anything else (its text beside it)


@dataclass
class CensusBoard:
    """What the operation's census of the instance list shares with the targets."""

    stopping: int = 0  # targets now trying to stop a dialing (the census runs meanwhile)
    close_counts: dict[str, int] = field(default_factory=dict)  # lists that showed it close
    since: float | None = None  # monotonic time of the census' first list


@dataclass
class _Watch:
    """What one stop attempt has seen so far."""

    started: float
    seen_before: float | None
    seen_dialing: bool = False
    tries: int = 0
    refused: int = 0
    probed_close: int = 0
    errors: list[str] = field(default_factory=list)


class DialingStopper:
    """Stops the dialing of listed instances (one call per target and attempt)."""

    def __init__(self, client: EvolutionPort, policy: DeletePolicy, rng: random.Random,
                 dialing: DialingTracker, board: CensusBoard) -> None:
        self.client = client
        self.policy = policy
        self.rng = rng
        self.dialing = dialing
        self.board = board

    async def stop(self, name: str, emit: Emit) -> Dialing:
        """Retry the logout until it answers 200, or the instance proved quiet, gone or
        reserved, or the budget ran out. Only fresh sightings count: the plan's state may
        be old (the probes and the census tell)."""
        self.board.stopping += 1
        try:
            return await self._stop(name, emit)
        finally:
            self.board.stopping -= 1

    async def _stop(self, name: str, emit: Emit) -> Dialing:
        w = _Watch(time.monotonic(), self.dialing.last_seen_connecting(name))
        while True:
            # one logout; three at staggered moments once it is known to dial (a stream of
            # one can stay in step with the flapping and keep landing in `close`)
            verdict = await self._logout_round(name, w, emit)
            if verdict is not None:
                return verdict
            verdict = self._judge(name, w, emit)
            if verdict is not None:
                return verdict
            if w.tries % 4 == 0 and self.board.since is None:
                verdict = await self._probe_between(name, w, emit)
                if verdict is not None:
                    return verdict
            pause = self.rng.uniform(0, self.policy.logout_pause_s)
            if self.board.since is not None and w.refused >= self.policy.quiet_logouts:
                pause += self.policy.census_wait_s  # the census gathers the samples
            await asyncio.sleep(pause)

    async def _logout_round(self, name: str, w: _Watch, emit: Emit) -> Dialing | None:
        answers = await self.logouts(name, self.policy.dialing_streams if w.seen_dialing else 1)
        w.tries += len(answers)
        w.refused += sum(1 for a, _ in answers if a is LogoutAnswer.REFUSED)
        kinds = {a for a, _ in answers}
        if LogoutAnswer.OK in kinds:
            detail = "the dialing stopped" if w.tries > 1 else ""
            suffix = f" after {w.tries} tries" if w.tries > 1 else ""
            emit(Step.LOGOUT, StepOutcome.OK, (detail + suffix).strip())
            return Dialing.STOPPED
        if LogoutAnswer.GONE in kinds:
            emit(Step.LOGOUT, StepOutcome.SKIPPED, "404: the instance is gone")
            return Dialing.GONE
        w.errors += [text for a, text in answers if a is LogoutAnswer.ERROR]
        if len(w.errors) >= 3:
            # delete logs out open/connecting instances by itself: go on, but say so
            emit(Step.LOGOUT, StepOutcome.FAILED, f"{w.errors[-1]} ({w.tries} tries)")
            return Dialing.UNSTOPPED
        return None

    def _judge(self, name: str, w: _Watch, emit: Emit) -> Dialing | None:
        """Quiet enough, or dialing for too long (None: go on trying)."""
        policy, board = self.policy, self.board
        elapsed = time.monotonic() - w.started
        if not w.seen_dialing and self.dialing.last_seen_connecting(name) != w.seen_before:
            w.seen_dialing = True  # the census saw it `connecting` meanwhile
        census = board.close_counts.get(name, 0)
        samples = w.refused + w.probed_close + census
        since = w.started if not census or board.since is None else min(w.started, board.since)
        span = time.monotonic() - since  # how long it has been watched
        if not w.seen_dialing and w.refused >= policy.quiet_logouts \
                and samples >= policy.quiet_samples and span >= policy.quiet_logout_s:
            emit(Step.LOGOUT, StepOutcome.SKIPPED,
                 f"not dialing: seen close {samples} times over {span:.2f} s "
                 f"({w.refused} logouts answered 400 not connected)")
            return Dialing.QUIET
        if w.seen_dialing and elapsed >= policy.dialing_logout_s:
            emit(Step.LOGOUT, StepOutcome.FAILED,
                 f"still dialing: no logout landed in {w.tries} tries over {elapsed:.1f} s; "
                 "deleting anyway")
            return Dialing.UNSTOPPED
        return None

    async def _probe_between(self, name: str, w: _Watch, emit: Emit) -> Dialing | None:
        """A probe between logouts (when no census samples): dialing, or gone?"""
        result: ProbeResult | None
        try:
            result = await self.client.probe(name)
        except UnauthorizedError:
            raise
        except EvolutionError:
            result = None
        if result is None:
            return None
        if result.state is ProbeState.ABSENT:
            emit(Step.LOGOUT, StepOutcome.SKIPPED, "the name went away")
            return Dialing.GONE
        if result.state is ProbeState.RESERVED:
            emit(Step.LOGOUT, StepOutcome.SKIPPED, "reserved name: nothing to log out")
            return Dialing.RESERVED
        if result.instance_state in (InstanceState.CONNECTING, InstanceState.OPEN):
            w.seen_dialing = True
        elif result.instance_state is InstanceState.CLOSE:
            w.probed_close += 1
        return None

    async def logouts(self, name: str, count: int) -> list[tuple[LogoutAnswer, str]]:
        """`count` logouts of `name` at slightly different moments: each answer, with the
        error text for `ERROR`."""
        async def one(delay: float) -> tuple[LogoutAnswer, str]:
            if delay:
                await asyncio.sleep(delay)
            try:
                await self.client.logout(name)
            except NotConnectedError:
                return LogoutAnswer.REFUSED, ""
            except NotFoundError:
                return LogoutAnswer.GONE, ""
            except UnauthorizedError:
                raise
            except EvolutionError as exc:
                return LogoutAnswer.ERROR, str(exc)
            return LogoutAnswer.OK, ""

        if count == 1:
            return [await one(0.0)]
        delays = [0.0] + [self.rng.uniform(0, self.policy.logout_pause_s * 2)
                          for _ in range(count - 1)]
        return list(await asyncio.gather(*(one(d) for d in delays)))
