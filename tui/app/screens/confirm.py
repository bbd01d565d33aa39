"""Confirmation modals. `ConfirmScreen`: a y / n / esc question, default No.
`PlanConfirmScreen`: opens at once, asks the service for the plan inside it ("planning…"),
shows it, and answers with the confirmed plan (a `y` typed while it plans is kept and acts
once the plan is shown, if it has anything to do). `ClearAllScreen`: the same for a
clear-all, armed only once the operator typed one of the plan's confirmation words; for a
reseller scope it offers `include attributed orphan instances` (checkbox, or ctrl+t), which
asks the service for a new plan.

What a plan modal says is the plan's alone (`tui.app.view.plan_body`): its scope, the
targets per reseller (by name) grouped by the steps the run will take on them, every
skipped target with why and how to include it, the plan's notes. The body scrolls with
j / k / ↑ ↓ / PgUp PgDn / g G; what the modal has to say itself (the wrong word typed) is a
line inside it, never a toast over it. Every text from outside is shown as literal text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from tui.app.literal import literal, literal_lines, one_line
from tui.app.view import ResellerName, plan_body, plan_count_line
from tui.app.widgets.checkbox import TextCheckbox
from tui.lifecycle.plans import Plan

Planner = Callable[[], Awaitable[Plan]]
Replan = Callable[[bool], Awaitable[Plan]]  # include_attributed -> the new plan

#: Keys that scroll a modal's body whatever has the focus (a button, the word's input);
#: j / k / g / G too, as everywhere in evodash (in the clear-all's word box they are
#: letters: the box takes them first).
SCROLL_BINDINGS = [
    Binding("up", "scroll_body(-1)", "Scroll up", show=False, id="dialog.scroll-up"),
    Binding("down", "scroll_body(1)", "Scroll down", show=False, id="dialog.scroll-down"),
    Binding("k", "scroll_body(-1)", "Scroll up", show=False, id="dialog.k"),
    Binding("j", "scroll_body(1)", "Scroll down", show=False, id="dialog.j"),
    Binding("pageup", "scroll_body(-10)", "Page up", show=False, id="dialog.page-up"),
    Binding("pagedown", "scroll_body(10)", "Page down", show=False, id="dialog.page-down"),
    Binding("g,home", "scroll_body_to(False)", "Top", show=False, id="dialog.top"),
    Binding("G,end", "scroll_body_to(True)", "Bottom", show=False, id="dialog.bottom"),
]
SCROLL_HINT = "j k ↑↓ PgUp PgDn scroll"


ResultT = TypeVar("ResultT")


class DialogScroll(VerticalScroll, can_focus=False):
    """The body of a `ScrollingBody` modal; tells its screen when it (or what it holds)
    changed size, so the scroll hint follows."""

    def on_resize(self) -> None:
        if isinstance(self.screen, ScrollingBody):
            self.screen.show_scroll_hint()


class ScrollingBody(ModalScreen[ResultT]):
    """A modal that fits any screen (80x24 too): the title docked at the top, the answer
    docked at the bottom, the body between them in a `.dialog-scroll` that the arrow and
    page keys scroll; the dialog's bottom border says so while the body does not fit."""

    #: what the bottom border says while the body scrolls
    scroll_hint = SCROLL_HINT

    def action_scroll_body(self, lines: int) -> None:
        body = self.query_one(".dialog-scroll", DialogScroll)
        if abs(lines) > 1:
            lines = (1 if lines > 0 else -1) * max(body.size.height - 1, 1)
        body.scroll_to(y=body.scroll_y + lines, animate=False)

    def action_scroll_body_to(self, bottom: bool) -> None:
        body = self.query_one(".dialog-scroll", DialogScroll)
        body.scroll_to(y=body.max_scroll_y if bottom else 0, animate=False)

    def show_scroll_hint(self) -> None:
        """Called after each layout: the hint is there only while the body scrolls."""
        if not self.is_attached:
            return
        body = self.query_one(".dialog-scroll", DialogScroll)
        dialog = self.query_one("#dialog")
        dialog.border_subtitle = self.scroll_hint if body.max_scroll_y > 0 else ""

    def body_changed(self) -> None:
        self.call_after_refresh(self.show_scroll_hint)


