"""`KeyFooter`: the dashboard's one line of keys, made to fit (80 columns first).

Its screen says which keys apply now and in which order (`FooterEntry`s: the keys of the
focused row and pane first, `? Help` and `q Quit` pinned); the footer shows as many as fit
its width, in that order, `? Help` and `q Quit` always (a key that does not fit is left
out whole, never cut: the help lists every key). Keys come from the keymap of a settings
file: shown literally. A click on a key types it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widget import Widget

from tui.app.literal import shown


@dataclass(frozen=True)
class FooterEntry:
    """One key in the footer: as shown (`j/k`), what it does, the key a click types, and
    whether it always shows (help, quit)."""

    keys: str
    label: str
    key: str
    action: str
    pinned: bool = False

    @property
    def width(self) -> int:
        return len(self.keys) + len(self.label) + 3  # " keys label "


def fit_entries(entries: list[FooterEntry], width: int) -> list[FooterEntry]:
    """The entries that fit `width` cells: every pinned one, then the others in order
    (one that does not fit is skipped; a later, shorter one may still fit)."""
    room = width - sum(e.width for e in entries if e.pinned)
    shown_entries: list[FooterEntry] = []
    for entry in entries:
        if entry.pinned:
            shown_entries.append(entry)
        elif entry.width <= room:
            shown_entries.append(entry)
            room -= entry.width
    return shown_entries


class KeyFooter(Widget, can_focus=False):
    """The keys that apply now, as many as fit (see the module)."""

    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyFooter > .key-footer--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyFooter > .key-footer--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    """

    def __init__(self, entries: Callable[[], list[FooterEntry]], *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.entries = entries
        self.shown_entries: list[FooterEntry] = []  # what the last render showed

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: object) -> None:
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self.refresh()

    @property
    def shown_actions(self) -> set[str]:
        return {e.action for e in self.shown_entries}

    def plain(self) -> str:
        return "".join(f" {e.keys} {e.label} " for e in self.shown_entries)

    def render(self) -> Text:
        self.shown_entries = fit_entries(self.entries(), self.size.width)
        key_style = self.get_component_rich_style("key-footer--key")
        label_style = self.get_component_rich_style("key-footer--description")
        text = Text(no_wrap=True, overflow="crop", end="")
        for entry in self.shown_entries:
            text.append(f" {shown(entry.keys)} ", style=key_style)
            text.append(f"{shown(entry.label)} ", style=label_style)
        return text

    def on_click(self, event: events.Click) -> None:
        x = 0
        for entry in self.shown_entries:
            if x <= event.x < x + entry.width:
                self.app.simulate_key(entry.key)
                return
            x += entry.width
