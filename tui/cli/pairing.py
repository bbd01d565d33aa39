"""`evodash pair NAME [--number N]`: pair an existing instance with a phone from the terminal.

The lifecycle's `Pair` operation is planned, confirmed and run like every other (read-only
refuses it: asking for a code dials WhatsApp on the server); its summary target carries the
server's answer (`state`, `code`, `pairing_code`). Then:

- a name that is no instance, or outside the session's scope: one line, exit 2 (nothing was
  asked of the server); an `open` instance: `already paired`, exit 0;
- `--number N`: the server's 8-character pairing code for that phone (WhatsApp → Linked
  devices → Link with phone number);
- otherwise the QR code, drawn with the dashboard's size rules (`tui.qrtext`; a terminal
  too small for it gets one line naming the size needed and had, and the pairing-code way);
- on a terminal (not with `--once` / `--json`) it follows the server like the dashboard's
  pairing modal: asks again every `PAIR_EVERY_S`, redraws the code when the server rotates
  it, and ends with `paired: NAME is open` (exit 0) - or after `FOLLOW_S` without a phone
  (exit 1), or on Ctrl+C / SIGTERM / SIGHUP (exit 128 + n): reading only, nothing to undo;
- `--json`: the step lines, one `{"type": "pairing", ...}` object with the code payload,
  then the summary.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tui.cli.advising import Advisor
from tui.cli.exits import EXIT_DRIFT, EXIT_ERROR, EXIT_OK, signal_exit
from tui.cli.output import Output, error_line, rows_of, terminal_size, write
from tui.cli.signals import signal_name, stop_signals_to
from tui.cli.wiring import Services
from tui.evolution.errors import EvolutionError
from tui.evolution.models import InstanceState, ProbeState
from tui.lifecycle.domain import SkipCause, TargetKind, TargetOutcome
from tui.lifecycle.events import Summary
from tui.lifecycle.plans import Plan
from tui.lifecycle.scope import LifecycleError
from tui.text import visible

PAIR_EVERY_S = 1.5  # as the dashboard's pairing modal: how often the server is asked again
FOLLOW_S = 300.0  # how long a terminal waits for the phone before giving up

Refusal = Callable[[Output], int]


def _q(name: str) -> str:
    return visible(shlex.quote(name))


def pair_refusal(plan: Plan, advisor: Advisor) -> Refusal | None:
    """What to say instead of pairing, when the plan's one target cannot be paired (None:
    it can). Decided on the skip's cause and what the lookup found, never on words."""
    [target] = plan.targets
    skip, name = target.skip, target.name
    if skip is None:
        return None
    if skip.cause is SkipCause.ALREADY_OPEN:
        def paired(out: Output) -> int:
            if out.json_mode:
                out.emit({"type": "pairing", "name": name, "state": "open", "paired": True,
                          "code": None, "pairing_code": None})
            else:
                out.line(f"{visible(name)}: already paired (the instance is open): "
                         "nothing to do")
            return EXIT_OK
        return paired
    if skip.cause in (SkipCause.NOT_AN_INSTANCE, SkipCause.NOT_FOUND):
        q = shlex.quote(name)
        if target.probed is ProbeState.RESERVED:
            what = (f"the server holds the name with no instance loaded under it: evodash "
                    f"delete {q} frees it")
        elif target.kind is TargetKind.ORPHAN_RECORD and target.probed is ProbeState.ABSENT:
            what = ("only a database record, its name free on the server: re-create the "
                    f"instance with evodash reprovision {q}, then pair it")
        elif target.kind is TargetKind.NOT_FOUND:
            what = "neither an instance nor a record (names are exact: evodash report lists them)"
        else:
            what = "the server does not list it (evodash report shows what it is)"
        message = advisor.text(f"{name}: not an Evolution instance, nothing to pair: {what}")
        return lambda _out: _fail(message)
    return lambda _out: _fail(f"{name}: {target.skip_reason}")


def _fail(message: str) -> int:
    error_line(message)
    return EXIT_ERROR


async def pair_result(args: Any, services: Services, out: Output, summary: Summary,
                      stopped: int | None, advisor: Advisor) -> int:
    """Show what the run of a pair plan got: the pairing code or the QR code (followed on
    a terminal), as JSON with `--json`."""
    target = summary.targets[0] if summary.targets else None
    if stopped is not None or target is None or target.outcome is not TargetOutcome.PAIRING:
        out.summary(summary)
        return stopped if stopped is not None else EXIT_DRIFT
    name, extra = target.name, target.extra
    state, code, pairing_code = extra.get("state"), extra.get("code"), extra.get("pairing_code")
    if out.json_mode:
        out.emit({"type": "pairing", "name": name, "state": state, "paired": state == "open",
                  "code": code, "pairing_code": pairing_code})
        out.summary(summary)
        return EXIT_OK
    if state == "open":
        out.line(f"paired: {visible(name)} is open")
        return EXIT_OK
    number = getattr(args, "number", None)
    follow = out.tty and not getattr(args, "once", False)
    if not follow:
        failed, drawn, _ = _show(out, name, code, number, pairing_code, advisor, follow)
        return failed if failed is not None else EXIT_OK if drawn else EXIT_DRIFT
    follower = Follower(services, out, name, code, number is not None, advisor)
    # the stop signals are the follower's before the code and its "Ctrl+C stops" are shown
    with follower.signals():
        failed, drawn, lines = _show(out, name, code, number, pairing_code, advisor, follow)
        if failed is not None:
            return failed
        if not drawn:
            waiting = ("waiting for the phone: the QR code is drawn once the terminal is "
                       "large enough · Ctrl+C stops")
            out.line(waiting)
            lines.append(waiting)
        follower.drawn, follower.lines = drawn, lines
        return await follower.follow()


