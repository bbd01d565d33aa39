"""Confirmation modals. `ConfirmScreen`: y / n / esc, default No. `ClearAllScreen`: shows the
plan and only enables the action once the user types the scope word."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question; `y` confirms, `n` / `esc` / the focused No button decline."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
    ]

    def __init__(self, title: str, lines: list[str], *, yes_label: str = "Yes (y)",
                 danger: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.yes_label = yes_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static("\n".join(self.lines), classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes_label, id="yes",
                             variant="error" if self.danger else "primary")
                yield Button("No (n)", id="no", variant="default")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # default: No

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class ClearAllScreen(ModalScreen[bool]):
    """The plan of a clear-all; `Clear all` is enabled only when the input equals the word."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="clear-all.cancel")]

    def __init__(self, label: str, word: str, plan_lines: list[str], notes: list[str],
                 actionable: int) -> None:
        super().__init__()
        self.label = label
        self.word = word
        self.plan_lines = plan_lines
        self.notes = notes
        self.actionable = actionable

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Clear all in scope {self.label}", classes="dialog-title")
            body = [f"{self.actionable} name(s) will be deleted (verified), records removed "
                    "once each name is free:", *self.plan_lines]
            body += [f"note: {note}" for note in self.notes]
            if not self.plan_lines:
                body.append("nothing to clear")
            yield Static("\n".join(body), classes="dialog-body", markup=False)
            yield Label(f"Type {self.word} to confirm:", classes="dialog-prompt")
            yield Input(placeholder=self.word, id="confirm-word")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Clear all", id="yes", variant="error", disabled=True)
                yield Button("Cancel (esc)", id="no")

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.cursor_blink = getattr(self.app, "timers_on", True)  # snapshots: no blink
        box.focus()

    @property
    def armed(self) -> bool:
        return self.actionable > 0 and self.query_one(Input).value.strip() == self.word

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#yes", Button).disabled = not self.armed

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.armed:
            self.dismiss(True)
        else:
            self.notify(f"type {self.word} exactly to confirm", severity="warning")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes" and self.armed)

    def action_cancel(self) -> None:
        self.dismiss(False)
