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

from textual import events
from textual.app import ComposeResult
from textual.containers import Container
from textual.binding import Binding
from textual.widgets import Input

from tui.app.bindings import (
    ADMIN_ACTIONS,
    DASHBOARD_BINDINGS,
    FOOTER_BOX,
    FOOTER_LOG,
    FOOTER_PANE,
    FOOTER_PINNED,
    MUTATING_ACTIONS,
    FooterSpec,
)
from tui.app.info import DashboardInfo
from tui.app.screens.dashboard.base import QuitApp, WatcherFactory
from tui.app.screens.dashboard.mutations import MutatingActions, acts_on
from tui.lifecycle.domain import OperationKind, SkipCause, TargetKind
from tui.app.screens.help import HelpScreen
from tui.app.textual_private import keymap, modal_binding_chain
from tui.app.view import INSTANCE_COLUMNS, RECORD_COLUMNS, PaneRow, pane_target
from tui.app.widgets.footer import FooterEntry, KeyFooter
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
        yield KeyFooter(self.footer_entries, id="footer")

    def on_mount(self) -> None:
        self.view_scope = self.service.scope.reseller_id
        self.query_one("#filter", Input).cursor_blink = self.timers_on
        self.draw_header()
        if self.timers_on:
            self.set_interval(1.0, self.draw_header)  # the age of the last refresh
        for note in self.info.notes:  # the session's notes open the progress log, before
            self.progress.write(note)  # anything a refresh or its workers say
        if self.watcher_factory is not None:
            self.watch_records()
        self.request_refresh()

    def on_screen_suspend(self) -> None:
        """A modal is on top: it says its own keys; the dashboard's footer would show keys
        that do not apply to it."""
        self.query_one(KeyFooter).display = False

    def on_screen_resume(self) -> None:
        self.query_one(KeyFooter).display = True

    # ------------------------------------------------------------------ the footer
    def footer_entries(self) -> list[FooterEntry]:
        """The keys of the current context, in the footer's order (see `bindings`): the
        filter box's, the progress log's, or the focused pane's (the row's keys first)."""
        if not self.is_mounted:
            return []
        bindings: dict[str, Binding] = {}
        for active in self.active_bindings.values():  # (what the gate allows, remapped)
            if active.enabled:
                bindings.setdefault(active.binding.action, active.binding)
        if self.box_focused():
            spec: FooterSpec = FOOTER_BOX
        elif self.focused is self.progress_log():
            spec = FOOTER_LOG + FOOTER_PINNED
        else:
            spec = FOOTER_PANE + FOOTER_PINNED
        entries = []
        for actions, label in spec:
            names = (actions,) if isinstance(actions, str) else actions
            found = [bindings[name] for name in names if name in bindings]
            if len(found) != len(names):
                continue
            if label == "Cancel run" and not self.bulk_ops():
                label = "Clear filter"  # (esc in a pane: cancels bulk work, else the filter)
            entries.append(FooterEntry(
                "/".join(self.app.get_key_display(b) for b in found), label,
                found[0].key.split(",")[0], names[0],
                pinned=(actions, label) in FOOTER_PINNED))
        return entries

    # ------------------------------------------------------------------ the gate
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The one gate: read-only hides and blocks every mutation; the context (the cursor
        row, the marks) hides the keys that do not apply to it, so the footer shows the
        keys of the current context. A key blocked here is not run: `on_key` says why."""
        return self.blocked_reason(action) is None

    def blocked_reason(self, action: str) -> str | None:
        """Why `action` cannot run now (one line), or None when it can."""
        if action in MUTATING_ACTIONS and self.read_only:
            return f"read-only session: {_LABELS.get(action, action)} is disabled"
        if action in MUTATING_ACTIONS and self.scope_unknown:
            return (f"unknown reseller {self.service.scope.reseller_id!r}: "
                    f"{_LABELS.get(action, action)} is disabled")
        if action in ADMIN_ACTIONS and not self.admin:
            return "the scope is fixed: this session sees one reseller only"
        if not self.is_mounted:
            return None
        if action not in _BOX_KEYS and self.box_focused():
            # the filter box's own key (enter keeps the filter, ctrl+d edits, `/` is typed:
            # Textual does not know `slash` is printable, so it must be refused here)
            return ""
        if action not in _LOG_KEYS and "." not in action \
                and self.focused is self.progress_log():  # (`app.…`: Textual's own keys)
            return (f"{_LABELS.get(action, action)}: the progress log has the focus "
                    "(esc or tab go back to the panes)")
        if action in ("create", "clear_all") and self.obs is None:
            return f"{_LABELS[action]}: no data yet (wait for the first refresh)"
        if action == "create" and not self.obs_resellers():
            return "create: no reseller to create a connection for"
        if action == "clear_all" and self.scope_is_empty():
            return f"clear-all: nothing in scope {self.scope_label()}"
        if action == "pair":
            cursor = self.active_table().cursor_pane_row()
            if cursor is None:
                return "pairing: no row under the cursor"
            return _pair_refusal(self, cursor)
        if action in _ROW_ACTIONS:
            table = self.active_table()
            rows = table.selection()
            cursor = table.cursor_pane_row()
            label = _LABELS.get(action, action)
            if not rows:
                return f"{label}: no row under the cursor"
            if action == "forget" and not (
                    all(r.kind is TargetKind.ORPHAN_RECORD for r in rows)
                    and any(acts_on(self.service, OperationKind.FORGET, r) for r in rows)):
                return ("forget works on an orphan record whose name is absent on Evolution"
                        f" ({_what(rows)})")
            if action == "reprovision" and not all(
                    acts_on(self.service, OperationKind.REPROVISION, r) for r in rows):
                return ("re-provision works on an orphan record whose name is absent on "
                        f"Evolution ({_what(rows)})")
            if action == "adopt" and (cursor is None or not acts_on(
                    self.service, OperationKind.ADOPT, cursor)):
                return f"adopt works on an orphan instance ({_what([cursor] if cursor else [])})"
        if action == "unmark_all" and not self.active_table().marks:
            return "nothing is marked"
        if action in ("mark_all", "sort", "sort_reverse") and not self.active_table().row_count:
            return f"{_LABELS[action]}: the pane has no rows"
        if action in ("filter", "toggle_orphans_only") and self.scope_is_empty() \
                and not (self.filter_text or self.orphans_only):
            return f"{_LABELS[action]}: nothing in scope {self.scope_label()}"
        if action == "escape":
            if not (self.bulk_ops() or self.filter_text or self.box_focused()
                    or self.focused is self.progress_log()):
                return ""  # (nothing to cancel: esc stays silent)
        return None

    def on_key(self, event: events.Key) -> None:
        """A key bound (here) to an action the gate blocks says why, in one line: a
        mutation in a read-only session, a contextual key on the wrong row. (Keys the
        focused widget binds itself, e.g. ctrl+d in the filter box, are the widget's.)"""
        for namespace, bindings in modal_binding_chain(self):
            found = bindings.key_to_bindings.get(event.key)
            if not found:
                continue
            if namespace is not self:
                return  # a binding before ours takes the key
            reason = self.blocked_reason(found[0].action)
            if reason:
                event.stop()
                event.prevent_default()
                self.notify(reason, severity="warning", timeout=4)
            return

    def action_escape(self) -> None:
        if self.focused is self.progress_log():
            self.set_focus(self.active_table())  # back from the progress log to the panes
            return
        if self.box_focused():
            self.clear_filter()
            return
        super().action_escape()

    # ------------------------------------------------------------------ app-wide keys
    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(keymap(self.app), self.read_only))

    def action_command_palette(self) -> None:
        self.app.action_command_palette()


