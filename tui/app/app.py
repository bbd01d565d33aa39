"""`EvodashApp`: builds the dashboard screen around a `LifecycleService` (the only gateway
to Evolution and MongoDB), wires the command palette, and exits cleanly on quit and SIGHUP
(running operations are cancelled and awaited, so the service audits them in `finally`).
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterable

from textual import events, on
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.screen import Screen
from textual.widgets import Input

from tui.app.commands import LiteralCommandPalette, dashboard_commands
from tui.app.info import DashboardInfo
from tui.app.literal import has_hidden, shown
from tui.app.screens.dashboard import DashboardScreen
from tui.app.screens.dashboard.base import WatcherFactory
from tui.lifecycle.service import LifecycleService

EXIT_GRACE_S = 10.0


class EvodashApp(App[int]):
    CSS_PATH = "evodash.tcss"
    TITLE = "evodash"
    ENABLE_COMMAND_PALETTE = True

    def __init__(self, service: LifecycleService, info: DashboardInfo, *,
                 watcher_factory: WatcherFactory | None = None,
                 clock: Callable[[], float] = time.time, auto_refresh: bool = True,
                 on_hangup: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.on_hangup = on_hangup  # e.g. a watchdog: the dead terminal may block Textual's exit
        self.service = service
        self.info = info
        self.watcher_factory = watcher_factory
        self.clock = clock
        self.timers_on = auto_refresh  # (DOMNode.auto_refresh is Textual's own)
        self.dashboard = DashboardScreen(service, info, clock=clock, auto_refresh=auto_refresh,
                                         watcher_factory=watcher_factory,
                                         quit_app=lambda: self.quit_cleanly())
        self._hup_installed = False
        self._held_keys: list[events.Key] | None = []  # None once the dashboard is mounted

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
        try:
            loop.add_signal_handler(signal.SIGHUP, self._hangup)
            loop.add_signal_handler(signal.SIGTERM, self._terminated)
            self._hup_installed = True
        except (NotImplementedError, RuntimeError, ValueError, AttributeError):
            pass  # not the main thread, or no such signals on this platform

    def on_unmount(self) -> None:
        if self._hup_installed:
            for signum in (signal.SIGHUP, signal.SIGTERM):
                try:
                    asyncio.get_running_loop().remove_signal_handler(signum)
                except (RuntimeError, ValueError):
                    pass

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

    def _hangup(self) -> None:
        """The terminal went away (SSH drop): stop new work, let in-flight targets finish
        (or record how far they got), exit with 129."""
        if self.on_hangup is not None:
            self.on_hangup()
        self.call_later(self.quit_cleanly, 128 + signal.SIGHUP)

    def _terminated(self) -> None:
        self.call_later(self.quit_cleanly, 128 + signal.SIGTERM)

    async def quit_cleanly(self, code: int = 0) -> None:
        """Stop running operations: no new target starts (their cancel events are set) and
        in-flight targets get `EXIT_GRACE_S` to finish; what is still running then is
        cancelled (the service records how far each target got). Exit with `code`, or 1 when
        operations had to be stopped on a plain quit."""
        ops = list(self.dashboard.ops.values())
        for op in ops:
            op.cancel.set()
        workers = [w for w in self.workers if w.group == "mutations" and not w.is_finished]
        if workers:
            try:
                await asyncio.wait_for(self.workers.wait_for_complete(workers), EXIT_GRACE_S)
            except TimeoutError:
                for worker in workers:
                    worker.cancel()
                try:
                    await asyncio.wait_for(self.workers.wait_for_complete(workers), 5)
                except TimeoutError:
                    pass
        self.exit(code or (1 if ops else 0))
