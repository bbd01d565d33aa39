"""`TextCheckbox`: a Checkbox whose state reads as text, `[x]` / `[ ]`, not only as a colour
(Textual's own always draws an `X` and only colours it). Its state matters: the clear-all
modal's `include attributed orphan instances` decides what a clear-all deletes, and it
must read the same under `NO_COLOR`."""

from __future__ import annotations

from textual.content import Content
from textual.style import Style
from textual.widgets import Checkbox

CHECKED = "[x]"
UNCHECKED = "[ ]"


class TextCheckbox(Checkbox):
    """`[x] label` when checked, `[ ] label` when not."""

    @property
    def _button(self) -> Content:  # ToggleButton's own: see tui.app.textual_private
        style = self.get_visual_style("toggle--button")  # still coloured by state, too
        return Content.assemble((CHECKED if self.value else UNCHECKED,
                                 Style(foreground=style.foreground, bold=True)))

    @property
    def state_text(self) -> str:
        """What the box shows, as plain text (`[x] label`)."""
        return f"{CHECKED if self.value else UNCHECKED} {self.label.plain}"
