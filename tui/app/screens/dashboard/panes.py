"""`PaneView`: what the dashboard shows, and the keys that only change what it shows.

Owns the two panes (instances, records): their view models, the redraw (the header, then
each table from its model, in place when only some rows changed, under `gc_paused`), the
scope being viewed, the filter box, orphans-only, marks, which pane has the focus, the
cursor row's detail modal and the scope picker. It never starts an operation nor a refresh.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.text import Text
from textual import events, on
from textual.widgets import DataTable, Input

from tui.app.literal import has_hidden, shown
from tui.app.screens.dashboard.base import DashboardBase
from tui.app.screens.detail import DetailScreen
from tui.app.screens.pickers import ALL, ResellerPicker
from tui.app.view import ObservationDelta, PaneModel, reseller_label, visible
from tui.app.widgets.header import StatusHeader
from tui.app.widgets.panes import KeyedTable
from tui.reconcile.classify import scope as scope_reconciliation
from tui.reconcile.models import Reconciliation


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while a redraw builds thousands of short-lived objects: at 10,000 rows a
    side each collection walks the whole heap (every instance and record of the
    observation), several times per full rebuild. Garbage is collected once, afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class PaneView(DashboardBase):
    """The panes, the header and the view keys of `DashboardScreen` (see the module)."""

    _last_pane = "instances"  # the pane that had the focus last

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.view_scope: str | None = None  # the reseller shown (None: all resellers)
        self.filter_text = ""
        self.orphans_only = False
        self.instance_model = PaneModel()
        self.record_model = PaneModel()
        self._redraw_pending = False
        self._delta: ObservationDelta | None = None  # against the observation on screen
        self._synced_view: tuple[object, ...] = ()  # (filter, orphans only) of the last sync

    # ------------------------------------------------------------------ tables and focus
    def tables(self) -> tuple[KeyedTable, KeyedTable]:
        return self.query_one("#instances", KeyedTable), self.query_one("#records", KeyedTable)

    def active_table(self) -> KeyedTable:
        instances, records = self.tables()
        return records if self._last_pane == "records" else instances

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, KeyedTable):
            self._last_pane = event.widget.id or "instances"
        self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    def _cursor_moved(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_detail()

    # ------------------------------------------------------------------ what is shown
    def current_view(self) -> Reconciliation | None:
        if self.obs is None:
            return None
        if self.view_scope == self.service.scope.reseller_id:
            return self.obs.view
        return scope_reconciliation(self.obs.full, self.view_scope)

    def scope_label(self) -> str:
        if self.view_scope is None:
            return "all resellers"
        reseller = self.obs.reseller(self.view_scope) if self.obs else None
        if reseller is None and self.view_scope == self.service.scope.reseller_id:
            return self.info.scope_label
        return reseller_label(reseller, self.view_scope)

    # ------------------------------------------------------------------ drawing
    def draw_header(self) -> None:
        state = self.header_state
        view = self.current_view()
        state.counts = view.counts if view is not None else None
        state.scope_label = self.scope_label()
        state.marked = sum(len(table.marks) for table in self.tables())
        self.query_one(StatusHeader).show(state, self.clock())

    def schedule_redraw(self) -> None:
        if not self._redraw_pending:
            self._redraw_pending = True
            self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        with gc_paused():
            self._redraw()

    def _redraw(self) -> None:
        self._redraw_pending = False
        self.draw_header()
        view = self.current_view()
        if view is None:
            return
        now = self.clock()
        delta, self._delta = self._delta, None
        if view is not (self.obs.view if self.obs else None):
            delta = None  # another scope than the session's: no delta for it
        instances, records = self.tables()
        self.record_model.probing = bool(self.obs and self.obs.probes_pending)
        filters = (self.filter_text.strip(), self.orphans_only)
        for table, (rows, changed) in (
                (instances, self.instance_model.update_instances(view, self.inflight, delta)),
                (records, self.record_model.update_records(view, self.inflight, now, delta))):
            if changed is not None and not any(filters) and table.synced_rows is rows \
                    and self._synced_view == filters:
                table.sync_changed(changed)  # in place: only the changed rows are touched
            else:
                matching = visible(rows, self.filter_text, self.orphans_only)
                table.sync(matching, {r.key for r in rows} if table.marks else None)
                table.synced_rows = rows if matching is rows else None
            shown_count = len(table.values)
            title = f"{table.pane_title} ({shown_count}"
            title += f"/{len(rows)})" if shown_count != len(rows) else ")"
            if self.filter_text:
                title += f" · filter: {shown(self.filter_text)}"
            if self.orphans_only:
                title += " · orphans only"
            marks = len(table.marks)
            if marks:
                title += f" · {marks} marked"  # in the title: stacked panes have no bottom
            table.set_title(Text(title))  # a Text: never parsed as markup
        self._synced_view = filters
        self.refresh_bindings()

    # ------------------------------------------------------------------ filter
    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.value = self.filter_text
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if has_hidden(event.value):
            # pasted control or bidi characters: the box shows (and the filter matches)
            # their visible escapes, as the cells do
            self.set_filter(event.value)
            return
        self.filter_text = event.value
        self.redraw()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#filter", Input).remove_class("-visible")
        self.query_one(f"#{self._last_pane}", KeyedTable).focus()

    def set_filter(self, text: str) -> None:
        text = shown(text)
        self.filter_text = text
        box = self.query_one("#filter", Input)
        with box.prevent(Input.Changed):
            box.value = text
            box.cursor_position = len(text)
        self.redraw()

    def clear_filter(self) -> None:
        self.query_one("#filter", Input).remove_class("-visible")
        self.set_filter("")
        self.query_one(f"#{self._last_pane}", KeyedTable).focus()

    def action_toggle_orphans_only(self) -> None:
        self.orphans_only = not self.orphans_only
        self.redraw()

    # ------------------------------------------------------------------ panes, marks, detail
    def action_switch_pane(self) -> None:
        instances, records = self.tables()
        (instances if records.has_focus else records).focus()

    def action_mark(self) -> None:
        table = self.active_table()
        key = table.cursor_key()
        if key is not None:
            table.toggle_mark(key)
            if table.cursor_row < table.row_count - 1:
                table.move_cursor(row=table.cursor_row + 1)
            self.redraw()

    def action_mark_all(self) -> None:
        table = self.active_table()
        table.mark_keys(list(table.values))
        self.redraw()

    def action_detail(self) -> None:
        row = self.active_table().cursor_pane_row()
        if row is None:
            return
        probe = self.obs.probes.get(row.name) if self.obs else None
        self.app.push_screen(DetailScreen(row.row, probe))

    # ------------------------------------------------------------------ scope
    def action_choose_scope(self) -> None:
        if self.obs is None:
            self.notify("no data yet: wait for the first refresh", severity="warning")
            return

        def chosen(value: str | None) -> None:
            if value is None:
                return
            self.view_scope = None if value == ALL else value
            for table in self.tables():
                table.marks.clear()
            self.redraw()
            self.progress.write(f"scope: {self.scope_label()}")

        self.app.push_screen(ResellerPicker("Show which scope?", self.obs.resellers,
                                            with_all=True, suggested=self.view_scope or ALL),
                             chosen)
