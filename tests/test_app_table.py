"""`KeyedTable.fill`, the one-pass bulk add of a full rebuild, against Textual's own
`add_row`: the table state must be the same (Textual is pinned; this catches a Textual that
keeps rows differently), and the filled table must render, move its cursor and diff."""

from __future__ import annotations

import pytest
from rich.text import Text
from textual.app import App, ComposeResult

from tui.app.widgets.panes import KeyedTable

COLUMNS = (("mark", "", 1), ("name", "name", 12), ("state", "state", 8))


class TwoTables(App):
    def compose(self) -> ComposeResult:
        yield KeyedTable(COLUMNS, "filled", id="filled")
        yield KeyedTable(COLUMNS, "added", id="added")


def rows(n: int) -> dict[str, tuple[Text, ...]]:
    return {f"key-{i:03d}": (Text(" "), Text(f"name {i}"), Text("open" if i % 2 else "close"))
            for i in range(n)}


def state(table: KeyedTable) -> dict:
    return {
        "data": {k.value: {c.value: v for c, v in cells.items()}
                 for k, cells in table._data.items()},
        "rows": [(k.value, r.height, r.label, r.auto_height) for k, r in table.rows.items()],
        "locations": sorted((k.value, i) for k, i in table._row_locations._forward.items()),
        "reverse": sorted((i, k.value) for i, k in table._row_locations._reverse.items()),
        "new_rows": sorted(k.value for k in table._new_rows),
        "row_count": table.row_count,
        "cursor": table.cursor_coordinate,
        "update_count": table._update_count,
        "require_dimensions": table._require_update_dimensions,
    }


async def test_fill_gives_the_state_of_add_row_per_row():
    app = TwoTables()
    async with app.run_test(size=(60, 30)) as pilot:
        filled = app.query_one("#filled", KeyedTable)
        added = app.query_one("#added", KeyedTable)
        new = rows(40)
        filled.clear()
        added.clear()
        filled.fill(new)
        for key, cells in new.items():
            added.add_row(*cells, key=key)
        assert state(filled) == state(added)
        assert state(filled)["row_count"] == 40
        await pilot.pause()
        assert filled.cursor_key() == "key-000"
        filled.focus()
        await pilot.press("down", "down")
        assert filled.cursor_key() == "key-002"
        filled.move_cursor(row=39)
        assert filled.cursor_key() == "key-039"
        # cells of a filled table update in place like any other's
        assert filled.get_row("key-005")[2].plain == "open"
        filled.update_cell("key-005", "state", Text("connecting"))
        assert filled.get_row("key-005")[2].plain == "connecting"
        assert filled.get_row_index("key-005") == 5


async def test_fill_refuses_a_table_with_rows_and_too_many_cells():
    app = TwoTables()
    async with app.run_test(size=(60, 30)):
        table = app.query_one("#filled", KeyedTable)
        table.fill(rows(2))
        with pytest.raises(RuntimeError, match="empty table"):
            table.fill(rows(1))
        table.clear()
        with pytest.raises(ValueError, match="More values"):
            table.fill({"k": (Text("a"), Text("b"), Text("c"), Text("d"))})
        assert table.row_count == 0
