"""`KeyedTable`: a DataTable of one pane (instances or records) updated by keyed diff.

It keeps {row_key: cell values}; a sync removes vanished rows, updates only the cells that
changed (inside `batch_update()`), adds new rows, and rebuilds only when most rows changed.
Rows whose `PaneRow.cells` tuple is the one already shown are skipped by identity (the view
model reuses it while a row does not change); `sync_changed` touches only the rows a refresh
changed. Columns have fixed widths and no cell padding (cells carry their separator space): a long
value ends in an ellipsis instead of widening its column and pushing the others off screen.
The cursor stays on its key; marks are pruned when their rows vanish from the data.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual import events
from textual.coordinate import Coordinate
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from tui.app.textual_private import (
    clear_table_caches,
    fill_empty_table,
    update_table_dimensions,
)
from tui.app.view import (
    INSTANCE_COLUMNS,
    INSTANCE_FIT,
    MARK,
    RECORD_COLUMNS,
    RECORD_FIT,
    FitSpec,
    PaneRow,
    fit_widths,
)


MARKED = Text(MARK, style="bold", end="")
UNMARKED = Text(" ", end="")
#: Each pane's column fit (`tui.app.view.fit_widths`), by its column specs.
FITS: dict[tuple[tuple[str, str, int], ...], FitSpec] = {
    INSTANCE_COLUMNS: INSTANCE_FIT, RECORD_COLUMNS: RECORD_FIT}
#: The mark and the name stay put when the table scrolls sideways.
FIXED_COLUMNS = 2
FOCUS_MARK = "▶ "  # before the title of the pane that has the focus (not only a colour)


class KeyedTable(DataTable):
    """One pane's table; `pane_title` is its base title (the filter is appended). Its
    columns fit its own width on every resize (`fit`, `tui.app.view.fit_widths`: the least
    useful are dropped first); the mark and name columns stay when it scrolls sideways.
    The title of the focused pane starts with `FOCUS_MARK` (text, not only a colour)."""

    def __init__(self, columns: tuple[tuple[str, str, int], ...], pane_title: str, *,
                 id: str | None = None, fit: FitSpec | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, cell_padding=0,
                         fixed_columns=FIXED_COLUMNS)
        self.columns_spec = columns
        self.fit = fit if fit is not None else FITS.get(columns)
        self.fitted_room = -1  # the width the columns were last fitted to
        self.dropped = False  # a column is dropped (0 wide) at this width
        self._title: Text | str = pane_title
        self.pane_title = pane_title
        self.values: dict[str, tuple[Text, ...]] = {}  # key -> (mark, *cells) as shown
        self.rows_by_key: dict[str, PaneRow] = {}
        self.marks: set[str] = set()
        self.border_title = pane_title
        self.rebuilds = 0  # how many full rebuilds happened (for tests of the diff)
        self._shown_cells: dict[str, tuple[Text, ...]] = {}  # key -> the PaneRow.cells shown
        self.synced_rows: list[PaneRow] | None = None  # the model's list, when shown unfiltered

    def on_mount(self) -> None:
        for key, label, width in self.columns_spec:
            self.add_column(Text(label, no_wrap=True, overflow="ellipsis"), key=key,
                            width=width)
        self.fit_columns()

    # ------------------------------------------------------------------ fit and title
    def on_resize(self, event: events.Resize) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Fit the columns to the pane's width (O(columns), whatever the rows)."""
        room = self.size.width - self.styles.scrollbar_size_vertical
        if self.fit is None or room <= 0 or room == self.fitted_room or not self.columns:
            return
        self.fitted_room = room
        widths = fit_widths(self.fit, room)
        for key, width in widths.items():
            column = self.columns.get(ColumnKey(key))
            if column is not None:
                column.width, column.auto_width = width, False
        self.dropped = any(width == 0 for width in widths.values())
        clear_table_caches(self)
        update_table_dimensions(self)  # the virtual width, from the column widths only
        self.refresh()

    def render_line(self, y: int) -> Strip:
        """A dropped (0-wide) column leaves an empty segment without a style, which the
        NO_COLOR filter cannot take: such segments are left out (visible lines only)."""
        strip = super().render_line(y)
        if self.dropped:
            strip = Strip([seg for seg in strip if seg.text or seg.style is not None],
                          strip.cell_length)
        return strip

    def column_width(self, key: str) -> int:
        return self.columns[ColumnKey(key)].width

    def set_title(self, title: Text | str) -> None:
        """The pane's title; shown after `FOCUS_MARK` while the pane has the focus."""
        self._title = title
        self._show_title(self.has_focus)

    def _show_title(self, focused: bool) -> None:
        mark = FOCUS_MARK if focused else ""
        self.border_title = Text.assemble(mark, self._title)  # a Text: never markup

    def on_focus(self) -> None:
        self._show_title(True)

    def on_blur(self) -> None:
        self._show_title(False)  # (runs before Textual's own handler clears has_focus)

    def _update_dimensions(self, new_rows: Iterable) -> None:
        """DataTable measures every cell of every new row to size auto-width columns and
        auto-height rows; here every column has a fixed width and every row is one line
        without a label, so that (120,000 measurements for 10,000 rows a side) is skipped
        and only the virtual size is recomputed. (`_update_dimensions` is DataTable's own
        hook, called from its idle handler: see `tui.app.textual_private`.)"""
        if any(c.auto_width for c in self.columns.values()) or any(
                self.rows[k].auto_height or self.rows[k].label is not None
                for k in list(new_rows)[:1] if k in self.rows):
            update_table_dimensions(self, new_rows)
        else:
            update_table_dimensions(self)

    def show_sort(self, column: str | None, reverse: bool) -> None:
        """The header label of the sorted `column` gets ▲ (ascending) or ▼ (reversed); the
        other labels are the plain ones. The arrow replaces the label's leading separator
        space when appending it would not fit the column."""
        arrow = "▼" if reverse else "▲"
        for key, label, _width in self.columns_spec:
            found = self.columns.get(ColumnKey(key))
            if found is None:
                continue
            text = label
            if key == column:
                fits = found.width <= 0 or len(label) + 2 <= found.width
                text = f"{label} {arrow}" if fits or not label.startswith(" ") \
                    else f"{arrow}{label[1:]}"
            if found.label.plain != text:
                found.label = Text(text, no_wrap=True, overflow="ellipsis")
        clear_table_caches(self)
        self.refresh()

    # ------------------------------------------------------------------ cursor / marks
    def cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        return self.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value

    def cursor_pane_row(self) -> PaneRow | None:
        key = self.cursor_key()
        return self.rows_by_key.get(key) if key is not None else None

    def marked_rows(self) -> list[PaneRow]:
        if not self.marks:
            return []
        return [self.rows_by_key[k] for k in self.values if k in self.marks]

    def selection(self) -> list[PaneRow]:
        """The marked rows, or else the cursor row."""
        marked = self.marked_rows()
        if marked:
            return marked
        row = self.cursor_pane_row()
        return [row] if row is not None else []

    def toggle_mark(self, key: str) -> None:
        self.marks.symmetric_difference_update({key})
        self._set_mark_cell(key)

    def mark_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key not in self.marks:
                self.marks.add(key)
                self._set_mark_cell(key)

    def unmark_all(self) -> int:
        """Clear every mark (also on rows the filter hides); how many there were."""
        keys = list(self.marks)
        self.marks.clear()
        for key in keys:
            self._set_mark_cell(key)
        return len(keys)

    def _set_mark_cell(self, key: str) -> None:
        if key in self.values:
            mark = MARKED if key in self.marks else UNMARKED
            self.values[key] = (mark, *self.values[key][1:])
            self.update_cell(key, "mark", mark)

    # ------------------------------------------------------------------ diff
    def sync(self, rows: list[PaneRow], all_keys: set[str] | None = None) -> None:
        """Show `rows` (already filtered, in order); `all_keys` are every row of the data
        (marks on rows that vanished from it are pruned, marks on filtered rows are kept).

        Rows whose `PaneRow.cells` is the tuple already shown are skipped by identity, so an
        unchanged refresh costs one dict lookup per row; changed rows update only the cells
        that differ; new rows are added and the order restored with one sort."""
        if all_keys is not None and self.marks:
            self.marks &= all_keys
        marks = self.marks
        old = self.values
        shown = self._shown_cells
        cursor = self.cursor_key()
        new: dict[str, tuple[Text, ...]] = {}
        new_shown: dict[str, tuple[Text, ...]] = {}
        changed: list[str] = []
        for r in rows:
            key = r.key
            mark = MARKED if key in marks else UNMARKED
            before = old.get(key)
            cells = r.cells
            new_shown[key] = cells
            if before is not None and before[0] is mark and shown.get(key) is cells:
                new[key] = before
                continue
            new[key] = (mark, *cells)
            if before is not None:
                changed.append(key)
        self.rows_by_key = {r.key: r for r in rows}
        added = [k for k in new if k not in old]
        removed = len(old) - (len(new) - len(added))
        if not old or removed + len(added) > max(8, len(new) // 2):
            self._rebuild(new)
        elif removed or added or changed:
            with self.app.batch_update():
                if removed:
                    for key in [k for k in old if k not in new]:
                        self.remove_row(key)
                col_keys = [c for c, _l, _w in self.columns_spec]
                for key in changed:
                    for col, was, now in zip(col_keys, old[key], new[key]):
                        if was is not now:
                            self.update_cell(key, col, now)
                for key in added:
                    self.add_row(*new[key], key=key)
                if added or self._order_changed(old, new):
                    position = {id(cells[1]): i for i, cells in enumerate(new.values())}
                    self.sort("name", key=lambda name_cell: position[id(name_cell)])
        elif self._order_changed(old, new):
            position = {id(cells[1]): i for i, cells in enumerate(new.values())}
            self.sort("name", key=lambda name_cell: position[id(name_cell)])
        self.values = new
        self._shown_cells = new_shown
        if cursor is not None and cursor in new:
            row = self.get_row_index(cursor)
            if row != self.cursor_row:
                self.move_cursor(row=row, animate=False)

    def sync_changed(self, changed: list[PaneRow]) -> None:
        """Same rows, same order as the last `sync`: update only the `changed` rows' cells."""
        if not changed:
            return
        col_keys = [c for c, _l, _w in self.columns_spec]
        with self.app.batch_update():
            for r in changed:
                key = r.key
                before = self.values.get(key)
                if before is None:
                    continue
                self.rows_by_key[key] = r
                if self._shown_cells.get(key) is r.cells:
                    continue
                new = (before[0], *r.cells)
                for col, was, now in zip(col_keys, before, new):
                    if was is not now:
                        self.update_cell(key, col, now)
                self.values[key] = new
                self._shown_cells[key] = r.cells

    @staticmethod
    def _order_changed(old: dict[str, tuple], new: dict[str, tuple]) -> bool:
        """True when the rows kept from `old` are not in the same relative order in `new`."""
        kept = [k for k in new if k in old]
        return kept != [k for k in old if k in new]

    def _rebuild(self, new: dict[str, tuple[Text, ...]]) -> None:
        self.rebuilds += 1
        with self.app.batch_update():
            self.clear()
            self.fill(new)

    def fill(self, new: dict[str, tuple[Text, ...]]) -> None:
        """Add every row of `new` (key -> cells) to the EMPTY table in one pass.

        The same table state as one `add_row(*cells, key=key)` per row (a test compares
        them), but the per-row work of `add_row` that only matters once is done once: the
        cursor re-validation (a reactive assignment), the column ordering, the idle check.
        At 10,000 rows that took the first paint's rebuild from ~0.9 s to ~0.2 s.
        (This writes DataTable's own row stores, as `add_row` does: see
        `tui.app.textual_private.fill_empty_table`.)"""
        if self.row_count:
            raise RuntimeError("fill() needs an empty table: clear() it first")
        columns = len(self.ordered_columns)
        if any(len(cells) > columns for cells in new.values()):
            raise ValueError("More values provided than there are columns.")
        fill_empty_table(self, new)
