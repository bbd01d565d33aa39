"""`HelpScreen` (`?`): every key with its binding id (remappable) and what it does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.app.bindings import help_rows
from tui.app.literal import literal_lines


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def __init__(self, keys: dict[str, str], read_only: bool) -> None:
        super().__init__()
        self.keys = keys  # binding id -> current key(s)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        lines = []
        for binding_id, default, description in help_rows():
            key = self.keys.get(binding_id, default)
            lines.append(f"{key:>14}  {description:<12} ({binding_id})")
        lines.append("")
        lines.append("Marks: space marks a row, * marks every visible row; ctrl+d deletes the")
        lines.append("marked rows, or the cursor row when nothing is marked.")
        lines.append("R re-creates the Evolution instance of an orphan record whose name is")
        lines.append("absent (records pane). In the clear-all modal of a reseller scope, ctrl+t")
        lines.append("includes the orphan instances attributed to that reseller by name.")
        lines.append("Remap keys by binding id (the name in parentheses).")
        if self.read_only:
            lines.append("READ-ONLY: create, delete, forget, adopt, re-provision and clear-all "
                         "are disabled.")
        with Vertical(id="dialog", classes="dialog"):
            yield Label("evodash keys", classes="dialog-title")
            # (keys come from the keymap of a settings file: shown literally too)
            yield Static(literal_lines(lines), classes="dialog-body", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
