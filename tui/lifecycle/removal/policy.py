"""How hard a verified delete tries (`DeletePolicy`), what it came to (`DeleteResult`), and
how its steps are reported (`Emit`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from tui.evolution.wire import RemovalProfile, ReservedCause
from tui.lifecycle.domain import Skip, Step, StepOutcome, TargetOutcome

RESERVED_HINT = (
    "the server still reserves the name (the deleted instance's orphaned connection "
    "re-creates it): restarting Evolution API frees it, and also sets every persisted "
    "instance dialing - run evodash again right after the restart, it stops the dialing "
    "before each delete")
CLEANUP_HINT = (
    "the server still holds the name after its delete (its cleanup has not finished: a busy "
    "server, or slow event sinks such as a webhook): run evodash again in a minute; if the "
    "name stays held, restarting Evolution API frees it")
ZOMBIE_HINT = (
    "the server refuses to delete the instance (a \"zombie\": its connection is dead but it "
    "is still loaded, which Evolution API 2.3.7 cannot delete): restart Evolution API, then "
    "run evodash again (2.4 deletes zombies)")
RESERVED_HINTS = {ReservedCause.ORPHAN_RERESERVES: RESERVED_HINT,
                  ReservedCause.CLEANUP_PENDING: CLEANUP_HINT}


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
    # Free means: absent, and still absent `free_hold_s` after the first 404. None: the
    # dialect's (`RemovalProfile.free_hold_s`; v1.8 1.0 s: a name that came back did so
    # 0.09-0.26 s after its first 404; v2 0.5 s: none came back).
    free_hold_s: float | None = None
    # Probe the hold early too (at 30 %), so that a name that comes back is retried early.
    # None: where the dialect retries a name that comes back (`RemovalProfile.retry_reserved`,
    # v1.8); v2 does not (a name held after its window is its cleanup, stuck whenever it is
    # seen), so its hold ends in one probe.
    early_hold_probe: bool | None = None
    # Stopping the dialing (§11.2): a listed instance is taken as quiet once it was seen
    # `close` at least `quiet_samples` times over at least `quiet_logout_s` and never
    # `connecting`; samples are its logout answers (400 "not connected", at least
    # `quiet_logouts` of them), the probes in between, and - in a bulk operation - the
    # lists of the operation's census (`tui.lifecycle.ops.census`), which sample every
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

    @property
    def hold_s(self) -> float:
        """The hold in force (`for_server` has filled in the dialect's)."""
        return 1.0 if self.free_hold_s is None else self.free_hold_s

    @property
    def hold_probes(self) -> tuple[float, ...]:
        """When the hold probes, as fractions of it (`for_server` has decided)."""
        return (0.3, 1.0) if self.early_hold_probe is not False else (1.0,)

    def for_server(self, profile: RemovalProfile) -> DeletePolicy:
        """This policy on a server with `profile`: the dialect's hold and hold probes unless
        they are set."""
        hold = profile.free_hold_s if self.free_hold_s is None else self.free_hold_s
        early = profile.retry_reserved if self.early_hold_probe is None else self.early_hold_probe
        return replace(self, free_hold_s=hold, early_hold_probe=early)


@dataclass
class DeleteResult:
    outcome: TargetOutcome
    reason: str = ""
    attempts: int = 0
    skip: Skip | None = None  # SKIPPED: why the name was not touched


class Emit(Protocol):
    """Reports one step of one target's attempt."""

    def __call__(self, step: Step, outcome: StepOutcome, detail: str = "") -> None: ...
