"""Confirmation modals. `ConfirmScreen`: y / n / esc, default No. `ClearAllScreen`: shows the
plan and only enables the action once the user types the scope word; for a reseller scope it
offers `include attributed orphan instances` (checkbox, or ctrl+t), which re-plans."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Static

# include_attributed -> (plan lines, notes, actionable count) of the new plan
Replan = Callable[[bool], Awaitable[tuple[list[str], list[str], int]]]


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

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="clear-all.cancel"),
                Binding("ctrl+t", "toggle_attributed", "Include attributed",
                        id="clear-all.include-attributed")]

    def __init__(self, label: str, word: str, plan_lines: list[str], notes: list[str],
                 actionable: int, *, replan: Replan | None = None) -> None:
        super().__init__()
        self.label = label
        self.word = word
        self.plan_lines = plan_lines
        self.notes = notes
        self.actionable = actionable
        self.replan = replan  # set for a reseller scope: offers the attributed toggle
        self.include_attributed = False
        self.planning = False

    def body_text(self) -> str:
        body = [f"{self.actionable} name(s) will be deleted (verified), records removed "
                "once each name is free:", *self.plan_lines]
        body += [f"note: {note}" for note in self.notes]
        if not self.plan_lines:
            body.append("nothing to clear")
        return "\n".join(body)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog"):
            yield Label(f"Clear all in scope {self.label}", classes="dialog-title")
            yield Static(self.body_text(), classes="dialog-body", id="plan-body", markup=False)
            if self.replan is not None:
                yield Checkbox("include attributed orphan instances (ctrl+t)",
                               id="include-attributed",
                               tooltip="orphan instances whose name carries this "
                                       "reseller's prefix")
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
        return (not self.planning and self.actionable > 0
                and self.query_one(Input).value.strip() == self.word)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#yes", Button).disabled = not self.armed

    def action_toggle_attributed(self) -> None:
        if self.replan is not None:
            box = self.query_one("#include-attributed", Checkbox)
            box.value = not box.value

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        if self.replan is None or event.value == self.include_attributed:
            return
        self.include_attributed = event.value
        self.planning = True
        self.query_one("#yes", Button).disabled = True
        self.query_one("#plan-body", Static).update("re-planning…")
        self.replan_worker(event.value)

    @work(group="clear-all-replan", exclusive=True, exit_on_error=False)
    async def replan_worker(self, include: bool) -> None:
        try:
            lines, notes, actionable = await self.replan(include)
        except Exception as exc:  # noqa: BLE001 - shown in the modal, nothing runs
            self.query_one("#plan-body", Static).update(f"re-planning failed: {exc}")
            return
        if include != self.include_attributed:
            return  # toggled again meanwhile: the newer plan wins
        self.plan_lines, self.notes, self.actionable = lines, notes, actionable
        self.planning = False
        self.query_one("#plan-body", Static).update(self.body_text())
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