def _show(out: Output, name: str, code: Any, number: str | None, pairing_code: Any,
          advisor: Advisor, follow: bool) -> tuple[int | None, bool, list[str]]:
    """Show the pairing code or the QR code: (the exit code when there is none to show,
    drawn, the lines written)."""
    if number is not None:
        if not pairing_code:
            return _fail(advisor.text(
                f"{name}: the server gave no pairing code for {number} (try again, or scan "
                f"the QR code: evodash pair {shlex.quote(name)})")), False, []
        show_pairing_code(out, name, number, pairing_code)
        return None, True, []
    if not code:
        return _fail(f"{name}: the server gave no QR code (a name it reserves answers empty; "
                     "evodash report shows its state)"), False, []
    drawn, lines = out.qr_code(code, name, footer=_footer(name, follow, 0), advisor=advisor)
    return None, drawn, lines


def show_pairing_code(out: Output, name: str, number: str, code: str) -> None:
    shown = f"{code[:4]}-{code[4:]}" if len(code) == 8 and code.isalnum() else code
    out.line(f"pairing code for {visible(name)}: {visible(shown)}")
    out.line(f"  on the phone {visible(number)}: WhatsApp → Linked devices → Link a device → "
             "Link with phone number instead, then type the code")


def _footer(name: str, follow: bool, count: int) -> str:
    if not follow:
        return f"the server rotates the code: evodash pair {shlex.quote(name)} for a fresh one"
    rotation = f" · QR #{count}" if count else ""
    return (f"waiting for the phone{rotation} · fresh every {PAIR_EVERY_S:g} s · "
            "Ctrl+C stops")


class Follower:
    """Asks the server again until the phone has paired, redrawing a rotated QR code."""

    def __init__(self, services: Services, out: Output, name: str, code: str | None,
                 with_number: bool, advisor: Advisor) -> None:
        self.service = services.service
        self.out = out
        self.name = name
        self.code = code
        self.count = 0
        self.with_number = with_number
        self.advisor = advisor
        self.drawn = False  # the code is on screen (else: the line saying it does not fit)
        self.lines: list[str] = []  # the lines written for it, drawn over when it changes
        self.size = terminal_size(out.stream)
        self.stop = asyncio.Event()
        self.signum: int | None = None

    async def follow(self) -> int:
        """Ask until paired, a deadline or a stop signal (`signals()` must be in force)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FOLLOW_S
        while not self.stop.is_set():
            if loop.time() >= deadline:
                self.out.line(self.advisor.text(
                    f"stopped waiting after {FOLLOW_S / 60:g} min: {visible(self.name)} "
                    f"is not paired yet (evodash pair {_q(self.name)} shows a fresh code)"))
                return EXIT_DRIFT
            try:
                await asyncio.wait_for(self.stop.wait(), PAIR_EVERY_S)
            except asyncio.TimeoutError:
                pass
            if self.stop.is_set():
                break
            outcome = await self._ask()
            if outcome is not None:
                return outcome
        assert self.signum is not None
        self.out.line(self.advisor.text(
            f"stopped by {signal_name(self.signum)}: {visible(self.name)} is not paired yet "
            f"(evodash pair {_q(self.name)} shows it again)"))
        return signal_exit(self.signum)

    async def _ask(self) -> int | None:
        """One more question to the server: an exit code once it is over (None: go on)."""
        try:
            if self.with_number:  # a pairing code stays valid: only watch the state
                state = await self.service.pairing_state(self.name)
                paired, code, count = state is InstanceState.OPEN, None, 0
            else:
                pairing = await self.service.pair(self.name)
                paired, code, count = pairing.paired, pairing.code, pairing.count
        except LifecycleError as exc:  # not an instance any more, refused: final
            error_line(str(exc))
            return EXIT_ERROR
        except EvolutionError as exc:  # the server: said, asked again
            self.out.notice(f"Evolution: {exc} (asking again)")
            return None
        if paired:
            self.out.line(f"paired: {visible(self.name)} is open")
            return EXIT_OK
        size = terminal_size(self.out.stream)
        rotated = bool(code) and code != self.code
        if code:
            self.code, self.count = code, count
        if self.code and not self.with_number and (
                rotated or (not self.drawn and size != self.size)):
            self._redraw(self.code, size)
        self.size = size
        return None

    def _redraw(self, code: str, size: tuple[int, int] | None) -> None:
        """The code (rotated, or now fitting a larger terminal) over what was drawn."""
        height = rows_of(self.lines, size[0]) if size is not None else 0
        if size is not None and 0 < height < size[1]:
            write(self.out.stream, f"\x1b[{height}F\x1b[J")
        self.drawn, self.lines = self.out.qr_code(
            code, self.name, footer=_footer(self.name, True, self.count), advisor=self.advisor)

    @contextmanager
    def signals(self) -> Iterator[None]:
        """Ctrl+C, SIGTERM, SIGHUP end the wait (nothing runs that needs finishing)."""
        with stop_signals_to(self._on_signal):
            yield

    def _on_signal(self, signum: int) -> None:
        if self.signum is None:
            self.signum = signum
        self.stop.set()


__all__ = ["FOLLOW_S", "PAIR_EVERY_S", "Follower", "pair_refusal", "pair_result",
           "show_pairing_code"]