#: The only actions of the dashboard while the filter box has the focus (every other key
#: is the box's).
_BOX_KEYS = frozenset({"escape", "switch_pane", "detail"})  # (enter: keep the filter)

#: The only actions of the dashboard while the progress log has the focus (its history is
#: read there: the panes' keys would act on a cursor that is not in view).
_LOG_KEYS = frozenset({"escape", "switch_pane", "focus_progress", "cursor_down", "cursor_up",
                       "cursor_top", "cursor_bottom", "refresh", "toggle_pause", "help",
                       "quit", "command_palette"})

#: Actions on the selection (the marked rows, or else the cursor row).
_ROW_ACTIONS = frozenset({"delete", "forget", "adopt", "reprovision", "copy_name",
                          "copy_phone", "detail", "mark"})

#: An action as the one-line reasons name it.
_LABELS = {"create": "create", "delete": "delete", "forget": "forget", "adopt": "adopt",
           "reprovision": "re-provision", "clear_all": "clear-all", "pair": "pairing",
           "copy_name": "copy", "copy_phone": "copy", "detail": "detail", "mark": "mark",
           "mark_all": "mark all", "unmark_all": "unmark all", "sort": "sort",
           "sort_reverse": "sort", "filter": "filter", "choose_scope": "scope",
           "toggle_orphans_only": "orphans only"}

_KINDS = {TargetKind.LINKED: "is linked", TargetKind.ORPHAN_INSTANCE: "is an orphan instance",
          TargetKind.ORPHAN_RECORD: "is an orphan record"}


def _pair_refusal(screen: DashboardScreen, row: PaneRow) -> str | None:
    """Why `row` has nothing to pair (the service's rule, in the dashboard's words)."""
    skip = screen.service.refusal(OperationKind.PAIR, pane_target(row))
    if skip is None:
        return None
    if skip.cause is SkipCause.ALREADY_OPEN:
        return f"{row.name} is open: nothing to pair"
    return f"{row.name} has no Evolution instance: nothing to pair"


def _what(rows: list[PaneRow]) -> str:
    """`cursor: NAME is linked`, or how many marked rows are of another kind."""
    if not rows:
        return "no row under the cursor"
    if len(rows) == 1:
        row = rows[0]
        kind = _KINDS.get(row.kind, row.kind.value)
        if row.kind is TargetKind.ORPHAN_RECORD and row.probe:
            kind += f" ({row.probe} on Evolution)"
        return f"cursor: {row.name} {kind}"
    return f"{len(rows)} marked rows, not all of that kind"
