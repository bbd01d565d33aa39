"""`ResellerList`: the list of a reseller picker (scope, adopt, create). `j` / `k` move the
highlight as everywhere in evodash (↑ ↓ PgUp PgDn Home End too); typing filters it (any
other letter starts the filter; once it has begun, `j` and `k` are letters of it; `/`
starts an empty one): a substring of the reseller's name or id, accents and case ignored.
Backspace edits the filter, `esc` clears it (a second `esc` is the picker's). The filter is
shown in the list's bottom border, literally."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from tui.app.literal import literal, shown
from tui.app.view import fold
from tui.store.models import Reseller

ALL = "__all__"
HINT = "j k move · type to filter"


def reseller_options(resellers: list[Reseller], with_all: bool, text: str = "") -> list[Option]:
    """The choices (every reseller, `all resellers` first when offered) matching `text`."""
    needle = fold(text.strip())
    options = []
    if with_all and needle in fold("all resellers"):
        options.append(Option(literal("all resellers"), id=ALL))
    options += [Option(literal(f"{r.name or r.id}  ({r.id})"), id=r.id) for r in resellers
                if needle in fold(f"{r.name or ''} {r.id}")]
    return options


class ResellerList(OptionList):
    """A reseller picker's list, with `j` / `k` and type-to-filter (see the module)."""

    def __init__(self, resellers: list[Reseller], *, with_all: bool = False,
                 id: str | None = None) -> None:
        super().__init__(*reseller_options(resellers, with_all), id=id, markup=False)
        self.resellers = resellers
        self.with_all = with_all
        self.filter_text = ""
        self.filtering = False  # `/` or a letter started the filter: j / k are letters
        self.border_subtitle = HINT

    def check_consume_key(self, key: str, character: str | None) -> bool:
        """Printable keys are the list's (a letter filters, j / k move): the screen's
        bindings of those keys never see them."""
        return character is not None and character.isprintable()

    def on_key(self, event: events.Key) -> None:
        char = event.character
        if event.key == "backspace" and self.filtering:
            self.set_filter(self.filter_text[:-1], filtering=bool(self.filter_text[:-1]))
        elif event.key == "escape" and self.filtering:
            self.set_filter("", filtering=False)
        elif char is not None and char.isprintable() and event.key != "space" \
                or event.key == "space" and self.filtering:
            if not self.filtering and event.key in ("j", "k"):
                (self.action_cursor_down if event.key == "j" else self.action_cursor_up)()
            elif not self.filtering and event.key == "slash":
                self.set_filter("", filtering=True)
            else:
                self.set_filter(self.filter_text + (char or " "), filtering=True)
        else:
            return
        event.stop()
        event.prevent_default()

    def set_filter(self, text: str, *, filtering: bool) -> None:
        """Show only the choices matching `text`; the highlight stays on its choice when
        that still shows, else on the first."""
        current = self.chosen()
        self.filter_text, self.filtering = text, filtering
        options = reseller_options(self.resellers, self.with_all, text)
        self.clear_options()
        self.add_options(options)
        ids = [o.id for o in options]
        self.highlighted = ids.index(current) if current in ids else (0 if ids else None)
        if not filtering:
            self.border_subtitle = HINT
        elif not options:
            self.border_subtitle = Text(f"filter: {shown(text)}▏ · no reseller matches")
        else:
            self.border_subtitle = Text(f"filter: {shown(text)}▏ · esc clears")

    def chosen(self) -> str | None:
        """The id of the highlighted choice (`ALL` for all resellers), or None."""
        if self.highlighted is None or self.option_count == 0:
            return None
        return self.get_option_at_index(self.highlighted).id
