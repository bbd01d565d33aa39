"""Pickers: `ResellerPicker` (scope, adopt) and `CreateScreen` (which reseller, QR code?).
Reseller names and ids, and the instance name in a title, are shown literally (`literal`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList
from textual.widgets.option_list import Option

from tui.app.literal import literal
from tui.app.widgets.checkbox import TextCheckbox
from tui.store.models import Reseller

ALL = "__all__"


def _options(resellers: list[Reseller], with_all: bool) -> list[Option]:
    options = [Option(literal("all resellers"), id=ALL)] if with_all else []
    options += [Option(literal(f"{r.name or r.id}  ({r.id})"), id=r.id) for r in resellers]
    return options


class ResellerPicker(ModalScreen[str | None]):
    """Choose a reseller; returns its id, `ALL`, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="picker.cancel")]

    def __init__(self, title: str, resellers: list[Reseller], *, with_all: bool = False,
                 suggested: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.resellers = resellers
        self.with_all = with_all
        self.suggested = suggested

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog fit"):
            yield Label(literal(self.title_text), classes="dialog-title")
            with Vertical(classes="dialog-footer"):
                yield Label("enter choose · esc cancel", classes="dialog-prompt")
            yield OptionList(*_options(self.resellers, self.with_all), id="resellers",
                             markup=False)

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        if self.suggested is not None:
            try:
                options.highlighted = options.get_option_index(self.suggested)
            except Exception:  # noqa: BLE001 - an unknown suggestion just is not highlighted
                pass

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CreateScreen(ModalScreen[tuple[str, bool] | None]):
    """Create a connection: pick the reseller (when the scope is all) and whether to show
    the QR code; returns (reseller_id, qr) or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="create.cancel")]

    def __init__(self, resellers: list[Reseller], fixed: Reseller | None) -> None:
        super().__init__()
        self.resellers = resellers
        self.fixed = fixed

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog fit"):
            yield Label("Create a connection", classes="dialog-title")
            with Vertical(classes="dialog-footer"):
                yield TextCheckbox("show the QR code in the terminal", value=True, id="qr")
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Create", id="yes", variant="primary")
                    yield Button("Cancel (esc)", id="no")
            if self.fixed is not None:
                yield Label(literal(f"for reseller {self.fixed.name or self.fixed.id}"))
            else:
                yield Label("for which reseller?")
                yield OptionList(*_options(self.resellers, False), id="resellers",
                                 markup=False)

    def on_mount(self) -> None:
        if self.fixed is None:
            options = self.query_one(OptionList)
            options.highlighted = 0 if self.resellers else None
            options.focus()
        else:
            self.query_one("#yes", Button).focus()

    def _chosen(self) -> str | None:
        if self.fixed is not None:
            return self.fixed.id
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#qr", TextCheckbox).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id != "yes":
            self.dismiss(None)
            return
        chosen = self._chosen()
        if chosen is None:
            self.notify("choose a reseller first", severity="warning", markup=False)
            return
        self.dismiss((chosen, self.query_one("#qr", TextCheckbox).value))

    def action_cancel(self) -> None:
        self.dismiss(None)
