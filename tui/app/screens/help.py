"""`HelpScreen` (`?`): every key as it is typed (`/`, `*`, `ctrl+d`, not `slash`), grouped
(navigation, view, marks, copy, mutations, other), with its binding id (to remap it in the
settings' `keymap`). The body scrolls (j / k / up / down / pgup / pgdn / g / G), so it is
all readable in an 80x24 terminal."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.keys import key_to_character
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.app.bindings import WIDGET_KEYS, help_groups
from tui.app.literal import literal_lines

#: Keys whose Textual name is not the character typed (`key_to_character` misses these).
_TYPED = {"slash": "/", "plus": "+", "minus": "-", "at": "@", "backslash": "\\",
          "underscore": "_", "space": "space", "pageup": "pgup", "pagedown": "pgdn"}


def typed(keys: str) -> str:
    """`slash,question_mark` -> `/ ?`: each key of a binding as the user types it."""
    shown_keys = []
    for key in keys.split(","):
        key = key.strip()
        char = _TYPED.get(key)
        if char is None:
            try:
                char = key_to_character(key) if key.isascii() and key.isidentifier() else None
            except (KeyError, ValueError):
                char = None
            if char is None or not char.isprintable():
                char = key
        shown_keys.append(char)
    return " ".join(shown_keys)


#: The help's prose, one paragraph per entry: the help wraps each to its width (never a line
#: broken by hand and then wrapped again at 80 columns).
HELP_PROSE = (
    "space marks a row, * marks every visible row, u unmarks all; ctrl+d deletes the "
    "marked rows, or the cursor row when nothing is marked.",
    "f forgets (and R re-creates the instance of) an orphan record whose name is absent on "
    "Evolution; a adopts an orphan instance; Q pairs an instance that is not open.",
    "Every change shows its plan first: the steps the run will take, the names and the "
    "reseller they are for, what is skipped and how to include it. y confirms, n or esc "
    "do not. Create is confirmed by its own form.",
    "The footer shows the keys of the row under the cursor first; a key that does not "
    "apply says why.",
    "/ filters: accents and case do not matter, digits also find phone numbers. ! shows "
    "only orphan rows. o sorts the pane by the next column (▲ in its header), O reverses.",
    "enter shows a row's every field and the commands that repair it; r there shows the "
    "raw JSON.",
    "l focuses the progress log (j / k / pgup / pgdn scroll it; esc goes back).",
    "In every dialog j / k / ↑ ↓ / pgup / pgdn scroll (in the clear-all's word box only "
    "↑ ↓ / pgup / pgdn: j and k are letters there). In the reseller pickers j / k move and "
    "typing filters (/ starts a filter that begins with j or k).",
    "In the clear-all dialog of a reseller scope, ctrl+t includes the orphan instances "
    "attributed to that reseller by name.",
    "Remap keys by binding id (in parentheses) in the settings' keymap.",
)


def help_lines(keys: dict[str, str], read_only: bool) -> list[str]:
    """The help's text (`keys`: binding id -> the keys it is remapped to)."""
    lines: list[str] = []
    for group, rows in help_groups():
        lines.append(group)
        for binding_id, default, description in rows:
            lines.append(f"  {typed(keys.get(binding_id, default)):>11}  "
                         f"{description:<18} ({binding_id})")
        if group == "Navigation":
            for key, description in WIDGET_KEYS:
                lines.append(f"  {key:>11}  {description}")
        lines.append("")
    # prose: one paragraph a line (a blank line between), wrapped once, at the help's width
    for paragraph in HELP_PROSE:
        lines += [paragraph, ""]
    if read_only:
        lines.append("READ-ONLY: create, delete, forget, adopt, re-provision, pairing and "
                     "clear-all are disabled.")
    return lines


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
        Binding("j", "scroll('down')", "Down", show=False, id="help.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="help.up"),
        Binding("g", "scroll('home')", "Top", show=False, id="help.top"),
        Binding("G", "scroll('end')", "Bottom", show=False, id="help.bottom"),
    ]
    DEFAULT_CSS = """
    HelpScreen .dialog.help {
        height: 90%;
        max-height: 40;
        border: thick $accent;
    }
    HelpScreen #help-body {
        height: 1fr;
    }
    """

    def __init__(self, keys: dict[str, str], read_only: bool) -> None:
        super().__init__()
        self.keys = keys  # binding id -> current key(s)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        lines = help_lines(self.keys, self.read_only)
        with Vertical(id="dialog", classes="dialog help"):
            yield Label("evodash keys · j / k / pgup / pgdn scroll · esc closes",
                        classes="dialog-title")
            with VerticalScroll(id="help-body"):
                # (keys come from the keymap of a settings file: shown literally too)
                yield Static(literal_lines(lines), classes="dialog-body", markup=False)

    def on_mount(self) -> None:
        self.query_one("#help-body", VerticalScroll).focus()

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        {"down": body.scroll_down, "up": body.scroll_up, "home": body.scroll_home,
         "end": body.scroll_end}[where](animate=False)

    def action_close(self) -> None:
        self.dismiss(None)
