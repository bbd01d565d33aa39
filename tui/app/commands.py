"""The `:` command palette's commands (scope, filter, orphans only, clear-all, quit).

Each command runs a dashboard action through `run_action`, so the same `check_action` gate
applies; commands whose action the gate refuses (read-only, not admin) are not even listed.
`LiteralCommandPalette` is Textual's palette whose search box shows pasted control or bidi
characters as visible escapes (the palette stops its box's `Input.Changed`, so the app-wide
rule of `EvodashApp` never sees it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import on
from textual.app import SystemCommand
from textual.command import CommandPalette
from textual.widgets import Input

from tui.app.literal import has_hidden, shown

if TYPE_CHECKING:
    from tui.app.screens.dashboard import DashboardScreen

# (title, help, action on the dashboard screen)
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("scope", "Choose the reseller scope (admin)", "choose_scope"),
    ("filter", "Filter both panes by substring", "filter"),
    ("orphans only", "Show only orphan rows (toggle)", "toggle_orphans_only"),
    ("clear-all", "Verified delete of everything in the current scope", "clear_all"),
    ("clear-all orphans", "Verified delete of the orphans in the current scope",
     "clear_all(True)"),
    ("refresh", "Refresh now", "refresh"),
    ("help", "Every key and its binding id", "help"),
    ("quit", "Quit evodash", "quit"),
)


def dashboard_commands(dashboard: DashboardScreen) -> Iterable[SystemCommand]:
    for title, help_text, action in COMMANDS:
        name = action.split("(", 1)[0]
        if not dashboard.check_action(name, ()):
            continue

        async def run(action: str = action) -> None:
            await dashboard.run_action(action)

        yield SystemCommand(title, help_text, run)


class LiteralCommandPalette(CommandPalette):
    """The command palette; what is pasted into its search box is shown literally."""

    @on(Input.Changed)
    def _input_shown_literally(self, event: Input.Changed) -> None:
        if has_hidden(event.value):
            event.prevent_default()  # (the palette searches once the box holds the escapes)
            event.stop()
            text = shown(event.value)
            event.input.value = text
            event.input.cursor_position = len(text)
