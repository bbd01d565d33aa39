"""Every key of the dashboard, each with a binding id so users can remap it
(`App.set_keymap({"delete": "ctrl+x"})`), which actions mutate (hidden in read-only mode),
and how the help screen groups them.

The footer (`tui.app.widgets.footer.KeyFooter`) shows, per context, the keys of
`FOOTER_PANE` / `FOOTER_LOG` / `FOOTER_BOX` in that order - the keys of the row under the
cursor first, then the pane's, then the session's - but only those the context allows now
(the `check_action` gate of the dashboard hides the others), as many as fit, with `? Help`
and `q Quit` (`FOOTER_PINNED`) always: at 80 columns nothing is cut.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

# action name -> binding id, key, description, shown in the footer, help group
_SPEC: tuple[tuple[str, str, str, str, bool, str], ...] = (
    ("filter", "filter", "slash", "Filter", True, "View"),
    ("mark", "mark", "space", "Mark", True, "Marks"),
    ("delete", "delete", "ctrl+d", "Delete", True, "Mutations"),
    ("forget", "forget", "f", "Forget", True, "Mutations"),
    ("adopt", "adopt", "a", "Adopt", True, "Mutations"),
    ("reprovision", "reprovision", "R", "Re-provision", True, "Mutations"),
    ("unmark_all", "unmark-all", "u", "Unmark all", True, "Marks"),
    ("sort", "sort", "o", "Sort", True, "View"),
    ("copy_name", "copy-name", "y", "Copy name", True, "Copy"),
    ("refresh", "refresh", "r", "Refresh", True, "View"),
    ("help", "help", "question_mark", "Help", True, "Other"),
    ("quit", "quit", "q", "Quit", True, "Other"),
    ("cursor_down", "down", "j", "Down", False, "Navigation"),
    ("cursor_up", "up", "k", "Up", False, "Navigation"),
    ("cursor_top", "top", "g", "Top", False, "Navigation"),
    ("cursor_bottom", "bottom", "G", "Bottom", False, "Navigation"),
    ("switch_pane", "switch-pane", "tab", "Other pane", False, "Navigation"),
    ("detail", "detail", "enter", "Detail", False, "Navigation"),
    ("focus_progress", "progress", "l", "Progress log", False, "Other"),
    ("sort_reverse", "sort-reverse", "O", "Reverse the sort", False, "View"),
    ("toggle_pause", "pause", "p", "Pause refresh", False, "View"),
    ("choose_scope", "scope", "s", "Scope", True, "View"),
    ("mark_all", "mark-all", "asterisk", "Mark all", False, "Marks"),
    ("copy_phone", "copy-phone", "Y", "Copy phone", False, "Copy"),
    ("create", "create", "c", "Create", True, "Mutations"),
    ("pair", "pair", "Q", "QR / pair", True, "Mutations"),
    ("clear_all", "clear-all", "X", "Clear all", True, "Mutations"),
    ("toggle_orphans_only", "orphans-only", "exclamation_mark", "Orphans only", True, "View"),
    ("command_palette", "command-palette", "colon", "Commands", False, "Other"),
    ("escape", "cancel", "escape", "Cancel", False, "Other"),
)

# Priority bindings: the app runs a key's action as it takes the key from the terminal,
# before it reads the next one. (A plain binding runs only after the key went to the
# focused widget and bubbled back up, so the keys typed right after `/` or ctrl+d went to
# the table, not to the filter box or the confirmation.) A key the focused widget consumes
# (a printable key in the filter box) is still the widget's: Textual leaves it out of the
# priority chain; the gate blocks the rest (enter, ctrl+d) while the box has the focus.
DASHBOARD_BINDINGS: list[BindingType] = [
    Binding(key, action, description, show=show, id=binding_id, priority=True)
    for action, binding_id, key, description, show, _group in _SPEC
]

# Actions that change Evolution or the database: one `check_action` gate hides and blocks
# them in read-only mode (the lifecycle service refuses them too).
MUTATING_ACTIONS = frozenset({"create", "delete", "forget", "adopt", "reprovision",
                              "clear_all", "pair"})  # (pair dials WhatsApp on the server)

# Actions that only an admin session (scope: all resellers) may use.
ADMIN_ACTIONS = frozenset({"choose_scope"})

#: The help screen's groups, in order.
HELP_GROUPS = ("Navigation", "View", "Marks", "Copy", "Mutations", "Other")

#: Keys that move inside a table, the progress log or the help (Textual's own bindings of
#: those widgets, not remappable here): shown in the help's Navigation group.
WIDGET_KEYS: tuple[tuple[str, str], ...] = (
    ("up / down", "Move the cursor (also j / k)"),
    ("pgup / pgdn", "Page up / down"),
    ("home / end", "First / last row (also g / G)"),
)


#: The footer's keys, per context, most useful first: (action or actions, label). Several
#: actions show as one entry (`j/k Scroll`). Only the keys the gate allows now are shown.
FooterSpec = tuple[tuple[str | tuple[str, ...], str], ...]
#: A pane has the focus: the row's keys, then the pane's, then the session's.
FOOTER_PANE: FooterSpec = (
    ("escape", "Cancel run"),  # (only while bulk work runs, or to clear a kept filter)
    ("delete", "Delete"), ("forget", "Forget"), ("reprovision", "Re-provision"),
    ("adopt", "Adopt"), ("pair", "Pair"),
    ("mark", "Mark"), ("unmark_all", "Unmark all"), ("detail", "Detail"),
    ("filter", "Filter"), ("sort", "Sort"), ("copy_name", "Copy"),
    ("create", "Create"), ("clear_all", "Clear all"), ("toggle_orphans_only", "Orphans"),
    ("choose_scope", "Scope"), ("switch_pane", "Pane"), ("focus_progress", "Log"),
    ("refresh", "Refresh"),
)
#: The progress log has the focus: its own keys.
FOOTER_LOG: FooterSpec = (
    (("cursor_down", "cursor_up"), "Scroll"), (("cursor_top", "cursor_bottom"), "Top/end"),
    ("escape", "Back"), ("switch_pane", "Panes"), ("refresh", "Refresh"),
)
#: The filter box has the focus: what ends it.
FOOTER_BOX: FooterSpec = (
    ("detail", "Keep filter"), ("escape", "Clear filter"), ("switch_pane", "Other pane"),
)
#: Always in the footer (when the gate allows them).
FOOTER_PINNED: FooterSpec = (("help", "Help"), ("quit", "Quit"))


def help_rows() -> list[tuple[str, str, str]]:
    """(binding id, default key, what it does): every remappable key (settings check)."""
    return [(binding_id, key, description)
            for _a, binding_id, key, description, _s, _g in _SPEC]


def help_groups() -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The help screen's groups: (group, [(binding id, default key, what it does)])."""
    return [(group, [(binding_id, key, description)
                     for _a, binding_id, key, description, _s, g in _SPEC if g == group])
            for group in HELP_GROUPS]
