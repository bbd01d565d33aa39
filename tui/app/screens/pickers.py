"""Pickers: `ResellerPicker` (scope, adopt) and `CreateScreen` (the create form).

Both choose a reseller from a `ResellerList`: `j` / `k` move, typing filters (see
`tui.app.widgets.choice`). `CreateScreen` is the create's one confirmation: it asks the
service for the plan of the highlighted reseller (and the QR choice) as soon as it changes,
shows what will happen (the plan's steps and note), and its `Create` answers with that plan,
which then runs. Reseller names and ids, and the instance name in a title, are shown
literally (`literal`); what the form has to say (no reseller to create for) is a line
inside it, never a toast over it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static

from tui.app.literal import literal, literal_lines, one_line
from tui.app.view import ResellerName, plan_body
from tui.app.widgets.checkbox import TextCheckbox
from tui.app.widgets.choice import ALL, ResellerList
from tui.lifecycle.plans import Plan
from tui.store.models import Reseller

__all__ = ["ALL", "CreateScreen", "ResellerPicker"]

#: (reseller id, show the QR code) -> the create's plan (`LifecycleService.plan`).
CreatePlanner = Callable[[str, bool], Awaitable[Plan]]


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
            yield ResellerList(self.resellers, with_all=self.with_all, id="resellers")

    def on_mount(self) -> None:
        options = self.query_one(ResellerList)
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


class CreateScreen(ModalScreen[Plan | None]):
    """The create form: which reseller (when the scope is all), whether to show the QR
    code, and what will happen (the plan, asked again whenever either changes). `Create`
    (or enter on the button) answers with that plan; esc with None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="create.cancel"),
                Binding("ctrl+t", "toggle_qr", "QR code", id="create.qr")]

    def __init__(self, resellers: list[Reseller], fixed: Reseller | None, *,
                 planner: CreatePlanner, name_of: ResellerName = str) -> None:
        super().__init__()
        self.resellers = resellers
        self.fixed = fixed
        self.planner = planner
        self.name_of = name_of
        self.plan: Plan | None = None
        self._planned_for: tuple[str, bool] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog fit create"):
            yield Label("Create a connection", classes="dialog-title", id="dialog-title")
            with Vertical(classes="dialog-footer"):
                yield TextCheckbox("show the QR code in the terminal (ctrl+t)", value=True,
                                   id="qr")
                yield Static("", id="create-plan", markup=False)
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Create", id="yes", variant="primary", disabled=True,
                                 compact=True)
                    yield Button("Cancel (esc)", id="no", compact=True)
            if self.fixed is not None:
                yield Label(literal(f"for reseller {self.fixed.name or self.fixed.id}"))
            else:
                yield Label("for which reseller? (enter: this one)",
                            classes="dialog-prompt")
                yield ResellerList(self.resellers, id="resellers")

    def on_mount(self) -> None:
        if self.fixed is None:
            options = self.query_one(ResellerList)
            options.highlighted = 0 if self.resellers else None
            options.focus()
        else:
            self.query_one("#yes", Button).focus()
        self._replan()

    # ------------------------------------------------------------------ the plan
    def chosen(self) -> str | None:
        if self.fixed is not None:
            return self.fixed.id
        chosen = self.query_one(ResellerList).chosen()
        return None if chosen == ALL else chosen

    def _replan(self) -> None:
        """Ask for the plan of what the form says now (once per change)."""
        chosen = self.chosen()
        qr = self.query_one("#qr", TextCheckbox).value
        if chosen is None:
            self.plan, self._planned_for = None, None
            self._show(["no reseller to create a connection for: choose one in the list"
                        if self.resellers or self.fixed else
                        "no reseller to create a connection for"])
            return
        if self._planned_for == (chosen, qr) and self.plan is not None:
            return
        self._planned_for = (chosen, qr)
        self.plan = None
        self._show(["planning…"])
        self.plan_worker(chosen, qr)

    @work(group="create-plan", exclusive=True, exit_on_error=False)
    async def plan_worker(self, reseller_id: str, qr: bool) -> None:
        try:
            plan = await self.planner(reseller_id, qr)
        except Exception as exc:  # noqa: BLE001 - shown in the form, nothing runs
            if self._planned_for == (reseller_id, qr):
                self._show([f"planning failed: {one_line(exc) or type(exc).__name__}"])
            return
        if self._planned_for != (reseller_id, qr):
            return  # the form changed meanwhile: the newer plan wins
        self.plan = plan
        lines = plan_body(plan, self.name_of)
        if qr:
            lines.append("then: its QR code, kept fresh, until a phone pairs it")
        self.query_one("#dialog-title", Label).update(literal(plan.title))
        self._show(lines)

    def _show(self, lines: list[str]) -> None:
        self.query_one("#create-plan", Static).update(literal_lines(lines))
        self.query_one("#yes", Button).disabled = self.plan is None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._replan()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._replan()
        self.query_one("#yes", Button).focus()  # enter again creates

    def on_checkbox_changed(self, event: TextCheckbox.Changed) -> None:
        event.stop()
        self._replan()

    def action_toggle_qr(self) -> None:
        box = self.query_one("#qr", TextCheckbox)
        box.value = not box.value

    # ------------------------------------------------------------------ the answer
    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id != "yes":
            self.dismiss(None)
            return
        plan = self.plan
        if plan is not None and self._planned_for == (
                self.chosen(), self.query_one("#qr", TextCheckbox).value):
            self.dismiss(plan)

    def action_cancel(self) -> None:
        self.dismiss(None)
