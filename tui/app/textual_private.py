"""Every private Textual API the dashboard uses, each behind one small function that says
why it is needed. All of them were checked on Textual 8.2.8 (`TEXTUAL_CHECKED`, the exact
pin in pyproject.toml): when the pin moves, re-read each against the new Textual
(`tests/test_app_textual_private.py` fails until `TEXTUAL_CHECKED` is updated, and
`tests/test_app_table.py` compares `fill_empty_table` with Textual's own `add_row`).

No other module of `tui/app/` imports `textual._*` or touches a private Textual attribute
(the same test scans for it), except these overrides, which must stay in their subclass
because Textual calls them by name:

- `KeyedTable._update_dimensions` (tui/app/widgets/panes.py): DataTable's idle handler
  calls it to measure new rows; the override skips measuring rows whose columns all have
  fixed widths (10,000 rows a side) and calls DataTable's own through
  `update_table_dimensions`. Checked on Textual 8.2.8.
- `TextCheckbox._button` (tui/app/widgets/checkbox.py): ToggleButton's property that draws
  the box; overriding it is the only way to show `[x]` / `[ ]` as text instead of a
  coloured `X` (readable under NO_COLOR). Checked on Textual 8.2.8.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from itertools import zip_longest
from typing import Any

from textual._two_way_dict import TwoWayDict
from textual.app import App
from textual.binding import BindingsMap
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import DataTable
from textual.widgets.data_table import Row, RowKey

#: The Textual version every function here was checked against (pyproject.toml's pin).
TEXTUAL_CHECKED = "8.2.8"


def modal_binding_chain(screen: Screen[Any]) -> list[tuple[DOMNode, BindingsMap]]:
    """The (namespace, bindings) pairs a key goes through on `screen`, in the order Textual
    tries them (focused widget first, up to the app; nothing before the last modal).

    Why private: the dashboard says in one line why a key it binds is blocked, but only when
    no binding before its own takes the key; Textual exposes the chain only as
    `Screen._modal_binding_chain` (`active_bindings` flattens it and drops the order).
    Checked on Textual 8.2.8."""
    return screen._modal_binding_chain


def keymap(app: App[Any]) -> dict[str, str]:
    """A copy of the keymap set with `App.set_keymap` (binding id -> keys).

    Why private: the help screen shows each key as remapped by the settings' `keymap`;
    Textual has `set_keymap` / `update_keymap` but no getter, only `App._keymap`.
    Checked on Textual 8.2.8."""
    return dict(app._keymap)


def clear_table_caches(table: DataTable[Any]) -> None:
    """Drop `table`'s render caches (rows, cells, lines, offsets).

    Why private: after column widths or header labels are changed in place (fit to the
    pane's width, the sort arrow) the cached lines are stale; DataTable clears them only
    in its own `_clear_caches`. Checked on Textual 8.2.8."""
    table._clear_caches()


def update_table_dimensions(table: DataTable[Any], new_rows: Iterable[RowKey] = ()) -> None:
    """DataTable's own recomputation of the virtual size, measuring `new_rows` (none: from
    the column widths only), whatever a subclass overrides.

    Why private: `DataTable._update_dimensions` is the only entry point to it; the fitted
    columns change the virtual width at once (not at the next idle), and `KeyedTable`'s
    override of the same hook delegates here. Checked on Textual 8.2.8."""
    DataTable._update_dimensions(table, new_rows)


def fill_empty_table(table: DataTable[Any], rows: Mapping[str, Sequence[Any]]) -> None:
    """Add every row of `rows` (key -> cells, at most one cell per column) to the EMPTY
    `table` in one pass, leaving the same state as one `add_row(*cells, key=key)` per row
    (one line high, no label).

    Why private: `add_row` re-validates the cursor (a reactive assignment), orders the
    columns and checks idle for every row; a full rebuild of 10,000 rows took ~0.9 s that
    way and ~0.2 s this way. This writes DataTable's own row stores as `add_row` does
    (`_data`, `rows`, `_row_locations`, `_new_rows`, `_require_update_dimensions`,
    `_highlight_cursor`, `_update_count`). Checked on Textual 8.2.8 (tests/test_app_table.py
    compares the two states)."""
    col_keys = [column.key for column in table.ordered_columns]
    keys = list(map(RowKey, rows))
    table._data.update(zip(keys, (dict(zip_longest(col_keys, cells))
                                  for cells in rows.values())))
    table.rows.update((key, Row(key, 1, None, False)) for key in keys)
    table._row_locations = TwoWayDict(dict(zip(keys, range(len(keys)))))
    table._new_rows.update(keys)
    table._require_update_dimensions = True
    table.cursor_coordinate = table.cursor_coordinate
    if keys and table.columns and table.show_cursor and table.cursor_type != "none":
        table._highlight_cursor()
    table._update_count += len(keys)
    table.check_idle()
