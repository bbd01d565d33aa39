"""`ProgressPane`: one line per lifecycle step as it happens, a bar for bulk work, the
summary of each operation. Keeps the session's history (bounded), which scrolls from the
keyboard once the pane has the focus (its title then starts with `▶`; toasts show just
above the pane, never over it: `ToastRack` in evodash.tcss)."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from tui.app.literal import one_line, shown
from tui.lifecycle.events import Step, StepEvent, StepOutcome, Summary

_FAILED = {StepOutcome.FAILED, StepOutcome.RESERVED}
HISTORY = 2000
TITLE = "Progress"
#: The title while the history has the focus: said in text, not only by the border's colour.
FOCUS_TITLE = "▶ Progress · j k PgUp PgDn g G scroll · esc back"


def bar_text(label: str, total: int, done: float, width: int = 30) -> Text:
    """`clear-all 12/40 [█████·········] 30%`: a static bar (no timer, no animation)."""
    total = max(total, 1)
    done = min(max(done, 0), total)
    filled = round(width * done / total)
    text = Text(f"{shown(label)} ")
    text.append("█" * filled, style="green")
    text.append("·" * (width - filled), style="dim")
    text.append(f" {int(100 * done / total)}%")
    return text


class ProgressPane(Vertical):
    """Bottom pane; `clock` stamps each line (HH:MM:SS, UTC) so tests can freeze it."""

    def __init__(self, clock: Callable[[], float] = time.time, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.lines: list[str] = []  # plain history, also for tests
        self.border_title = TITLE

    def focus(self, scroll_visible: bool = True) -> ProgressPane:
        """The focus goes to the history (a RichLog: arrows, pages, home/end scroll it)."""
        self.query_one(RichLog).focus(scroll_visible)
        return self

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.border_title = FOCUS_TITLE

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.border_title = TITLE

    def compose(self) -> ComposeResult:
        yield RichLog(id="progress-log", wrap=False, markup=False, max_lines=HISTORY,
                      auto_scroll=True)
        yield Static("", id="progress-bar-row")

    def _stamp(self) -> str:
        return time.strftime("%H:%M:%S", time.gmtime(self.clock()))

    def write(self, text: str, style: str = "") -> None:
        """One line; names, errors and notes in it are outside text: shown literally (a
        newline or escape sequence inside it is a visible escape, not a new line)."""
        line = f"{self._stamp()} {shown(text)}"
        self.lines.append(line)
        del self.lines[:-HISTORY]
        self.query_one(RichLog).write(Text(line, style=style))

    def step(self, event: StepEvent) -> None:
        if event.step is Step.DONE:
            return  # counted by the bar; the target's own steps were written already
        style = "red" if event.outcome in _FAILED else ""
        self.write(f"{event.operation}: {event.line()}", style)

    def summary(self, summary: Summary) -> None:
        self.write(summary.line(), "bold" if summary.ok else "bold red")
        for error in summary.errors[:10]:
            self.write(f"  {error}", "red")
        for note in summary.notes:
            self.write(f"  note: {note}")

    def error(self, text: str) -> None:
        self.write(one_line(text), "bold red")

    def show_bar(self, label: str, total: int, done: float) -> None:
        self.set_class(True, "-busy")
        self.query_one("#progress-bar-row", Static).update(bar_text(label, total, done))

    def hide_bar(self) -> None:
        self.set_class(False, "-busy")
