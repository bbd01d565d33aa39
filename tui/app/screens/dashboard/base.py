"""`DashboardBase`: what every part of the dashboard screen shares.

Owns the collaborators the screen is built with (the `LifecycleService`, the session's
`DashboardInfo`, the clock, whether timers run, the record watcher factory, how to quit),
the state more than one part reads or writes (the observation on screen, the in-flight
marker of each busy name, the header's state), and the small queries they all use
(read-only, admin, the progress pane). No message handler, worker or action lives here.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from textual.notifications import SeverityLevel
from textual.screen import Screen

from tui.app.info import DashboardInfo
from tui.app.literal import one_line as literal_line
from tui.app.widgets.header import HeaderState
from tui.app.widgets.progress import ProgressPane
from tui.lifecycle.observe import Observation
from tui.lifecycle.service import LifecycleService


class RecordChange(Protocol):
    """One change the record watcher reports (`tui.store.watch.RecordsChanged`)."""

    @property
    def source(self) -> str: ...


#: Builds a record watcher: an async context manager that yields an async iterator of
#: changes (`tui.store.watch.RecordWatcher`).
WatcherFactory = Callable[[], AbstractAsyncContextManager[AsyncIterator[RecordChange]]]

#: Ends the session (the app's `quit_cleanly`: cancel running operations, await their audit).
QuitApp = Callable[[], Awaitable[None]]


def one_line(exc: BaseException) -> str:
    """An exception as one line of literal text (its message may quote a server or a name)."""
    return literal_line(exc) or type(exc).__name__


class DashboardBase(Screen[None]):
    """The collaborators and the shared state of `DashboardScreen` (see the module)."""

    def __init__(self, service: LifecycleService, info: DashboardInfo, *,
                 clock: Callable[[], float] = time.time, auto_refresh: bool = True,
                 watcher_factory: WatcherFactory | None = None,
                 quit_app: QuitApp | None = None) -> None:
        super().__init__(id="dashboard")
        self.service = service
        self.info = info
        self.clock = clock
        self.timers_on = auto_refresh
        self.watcher_factory = watcher_factory
        self.quit_app = quit_app
        self.obs: Observation | None = None  # the observation on screen
        self.inflight: dict[str, str] = {}  # busy name -> its operation, then its last step
        self.header_state = HeaderState(
            evolution_host=info.evolution_host, database=info.database,
            scope_label=info.scope_label, read_only=self.read_only,
            refresh_s=info.refresh_s, auto_refresh=auto_refresh)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every toast of the dashboard is literal text: its message and title are made
        visible (`shown`) and never parsed as markup (`markup` is ignored: always False).
        (A plain string, not a `Text`: a `Text` toast crashes in a real terminal.)"""
        super().notify(literal_line(message), title=literal_line(title), severity=severity,
                       timeout=timeout, markup=False)

    @property
    def read_only(self) -> bool:
        return bool(self.service.read_only or self.info.read_only)

    @property
    def scope_unknown(self) -> bool:
        """The session's reseller is not in the database (a typo in `--reseller`): nothing
        to show, and no mutation key (the header says so)."""
        rid = self.service.scope.reseller_id
        return rid is not None and self.obs is not None and self.obs.reseller(rid) is None

    @property
    def admin(self) -> bool:
        return self.service.scope.is_all

    @property
    def progress(self) -> ProgressPane:
        return self.query_one(ProgressPane)

    async def quit_session(self) -> None:
        """End the session the app's way (`quit_app`), or else exit the app at once."""
        if self.quit_app is not None:
            await self.quit_app()
        else:
            self.app.exit()
