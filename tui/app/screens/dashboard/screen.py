"""`DashboardScreen`: the header, the two panes, the filter, the progress pane and every key.

It composes the parts of the screen (each a class of its own module, stacked so each uses
only the ones below it: `base` → `panes` → `refresh` → `operations` → `mutations`) and owns
what is the whole screen's: its layout, its mount (first refresh, header clock, record
watcher) and the single `check_action` gate that hides and blocks mutations in read-only
mode (and the actions the context does not allow).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Container
from textual.widgets import Footer, Input

from tui.app.bindings import ADMIN_ACTIONS, DASHBOARD_BINDINGS, MUTATING_ACTIONS
from tui.app.info import DashboardInfo
from tui.app.screens.dashboard.base import QuitApp, WatcherFactory
from tui.app.screens.dashboard.mutations import MutatingActions, absent_orphan_record
from tui.app.screens.help import HelpScreen
from tui.app.view import INSTANCE_COLUMNS, RECORD_COLUMNS
from tui.app.widgets.header import StatusHeader
from tui.app.widgets.panes import KeyedTable
from tui.app.widgets.progress import ProgressPane
from tui.lifecycle.service import LifecycleService


class DashboardScreen(MutatingActions):
    """The dashboard: `DashboardBase` < `PaneView` < `RefreshLoop` < `RunningOperations` <
    `MutatingActions` < this (Textual finds every part's handlers, workers and actions on
    the screen through its MRO)."""

    BINDINGS = DASHBOARD_BINDINGS
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]  # stacked below 150
    AUTO_FOCUS = "#instances"

    def __init__(self, service: LifecycleService, info: DashboardInfo, *,
                 clock: Callable[[], float] = time.time, auto_refresh: bool = True,
                 watcher_factory: WatcherFactory | None = None,
                 quit_app: QuitApp | None = None) -> None:
        # (the parts take `*args, **kwargs` on to `DashboardBase`: this is the typed one)
        super().__init__(service, info, clock=clock, auto_refresh=auto_refresh,
                         watcher_factory=watcher_factory, quit_app=quit_app)

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        with Container(id="panes"):
            yield KeyedTable(INSTANCE_COLUMNS, "Evolution instances", id="instances")
            yield KeyedTable(RECORD_COLUMNS, "Database records", id="records")
        yield Input(id="filter", placeholder="filter: substring · enter keep · esc clear")
        yield ProgressPane(self.clock, id="progress")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.view_scope = self.service.scope.reseller_id
        self.query_one("#filter", Input).cursor_blink = self.timers_on
        self.draw_header()
        if self.timers_on:
            self.set_interval(1.0, self.draw_header)  # the age of the last refresh
        if self.watcher_factory is not None:
            self.watch_records()
        self.request_refresh()

    # ------------------------------------------------------------------ the gate
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The one gate: read-only hides and blocks every mutation; context hides the rest."""
        if action in MUTATING_ACTIONS and self.read_only:
            return False
        if action in ADMIN_ACTIONS and not self.admin:
            return False
        if action == "forget":
            rows = self.active_table().selection() if self.is_mounted else []
            return bool(rows) and all(r.kind == "orphan_record" for r in rows)
        if action == "adopt":
            row = self.active_table().cursor_pane_row() if self.is_mounted else None
            return row is not None and row.kind == "orphan_instance"
        if action == "reprovision":
            rows = self.active_table().selection() if self.is_mounted else []
            return bool(rows) and all(absent_orphan_record(r) for r in rows)
        if action == "escape":
            return bool(self.bulk_ops() or self.filter_text or (
                self.is_mounted and self.query_one("#filter", Input).has_focus))
        return True

    # ------------------------------------------------------------------ app-wide keys
    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(dict(self.app._keymap), self.read_only))

    def action_command_palette(self) -> None:
        self.app.action_command_palette()
