"""Every key of the dashboard, each with a binding id so users can remap it
(`App.set_keymap({"delete": "ctrl+x"})`), and which actions mutate (hidden in read-only mode).
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

# action name -> binding id, key, description, shown in the footer
_SPEC: tuple[tuple[str, str, str, str, bool], ...] = (
    ("cursor_down", "down", "j", "Down", False),
    ("cursor_up", "up", "k", "Up", False),
    ("cursor_top", "top", "g", "Top", False),
    ("cursor_bottom", "bottom", "G", "Bottom", False),
    ("refresh", "refresh", "r", "Refresh", True),
    ("toggle_pause", "pause", "p", "Pause", False),
    ("filter", "filter", "slash", "Filter", True),
    ("switch_pane", "switch-pane", "tab", "Pane", False),
    ("mark", "mark", "space", "Mark", True),
    ("mark_all", "mark-all", "asterisk", "Mark all", False),
    ("unmark_all", "unmark-all", "u", "Unmark all", False),
    ("sort", "sort", "o", "Sort by next column", False),
    ("sort_reverse", "sort-reverse", "O", "Reverse the sort", False),
    ("copy_name", "copy-name", "y", "Copy name", False),
    ("copy_phone", "copy-phone", "Y", "Copy phone", False),
    ("focus_progress", "progress", "l", "Progress log", False),
    ("detail", "detail", "enter", "Detail", True),
    ("create", "create", "c", "Create", False),
    ("delete", "delete", "ctrl+d", "Delete", True),
    ("forget", "forget", "f", "Forget", True),
    ("adopt", "adopt", "a", "Adopt", True),
    ("reprovision", "reprovision", "R", "Re-provision", True),
    ("pair", "pair", "Q", "QR / pair", True),
    ("clear_all", "clear-all", "X", "Clear all", True),
    ("choose_scope", "scope", "s", "Scope", False),
    ("command_palette", "command-palette", "colon", "Commands", False),
    ("escape", "cancel", "escape", "Cancel", False),
    ("help", "help", "question_mark", "Help", True),
    ("quit", "quit", "q", "Quit", True),
)

DASHBOARD_BINDINGS: list[BindingType] = [
    Binding(key, action, description, show=show, id=binding_id)
    for action, binding_id, key, description, show in _SPEC
]

# Actions that change Evolution or the database: one `check_action` gate hides and blocks
# them in read-only mode (the lifecycle service refuses them too).
MUTATING_ACTIONS = frozenset({"create", "delete", "forget", "adopt", "reprovision",
                              "clear_all", "pair"})  # (pair dials WhatsApp on the server)

# Actions that only an admin session (scope: all resellers) may use.
ADMIN_ACTIONS = frozenset({"choose_scope"})


def help_rows() -> list[tuple[str, str, str]]:
    """(binding id, default key, what it does) for the help screen."""
    return [(binding_id, key, description) for _a, binding_id, key, description, _s in _SPEC]