class ConfirmScreen(ScrollingBody[bool]):
    """A yes/no question; `y` confirms, `n` / `esc` / the focused No button decline."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
        *SCROLL_BINDINGS,
    ]

    def __init__(self, title: str, lines: list[str], *, yes_label: str = "Yes (y)",
                 danger: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines
        self.yes_label = yes_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog fit"):
            yield Label(literal(self.title_text), classes="dialog-title")
            with DialogScroll(classes="dialog-scroll"):
                yield Static(literal_lines(self.lines), classes="dialog-body", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button(literal(self.yes_label), id="yes",
                             variant="error" if self.danger else "primary", compact=True)
                yield Button("No (n)", id="no", variant="default", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # default: No
        self.body_changed()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class PlanConfirmScreen(ScrollingBody[Plan | None]):
    """Plans inside the modal, shows the plan (every target, in a scrolling body), answers
    with it when confirmed (None: not)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", id="confirm.cancel"),
        *SCROLL_BINDINGS,
    ]

    def __init__(self, title: str, planner: Planner, *, name_of: ResellerName = str,
                 yes_label: str = "Yes (y)", danger: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.planner = planner
        self.name_of = name_of  # a reseller id -> its name, as the body names it
        self.yes_label = yes_label
        self.danger = danger
        self.plan: Plan | None = None
        self.wants_yes = False  # `y` pressed while planning

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog fit"):
            yield Label(literal(self.title_text), classes="dialog-title", id="dialog-title")
            with DialogScroll(classes="dialog-scroll"):
                yield Static(literal_lines(["planning…"]),
                             classes="dialog-body", markup=False, id="plan-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button(literal(self.yes_label), id="yes", disabled=True,
                             variant="error" if self.danger else "primary", compact=True)
                yield Button("No (n)", id="no", variant="default", compact=True)

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()  # default: No
        self.plan_worker()

    @work(group="plan", exclusive=True, exit_on_error=False)
    async def plan_worker(self) -> None:
        try:
            plan = await self.planner()
        except Exception as exc:  # noqa: BLE001 - shown in the modal, nothing runs
            text = one_line(exc) or type(exc).__name__
            self.query_one("#plan-body", Static).update(Text(f"planning failed: {text}"))
            return
        self.plan = plan
        self.query_one("#dialog-title", Label).update(literal(plan.title))
        self.query_one("#plan-body", Static).update(
            literal_lines(plan_body(plan, self.name_of)))
        self.body_changed()
        self.query_one("#yes", Button).disabled = not plan.runnable
        if self.wants_yes and plan.runnable:
            self.dismiss(plan)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        if not yes:
            self.dismiss(None)
        elif self.plan is None:
            self.wants_yes = True  # planning: confirm once the plan is shown
        elif self.plan.runnable:
            self.dismiss(self.plan)


class ClearAllScreen(ScrollingBody[Plan | None]):
    """The plan of a clear-all (planned inside the modal); `Clear all` is enabled only when
    the input is one of the plan's confirmation words (the scope's id or name, without case
    or accents). Letters typed while it plans go into the input."""

    # (the word's box has the focus: j and k are letters there; off it they scroll too)
    scroll_hint = "↑↓ PgUp PgDn scroll"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="clear-all.cancel"),
                Binding("ctrl+t", "toggle_attributed", "Include attributed",
                        id="clear-all.include-attributed"),
                *SCROLL_BINDINGS]

    def __init__(self, planner: Planner, *, label: str, replan: Replan | None = None,
                 name_of: ResellerName = str) -> None:
        super().__init__()
        self.planner = planner
        self.plan: Plan | None = None
        self.label = label
        self.name_of = name_of
        self.replan = replan  # set for a reseller scope: offers the attributed toggle
        self.include_attributed = False
        self.planning = True
        self.wants_submit = False  # enter pressed while planning

    @property
    def word(self) -> str:
        return self.plan.confirmation.hint if self.plan else "the scope"

    def body_lines(self) -> list[str]:
        """The body, one entry per line (names and notes in them not yet made visible)."""
        if self.plan is None:
            return ["planning…"]
        if not self.plan.targets:
            return ["nothing to clear", *(f"note: {note}" for note in self.plan.notes)]
        # (the title names the scope)
        return [plan_count_line(self.plan),
                *plan_body(self.plan, self.name_of, scope_line=False)]

    def body_text(self) -> Text:
        return literal_lines(self.body_lines())

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog fit"):
            yield Label(literal(f"Clear all in scope {self.label}"), classes="dialog-title")
            with DialogScroll(classes="dialog-scroll"):
                yield Static(self.body_text(), classes="dialog-body", id="plan-body",
                             markup=False)
            with Vertical(classes="dialog-footer"):
                if self.replan is not None:
                    yield TextCheckbox("include attributed orphan instances (ctrl+t)",
                                       id="include-attributed",
                                       tooltip="orphan instances whose name carries this "
                                               "reseller's prefix")
                yield Label(literal(f"Type {self.word} to confirm:"),
                            classes="dialog-prompt", id="confirm-prompt")
                yield Input(id="confirm-word", compact=True)
                with Horizontal(classes="dialog-buttons"):
                    yield Button("Clear all", id="yes", variant="error", disabled=True,
                                 compact=True)
                    yield Button("Cancel (esc)", id="no", compact=True)

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.cursor_blink = getattr(self.app, "timers_on", True)  # snapshots: no blink
        box.focus()
        self.plan_worker()
        self.body_changed()

    @work(group="clear-all-plan", exclusive=True, exit_on_error=False)
    async def plan_worker(self) -> None:
        try:
            plan = await self.planner()
        except Exception as exc:  # noqa: BLE001 - shown in the modal, nothing runs
            text = one_line(exc) or type(exc).__name__
            self.query_one("#plan-body", Static).update(Text(f"planning failed: {text}"))
            return
        self.show_plan(plan)

    def show_plan(self, plan: Plan) -> None:
        self.plan = plan
        self.planning = False
        self.query_one("#plan-body", Static).update(self.body_text())
        self.body_changed()
        self.query_one("#confirm-prompt", Label).update(literal(f"Type {self.word} to confirm:"))
        self.query_one("#yes", Button).disabled = not self.armed
        if self.wants_submit and self.armed:
            self.dismiss(self.plan)  # enter was pressed on the right word while it planned

    @property
    def armed(self) -> bool:
        return (not self.planning and self.plan is not None and bool(self.plan.actionable)
                and self.plan.confirmation.accepts(self.query_one(Input).value))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#yes", Button).disabled = not self.armed
        prompt = self.query_one("#confirm-prompt", Label)
        if prompt.has_class("-wrong"):
            prompt.remove_class("-wrong")
            prompt.update(literal(f"Type {self.word} to confirm:"))

    def action_toggle_attributed(self) -> None:
        if self.replan is not None:
            box = self.query_one("#include-attributed", TextCheckbox)
            box.value = not box.value

    def on_checkbox_changed(self, event: TextCheckbox.Changed) -> None:
        event.stop()
        if self.replan is None or event.value == self.include_attributed:
            return
        self.include_attributed = event.value
        self.planning = True
        self.query_one("#yes", Button).disabled = True
        self.query_one("#plan-body", Static).update(Text("re-planning…"))
        self.replan_worker(event.value)

    @work(group="clear-all-replan", exclusive=True, exit_on_error=False)
    async def replan_worker(self, include: bool) -> None:
        replan = self.replan
        if replan is None:
            return  # (started only for a reseller scope, which has one)
        try:
            plan = await replan(include)
        except Exception as exc:  # noqa: BLE001 - shown in the modal, nothing runs
            text = one_line(exc) or type(exc).__name__
            self.query_one("#plan-body", Static).update(Text(f"re-planning failed: {text}"))
            return
        if include != self.include_attributed:
            return  # toggled again meanwhile: the newer plan wins
        self.show_plan(plan)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.planning:
            self.wants_submit = True
        elif self.armed:
            self.dismiss(self.plan)
        else:
            # said inside the modal, where the operator looks (a toast would cover the
            # buttons at 80x24)
            typed = one_line(self.query_one(Input).value)
            prompt = self.query_one("#confirm-prompt", Label)
            prompt.update(literal(f"{typed!r} is not it: type {self.word} to confirm:"
                                  if typed else f"Type {self.word} to confirm:"))
            prompt.add_class("-wrong")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.plan if event.button.id == "yes" and self.armed else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
