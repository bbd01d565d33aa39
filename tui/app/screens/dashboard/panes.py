"""`PaneView`: what the dashboard shows, and the keys that only change what it shows.

Owns the two panes (instances, records): their view models, the redraw (the header, then
each table from its model, in place when only some rows changed, under `gc_paused`), the
scope being viewed, the filter box, orphans-only, marks, which pane has the focus, the
cursor row's detail modal and the scope picker. It never starts an operation nor a refresh.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.text import Text
from textual import events, on
from textual.widgets import DataTable, Input, RichLog

from tui.app.literal import has_hidden, shown
from tui.app.screens.dashboard.base import DashboardBase
from tui.app.screens.detail import DetailScreen
from tui.app.screens.pickers import ALL, ResellerPicker
from tui.app.view import (
    ObservationDelta,
    PaneModel,
    next_sort,
    reseller_label,
    sort_label,
    sorted_rows,
    visible,
)
from tui.app.widgets.header import StatusHeader
from tui.app.widgets.panes import KeyedTable
from tui.evolution.dialect import Dialect
from tui.reconcile.classify import scope as scope_reconciliation
from tui.reconcile.models import Reconciliation
from tui.store.models import Reseller

# while operations run: the panes are redrawn every (cost of a redraw and its paint) x
# REDRAW_BUSY_SHARE, within REDRAW_BUSY_S (seconds)
REDRAW_BUSY_SHARE = 9.0
REDRAW_BUSY_S = (0.25, 2.0)


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
        self._last_redraw = 0.0  # monotonic time of the last redraw
        self._redraw_cost = 0.0  # seconds from the last redraw to its paint
        self._delta: ObservationDelta | None = None  # against the observation on screen
        # pane -> (filter, orphans only, sort column, reversed) of its last sync
        self._synced_view: dict[str, tuple[object, ...]] = {}
        # pane -> (sort column or None for the default order by name, reversed)
        self.sorts: dict[str, tuple[str | None, bool]] = {}

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

    def obs_resellers(self) -> list[Reseller]:
        """The resellers known from the last refresh (none before it)."""
        return list(self.obs.resellers) if self.obs else []

    def scope_is_empty(self) -> bool:
        """The scope on screen has no instance and no record at all (nothing to clear)."""
        view = self.current_view()
        return view is not None and not (view.linked or view.orphan_instances
                                         or view.orphan_records)

    def reseller_name(self, reseller_id: str | None) -> str:
        """A reseller id as the modals name it: its name once known, else the id."""
        if reseller_id is None:
            return "no reseller"
        reseller = self.obs.reseller(reseller_id) if self.obs else None
        return reseller_label(reseller, reseller_id)

    # ------------------------------------------------------------------ drawing
    def draw_header(self) -> None:
        state = self.header_state
        view = self.current_view()
        state.counts = view.counts if view is not None else None
        state.scope_label = self.scope_label()
        state.marked = sum(len(table.marks) for table in self.tables())
        self.query_one(StatusHeader).show(state, self.clock())

    def schedule_redraw(self) -> None:
        """Redraw the panes after this refresh. While operations run, their steps arrive
        many times a second, and a redraw repaints both tables whole (one changed cell
        invalidates a DataTable's line cache): a redraw per frame took the event loop from
        the operation itself (the dashboard's clear-all ran 2.6x the CLI's,
        `tests/bench/bench_ops.py`). So while busy the panes are redrawn at most every
        `REDRAW_BUSY_SHARE` times what the last redraw and its paint cost (the UI keeps
        about a tenth of the loop), within `REDRAW_BUSY_S`; the progress bar moves on
        every finished target regardless."""
        if self._redraw_pending:
            return
        self._redraw_pending = True
        every = min(REDRAW_BUSY_S[1], max(REDRAW_BUSY_S[0],
                                          self._redraw_cost * REDRAW_BUSY_SHARE))
        wait = self._last_redraw + every - time.monotonic() if self.busy() else 0.0
        if wait > 0:
            self.set_timer(wait, self.redraw)
        else:
            self.call_after_refresh(self.redraw)

    def busy(self) -> bool:
        """Whether operations are running (see `RunningOperations`)."""
        return False

    def redraw(self) -> None:
        with gc_paused():
            self._redraw()

    def _redraw_painted(self, started: float) -> None:
        self._redraw_cost = time.monotonic() - started

    def _redraw(self) -> None:
        self._redraw_pending = False
        self._last_redraw = time.monotonic()
        self.call_after_refresh(self._redraw_painted, self._last_redraw)
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
        for table, (rows, changed) in (
                (instances, self.instance_model.update_instances(view, self.inflight, delta)),
                (records, self.record_model.update_records(view, self.inflight, now, delta))):
            pane = table.id or ""
            column, reverse = self.sorts.get(pane, (None, False))
            filters = (self.filter_text.strip(), self.orphans_only, column, reverse)
            if changed is not None and not any(filters) and table.synced_rows is rows \
                    and self._synced_view.get(pane) == filters:
                # in place: only the changed rows are touched (never while sorted: a changed
                # value may move its row)
                table.sync_changed(changed)
            else:
                matching = sorted_rows(visible(rows, self.filter_text, self.orphans_only),
                                       table.columns_spec, column, reverse)
                table.sync(matching, {r.key for r in rows} if table.marks else None)
                table.synced_rows = rows if matching is rows else None
            self._synced_view[pane] = filters
            shown_count = len(table.values)
            title = f"{table.pane_title} ({shown_count}"
            title += f"/{len(rows)})" if shown_count != len(rows) else ")"
            if self.filter_text:
                title += f" · filter: {shown(self.filter_text)}"
            if self.orphans_only:
                title += " · orphans only"
            if column is not None:
                title += f" · sorted by {sort_label(pane, column)} {'▼' if reverse else '▲'}"
            marks = len(table.marks)
            if marks:
                title += f" · {marks} marked"  # in the title: stacked panes have no bottom
            table.set_title(Text(title))  # a Text: never parsed as markup
        self.refresh_bindings()

    # ------------------------------------------------------------------ filter
    def box_focused(self) -> bool:
        """The filter box has the focus. (`Screen.focused`, set at once by `set_focus`; a
        widget's `has_focus` follows only when its Focus event is handled, after the keys
        already queued.)"""
        return self.is_mounted and self.focused is self.query_one("#filter", Input)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.value = self.filter_text
        # focused now, not after the queued messages: keys typed right after `/` (a paste,
        # a fast typist, keys typed ahead while starting) go to the box
        self.set_focus(box)

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
        self.keep_filter()

    def keep_filter(self) -> None:
        """Close the box, keep its filter, give the focus back to the pane (at once: the
        keys typed right after enter are the pane's)."""
        self.query_one("#filter", Input).remove_class("-visible")
        self.set_focus(self.query_one(f"#{self._last_pane}", KeyedTable))

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
        self.set_focus(self.query_one(f"#{self._last_pane}", KeyedTable))

    def action_toggle_orphans_only(self) -> None:
        """Only the orphan rows of both panes (again: every row); the panes' titles say
        `orphans only` while it is on."""
        self.orphans_only = not self.orphans_only
        self.redraw()
        self.progress.write("orphans only: on (both panes show only orphan rows)"
                            if self.orphans_only else "orphans only: off (every row)")

    # ------------------------------------------------------------------ panes, marks, detail
    def action_switch_pane(self) -> None:
        instances, records = self.tables()
        if self.focused not in (instances, records):
            self.set_focus(self.active_table())  # (from the progress log: back to the panes)
            return
        self.set_focus(instances if self.focused is records else records)

    # ------------------------------------------------------------------ vim motions
    def progress_log(self) -> RichLog:
        return self.query_one("#progress-log", RichLog)

    def _log_focused(self) -> RichLog | None:
        log = self.progress_log() if self.is_mounted else None
        return log if log is not None and self.focused is log else None

    def action_cursor_down(self) -> None:
        log = self._log_focused()
        if log is not None:
            log.scroll_down(animate=False)
        else:
            self.active_table().action_cursor_down()

    def action_cursor_up(self) -> None:
        log = self._log_focused()
        if log is not None:
            log.scroll_up(animate=False)
        else:
            self.active_table().action_cursor_up()

    def action_cursor_top(self) -> None:
        log = self._log_focused()
        if log is not None:
            log.scroll_home(animate=False)
        else:
            table = self.active_table()
            if table.row_count:
                table.move_cursor(row=0, animate=False)

    def action_cursor_bottom(self) -> None:
        log = self._log_focused()
        if log is not None:
            log.scroll_end(animate=False)
        else:
            table = self.active_table()
            if table.row_count:
                table.move_cursor(row=table.row_count - 1, animate=False)

    def action_focus_progress(self) -> None:
        """The progress log takes the focus: j / k / pgup / pgdn / g / G scroll its
        history; esc or tab go back to the panes."""
        self.set_focus(self.progress_log())

    # ------------------------------------------------------------------ sort
    def action_sort(self) -> None:
        """The focused pane's sort goes to the next column (then back to no sort)."""
        pane = self._last_pane
        column, _reverse = self.sorts.get(pane, (None, False))
        self._set_sort(pane, next_sort(pane, column), False)  # (a new column: ascending)

    def action_sort_reverse(self) -> None:
        pane = self._last_pane
        column, reverse = self.sorts.get(pane, (None, False))
        self._set_sort(pane, column or next_sort(pane, None), not reverse)

    def _set_sort(self, pane: str, column: str | None, reverse: bool) -> None:
        self.sorts[pane] = (column, reverse)
        table = self.query_one(f"#{pane}", KeyedTable)
        table.show_sort(column, reverse)
        self.redraw()
        if column is None:
            self.progress.write(f"{pane}: default order (by name)")
        else:
            arrow = "▼" if reverse else "▲"
            self.progress.write(f"{pane}: sorted by {sort_label(pane, column)} {arrow}")

    # ------------------------------------------------------------------ copy
    def action_copy_name(self) -> None:
        row = self.active_table().cursor_pane_row()
        if row is None:
            self.notify("nothing to copy: no row under the cursor", severity="warning")
            return
        self.app.copy_to_clipboard(row.name)
        self.notify(f"copied {row.name}")

    def action_copy_phone(self) -> None:
        row = self.active_table().cursor_pane_row()
        if row is None:
            self.notify("nothing to copy: no row under the cursor", severity="warning")
            return
        if not row.phone:
            self.notify(f"no phone number known for {row.name}", severity="warning")
            return
        self.app.copy_to_clipboard(row.phone)
        self.notify(f"copied {row.phone} (phone of {row.name})")

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

    def action_unmark_all(self) -> None:
        table = self.active_table()
        count = table.unmark_all()
        self.redraw()
        self.progress.write(f"{table.id}: unmarked {count} row{'s' if count != 1 else ''}")

    def action_detail(self) -> None:
        if self.box_focused():
            self.keep_filter()  # enter in the filter box (a priority binding: see bindings)
            return
        row = self.active_table().cursor_pane_row()
        if row is None:
            return
        probe = self.obs.probes.get(row.name) if self.obs else None
        server = self.service.known_profile
        # on v2 the list is database rows: the detail asks whether a listed one is live
        liveness = self.service.liveness if server is not None \
            and server.dialect is Dialect.V2 else None
        self.app.push_screen(DetailScreen(row.row, probe, liveness))

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
