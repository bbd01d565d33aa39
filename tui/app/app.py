"""`EvodashApp`: builds the dashboard screen around a `LifecycleService` (the only gateway
to Evolution and MongoDB), wires the command palette, and ends the session the same way
whatever ends it.

How the session ends (`stop_session`): `q` (then `y` while operations run), ctrl+c, and
the signals SIGINT, SIGTERM and SIGHUP (an SSH drop) all set the running operations'
cancel events - no new target starts - and let every target in progress finish (each
bounded by its own budget: the service's timeouts), so each gets its audit outcome and each
operation its summary line; then the app exits with the code stated when it began: 0 for a
quit with nothing running, 1 for a quit that stopped operations, 128 + the signal number
for a signal (ctrl+c is SIGINT: 130). Stopping says what it does (a toast and a progress
line: how many targets finish, how many will not start). A second ctrl+c, SIGINT or SIGTERM
stops at once: running operations are cancelled and the service records how far each target
got (a SIGHUP never does: a terminal that went away may say so twice, and hurries no one).
`exit_lines` are what the session's end must still tell the operator once the screen is
gone (the summaries of the operations it stopped); `tui/cli/dashboard.py` prints them.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterable

from rich.console import RenderableType
from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import WorkerCancelled, WorkerFailed

from tui.app.commands import LiteralCommandPalette, dashboard_commands
from tui.app.info import DashboardInfo
from tui.app.literal import has_hidden, shown
from tui.app.screens.dashboard import DashboardScreen
from tui.app.screens.dashboard.base import WatcherFactory
from tui.app.screens.dashboard.operations import RunningOperation
from tui.lifecycle.service import LifecycleService

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
EXIT_OK, EXIT_STOPPED = 0, 1  # a quit; a quit that stopped running operations
HARD_STOP_WAIT_S = 5.0  # after a second stop request: how long cancelled workers may take


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


class EvodashApp(App[int]):
    CSS_PATH = "evodash.tcss"
    TITLE = "evodash"
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, service: LifecycleService, info: DashboardInfo, *,
                 watcher_factory: WatcherFactory | None = None,
                 clock: Callable[[], float] = time.time, auto_refresh: bool = True,
                 on_hangup: Callable[[], None] | None = None,
                 on_exit: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.on_hangup = on_hangup  # SIGHUP: e.g. detach a terminal that went away, a watchdog
        self.on_exit = on_exit  # right before the app exits (e.g. release a detached input)
        self.service = service
        self.info = info
        self.watcher_factory = watcher_factory
        self.clock = clock
        self.timers_on = auto_refresh  # (DOMNode.auto_refresh is Textual's own)
        self.dashboard = DashboardScreen(service, info, clock=clock, auto_refresh=auto_refresh,
                                         watcher_factory=watcher_factory,
                                         quit_app=self._quit_key)
        self._signals_installed: list[int] = []
        self._held_keys: list[events.Key] | None = []  # None once the dashboard is mounted
        self.stopping: tuple[int, str] | None = None  # (exit code, why) once the end began
        self.stopped_at_once = False  # a second stop cancelled the targets in progress
        self.exit_lines: list[str] = []  # to print once the screen is gone (see the module)

    async def on_event(self, event: events.Event) -> None:
        """Keys the terminal sends before the dashboard is mounted are held, then handled
        in order once it is (its bindings need its widgets); a typed-ahead Enter is Enter."""
        if isinstance(event, events.Key) and not event.is_forwarded \
                and event.key == "ctrl+j":
            # Enter typed ahead while the terminal was still in line mode arrives as a line
            # feed (ICRNL turned its CR into LF): it is Enter (nothing binds ctrl+j)
            event = events.Key("enter", "\r")
        if isinstance(event, events.Key) and not event.is_forwarded \
                and self._held_keys is not None:
            if not self.dashboard.is_mounted:
                self._held_keys.append(event)
                return
            await self._release_keys()
        await super().on_event(event)

    async def _release_keys(self) -> None:
        if self._held_keys is None:
            return
        if not self.dashboard.is_mounted:
            self.call_after_refresh(self._release_keys)
            return
        held, self._held_keys = self._held_keys, None
        for key in held:
            await super().on_event(key)

    def get_default_screen(self) -> Screen:
        """The dashboard is the first screen on the stack, there from the start: keys typed
        while evodash starts (type-ahead in the terminal, before the first refresh) go to
        it, not to a placeholder screen that would drop them."""
        return self.dashboard

    def on_mount(self) -> None:
        self.call_after_refresh(self._release_keys)
        loop = asyncio.get_running_loop()
        for signum in STOP_SIGNALS:
            try:
                loop.add_signal_handler(signum, self._signalled, signum)
            except (NotImplementedError, RuntimeError, ValueError, AttributeError):
                continue  # not the main thread, or no such signal on this platform
            self._signals_installed.append(signum)

    def on_unmount(self) -> None:
        for signum in self._signals_installed:
            try:
                asyncio.get_running_loop().remove_signal_handler(signum)
            except (RuntimeError, ValueError):
                pass
        self._signals_installed = []

    @on(Input.Changed)
    def _input_shown_literally(self, event: Input.Changed) -> None:
        """Any input box (the filter, the clear-all word, the command palette): pasted
        control or bidi characters become their visible escapes, so the box never writes
        them to the terminal (the dashboard's filter does the same for itself first)."""
        if has_hidden(event.value):
            text = shown(event.value)
            event.input.value = text
            event.input.cursor_position = len(text)

    def get_key_display(self, binding: Binding) -> str:
        """A key as the footer shows it: keys come from a settings file's keymap (literal)."""
        return shown(super().get_key_display(binding))

    def action_command_palette(self) -> None:
        if self.use_command_palette and not isinstance(self.screen, CommandPalette):
            self.push_screen(LiteralCommandPalette(id="--command-palette"))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from dashboard_commands(self.dashboard)

    # ------------------------------------------------------------------ the session's end
    def _signalled(self, signum: int) -> None:
        """SIGINT, SIGTERM or SIGHUP: stop the session and exit 128 + the signal number.
        A SIGHUP first lets `on_hangup` deal with a terminal that went away."""
        hangup = signum == getattr(signal, "SIGHUP", None)
        if hangup and self.on_hangup is not None:
            self.on_hangup()
        # a hang-up is no one's hurry (it may come twice): it never stops at once
        self.stop_session(128 + signum, signal_name(signum), at_once_again=not hangup)

    def action_help_quit(self) -> None:
        """ctrl+c (Textual's binding, a key in a raw terminal): what SIGINT does."""
        self.stop_session(128 + signal.SIGINT, "ctrl+c", at_once_again=True)

    def running_operations(self) -> list[RunningOperation]:
        return list(self.dashboard.ops.values())

    def stop_session(self, code: int, why: str, *, at_once_again: bool = False) -> None:
        """End the session (see the module): say what happens, then `quit_cleanly`. While it
        is already ending, a stop that `at_once_again` (a signal, ctrl+c) stops at once."""
        if self.stopping is not None:
            if at_once_again:
                self._stop_at_once(why)
            return
        running = self.running_operations()
        if running and code == EXIT_OK:
            code = EXIT_STOPPED  # a quit that keeps targets from starting: not a success
        self.stopping = (code, why)
        for op in running:
            op.cancel.set()  # now: no new target starts while this is said
        if running:
            finishing = sum(op.in_progress for op in running)
            waiting = sum(max(0, op.info.total - len(op.started | op.done)) for op in running)
            names = ", ".join(op.info.operation for op in running)
            again = f" ({why} again: stop at once)" if at_once_again else ""
            self._tell(f"{why}: stopping {names} - {finishing} target(s) in progress will "
                       f"finish, {waiting} will not start; then exit {code}{again}")
        # a worker, not a handler: the app's own messages (toasts, redraws) keep flowing
        # while it waits for the targets in progress
        self.run_worker(self.quit_cleanly(code, why), name="session-end", group="session-end")

    async def _quit_key(self) -> None:
        """`q` (then `y` while operations run)."""
        self.stop_session(EXIT_OK, "quit")

    def _tell(self, line: str) -> None:
        """A line in the progress log and a toast (the terminal may be gone: harmless)."""
        try:
            self.dashboard.progress.write(line)
            self.dashboard.notify(line, title="stopping", severity="warning", timeout=30)
        except Exception:  # noqa: BLE001 - the screen may be going away already
            pass

    def _stop_at_once(self, why: str) -> None:
        """A second stop: cancel the running operations' workers (the service records how
        far each target got in the audit log)."""
        workers = [w for w in self.workers if w.group == "mutations" and not w.is_finished]
        if not workers:
            return
        self._tell(f"{why} again: stopping at once (the audit log records how far each "
                   "target got)")
        self.stopped_at_once = True
        for worker in workers:
            worker.cancel()

    async def quit_cleanly(self, code: int = EXIT_OK, why: str = "quit") -> None:
        """Set every running operation's cancel event (no new target starts), wait for the
        targets in progress to finish (bounded by their own budgets; a second stop cancels
        them), keep the summaries for `exit_lines`, exit with `code` - or with 1 when a plain
        quit stopped operations."""
        if self.stopping is None:
            self.stopping = (code, why)
        ops = self.running_operations()
        for op in ops:
            op.cancel.set()
        for worker in [w for w in self.workers if w.group == "mutations"]:
            try:
                await worker.wait()
            except (WorkerCancelled, WorkerFailed):
                pass  # stopped at once (a second stop), or failed: reported by its handler
        if ops and code == EXIT_OK:
            code = EXIT_STOPPED
        self.exit_lines = self._ending_lines(ops, code, why)
        self.exit(code)

    def exit(self, result: int | None = None, return_code: int = 0,
             message: RenderableType | None = None) -> None:
        """Every way out first runs `on_exit` (Textual's shutdown then joins its input
        thread, which a detached terminal's input must have let go)."""
        if self.on_exit is not None:
            self.on_exit()
        super().exit(result, return_code, message)

    def _ending_lines(self, ops: list[RunningOperation], code: int, why: str) -> list[str]:
        if not ops:
            return [] if why == "quit" else [
                f"dashboard stopped by {why}: nothing was running (exit {code})"]
        lines: list[str] = []
        for op in ops:
            if op.summary is not None:
                lines.append(op.summary.line())
                lines += [f"note: {note}" for note in op.summary.notes]
            elif self.stopped_at_once:
                lines.append(f"{op.info.operation}: stopped at once; the audit log records "
                             "how far each target got")
            else:
                lines.append(f"{op.info.operation}: ended without a summary (an error: see "
                             "the audit log)")
        what = "quit" if why == "quit" else f"stopped by {why}"
        how = ("the targets in progress were stopped at once" if self.stopped_at_once
               else "the targets in progress finished")
        lines.append(f"dashboard {what} while {', '.join(o.info.operation for o in ops)} ran: "
                     f"{how}, the rest did not start (exit {code}; run it again to finish)")
        return lines
