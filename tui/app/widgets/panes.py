"""`KeyedTable`: a DataTable of one pane (instances or records) updated by keyed diff.

It keeps {row_key: cell values}; a sync removes vanished rows, updates only the cells that
changed (inside `batch_update()`), adds new rows, and rebuilds only when most rows changed.
The cursor stays on its key; marks are pruned when their rows vanish from the data.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from tui.app.view import MARK, PaneRow, natural_key


class KeyedTable(DataTable):
    """One pane's table; `pane_title` is its base title (the filter is appended)."""

    def __init__(self, columns: tuple[tuple[str, str], ...], pane_title: str, *,
                 id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.columns_spec = columns
        self.pane_title = pane_title
        self.values: dict[str, tuple[Text, ...]] = {}
        self.rows_by_key: dict[str, PaneRow] = {}
        self.marks: set[str] = set()
        self.border_title = pane_title
        self.rebuilds = 0  # how many full rebuilds happened (for tests of the diff)

    def on_mount(self) -> None:
        for key, label in self.columns_spec:
            self.add_column(label, key=key)

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

    def _set_mark_cell(self, key: str) -> None:
        if key in self.values:
            cell = Text(MARK if key in self.marks else " ", style="bold")
            self.values[key] = (cell, *self.values[key][1:])
            self.update_cell(key, "mark", cell)

    # ------------------------------------------------------------------ diff
    def sync(self, rows: list[PaneRow], all_keys: set[str]) -> None:
        """Show `rows` (already filtered, in order); `all_keys` are every row of the data
        (marks on rows that vanished from it are pruned, marks on filtered rows are kept)."""
        self.marks &= all_keys
        new = {r.key: (Text(MARK if r.key in self.marks else " ", style="bold"), *r.cells)
               for r in rows}
        self.rows_by_key = {r.key: r for r in rows}
        old = self.values
        cursor = self.cursor_key()
        removed = [k for k in old if k not in new]
        added = [k for k in new if k not in old]
        if not old or len(removed) + len(added) > max(8, len(new) // 2):
            self._rebuild(new)
        else:
            with self.app.batch_update():
                for key in removed:
                    self.remove_row(key)
                col_keys = [c for c, _ in self.columns_spec]
                for key, cells in new.items():
                    before = old.get(key)
                    if before is None:
                        continue
                    for col, was, now in zip(col_keys, before, cells):
                        if was != now:
                            self.update_cell(key, col, now)
                for key in added:
                    self.add_row(*new[key], key=key)
                if added:
                    self.sort("name", key=lambda cell: natural_key(cell.plain))
        self.values = new
        if cursor is not None and cursor in new:
            self.move_cursor(row=self.get_row_index(cursor), animate=False)

    def _rebuild(self, new: dict[str, tuple[Text, ...]]) -> None:
        self.rebuilds += 1
        with self.app.batch_update():
            self.clear()
            for key, cells in new.items():
                self.add_row(*cells, key=key)
