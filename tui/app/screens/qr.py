"""`PairingScreen`: pair an instance with a phone from the terminal.

The QR code is drawn with half blocks (segno matrix, two QR rows per text line) *with its
quiet zone* (4 modules when it fits, never fewer than 2), in a dialog sized to the code (an
explicit width: the code never wraps). The size it needs is worked out from the code's
module count and the quiet zone alone (`qr_need`): the rows around the code are the same
whatever the modal shows (the pairing code has its line from the start, the number input
takes the key line's place), so the size asked for never drifts. When the terminal is too
small, one line says so (what it needs, what it has, and what to do instead: the pairing
code, or `evodash pair NAME` in a larger terminal) and the screen redraws on every resize. While the modal is
open a worker asks `LifecycleService.pair` again every `interval_s`, so the code shown follows
the server's rotation; the pairing code is shown when the server offers one (after `n`, a
phone number). Once the instance is `open` the modal says so, tells the dashboard
(`on_paired`) and closes after `close_after_s` (0: stays open). Errors are one literal line.
`QrScreen` is the same screen (the name the create / re-provision flow first used).
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Callable

import segno
from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static
from textual.worker import Worker, WorkerState

from tui.app.literal import literal, one_line
from tui.evolution.errors import EvolutionError
from tui.lifecycle.scope import LifecycleError
from tui.lifecycle.service import LifecycleService, Pairing
from tui.qrtext import QrFit, qr_text  # qr_text: also what the tests scan against
from tui.qrtext import fit_qr as fit_text

PAIR_EVERY_S = 1.5  # how often the open modal asks the server again (its QR rotation)
CLOSE_AFTER_S = 3.0  # how long "paired" stays before the modal closes itself
# the dialog around the code: border (2 columns, 2 rows) and padding (2 columns); rows for
# the title, the status line, the pairing code's line and the key line (or, in its place,
# the phone number's input): the same rows whatever the modal shows
_CHROME_W = 4
_CHROME_H = 6


def qr_modules(code: str) -> int:
    """How many modules wide the QR code of `code` is (without its quiet zone)."""
    return int(segno.make(code, micro=False).symbol_size(border=0)[0])


def qr_need(modules: int, quiet_zone: int) -> tuple[int, int]:
    """The terminal cells (width, height) the modal needs for a code `modules` wide with a
    quiet zone of `quiet_zone` modules: half blocks draw two QR rows per line."""
    side = modules + 2 * quiet_zone
    return side + _CHROME_W, (side + 1) // 2 + _CHROME_H


def fit_qr(code: str, width: int, height: int) -> QrFit:
    """The QR code of `code` with the widest quiet zone (4 down to 2 modules) whose dialog
    fits `width` x `height`; else what the smallest drawing needs (`tui.qrtext`, the same
    drawing as `evodash pair`). Raises what segno raises for a payload too long."""
    return fit_text(code, width, height, chrome_w=_CHROME_W, chrome_h=_CHROME_H)


class PairingScreen(ModalScreen[None]):
    """The QR code (and pairing code) of `name`, kept fresh while the modal is open."""

    AUTO_FOCUS = ""  # nothing: `q` must close the modal, not type into the number input
    # `n` is a priority binding: it runs as the key is taken, so digits typed right after it
    # (a fast typist, a paste) go to the number's box, not to a screen still without focus
    BINDINGS = [Binding("escape,q", "close", "Close", id="pairing.close"),
                Binding("n", "number", "Pairing code", id="pairing.number", priority=True)]

    def __init__(self, name: str, code: str | None = None, pairing_code: str | None = None,
                 *, service: LifecycleService | None = None, interval_s: float | None = None,
                 close_after_s: float | None = None,
                 on_paired: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.instance_name = name
        self.code = code
        self.pairing_code = pairing_code
        self.count = 0
        self.service = service
        # read now, not at import: tests set the module's PAIR_EVERY_S / CLOSE_AFTER_S
        self.interval_s = PAIR_EVERY_S if interval_s is None else interval_s
        self.close_after_s = CLOSE_AFTER_S if close_after_s is None else close_after_s
        self.on_paired = on_paired
        self.paired = False
        self.error: str | None = None
        self.fit: QrFit | None = None
        self._number: str | None = None  # asked with the next `pair` call

    def compose(self) -> ComposeResult:
        with Vertical(id="pairing-dialog", classes="dialog pairing"):
            yield Label(literal(f"Scan with WhatsApp: {self.instance_name}"),
                        classes="dialog-title", id="pairing-title")
            yield Static("", id="qr-code")
            yield Label("", id="pairing-status")
            yield Label("", id="pairing-code")
            number = Input(placeholder="phone number with country code, e.g. 5511999990000",
                           id="pairing-number", restrict=r"[0-9+ ]*", max_length=20,
                           compact=True)
            number.display = False  # until `n`; then in the key line's place
            yield number
            yield Label("esc close", classes="dialog-prompt", id="pairing-prompt")

    def on_mount(self) -> None:
        self._draw()
        if self.service is not None:
            self.follow()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    # ------------------------------------------------------------------ following the server
    @work(group="pairing", exclusive=True, exit_on_error=False)
    async def follow(self) -> None:
        """Ask the server for the pairing of the instance until it is `open`."""
        service = self.service
        if service is None:
            return
        while True:
            number, self._number = self._number, None
            try:
                pairing = await service.pair(self.instance_name, number=number)
            except LifecycleError as exc:  # read-only, outside scope, no instance: final
                self._show_error(one_line(exc))
                return
            except EvolutionError as exc:  # the server: shown, asked again
                self._show_error(f"Evolution: {one_line(exc)}")
            else:
                self._show(pairing)
                if pairing.paired:
                    return
            await asyncio.sleep(self.interval_s)

    def _show(self, pairing: Pairing) -> None:
        self.error = None
        if pairing.paired:
            self.paired = True
            if self.on_paired is not None:
                self.on_paired()
            if self.close_after_s > 0:
                self.set_timer(self.close_after_s, self.action_close)
        else:
            if pairing.code:
                self.code, self.count = pairing.code, pairing.count
            if pairing.pairing_code:
                self.pairing_code = pairing.pairing_code
        self._draw()

    def _show_error(self, message: str) -> None:
        self.error = message
        self._draw()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "pairing" and event.state is WorkerState.ERROR:
            error = event.worker.error
            self._show_error(f"error: {one_line(error) if error else 'unknown'}")

    # ------------------------------------------------------------------ drawing
    def _draw(self) -> None:
        if not self.is_mounted:
            return
        dialog = self.query_one("#pairing-dialog", Vertical)
        qr = self.query_one("#qr-code", Static)
        status = self.query_one("#pairing-status", Label)
        code_label = self.query_one("#pairing-code", Label)
        number_input = self.query_one("#pairing-number", Input)
        width, height = self.app.size
        text_w = 44  # room for the status lines when there is no code (or it is too small)
        qr.styles.height = "auto"
        if self.paired:
            qr.display = False
        elif self.code is None:
            qr.display = True
            qr.update(literal("waiting for the server's QR code…"))
        else:
            qr.display = True
            try:
                self.fit = fit_qr(self.code, width, height)
            except Exception as exc:  # noqa: BLE001 - a server's code too long for a QR code
                self.fit = None
                qr.update(literal(f"cannot draw this QR code: {type(exc).__name__}"))
            else:
                if self.fit.text is None:
                    text_w = max(text_w, min(width - _CHROME_W, 96))
                    qr.update(literal(
                        f"terminal too small for the QR code: needs "
                        f"{self.fit.need_w}x{self.fit.need_h}, have {width}x{height}; "
                        "enlarge the window, press n for a pairing code, or run "
                        f"`evodash pair {shlex.quote(self.instance_name)}` in a larger "
                        "terminal"))
                else:
                    lines = self.fit.text.splitlines()
                    text_w = max(text_w, len(lines[0]))
                    qr.update(Text(self.fit.text, style="white on black", no_wrap=True))
                    qr.styles.height = len(lines)
        qr.styles.width = text_w
        dialog.styles.width = min(width, text_w + _CHROME_W)
        status.update(self._status_text())
        status.set_class(self.error is not None, "error")
        status.set_class(self.paired, "paired")
        asks = self.service is not None and not self.paired and self.error is None
        # (its line is there from the start: the modal's height never changes)
        code_label.update(literal(f"pairing code: {self.pairing_code}")
                          if self.pairing_code and not self.paired else "")
        prompt = self.query_one("#pairing-prompt", Label)
        prompt.display = not number_input.display  # the input takes the key line's place
        prompt.update("esc close · n pairing code" if asks else "esc close")

    def _status_text(self) -> Text:
        if self.error is not None:
            return literal(self.error)
        if self.paired:
            return literal(f"paired: {self.instance_name} is open")
        if self.service is None:
            return Text("")
        if self.code is None:
            return Text("waiting for the phone")
        rotation = f" · QR #{self.count}" if self.count else ""
        return Text(f"waiting for the phone{rotation} · fresh every {self.interval_s:g} s")

    # ------------------------------------------------------------------ keys
    def action_number(self) -> None:
        if self.service is None or self.paired:
            return
        number_input = self.query_one("#pairing-number", Input)
        number_input.display = True
        # focused now, not after the queued messages: digits typed right after `n` (a
        # paste, a fast typist) go to the box
        self.set_focus(number_input)
        self._draw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        number = "".join(ch for ch in event.value if ch.isdigit())
        event.input.display = False
        self.set_focus(None)
        if number:
            self._number = number
            self.follow()  # ask now (exclusive: the loop starts over with the number)
        self._draw()

    def action_close(self) -> None:
        self.workers.cancel_group(self, "pairing")
        if self.is_current or self.app.screen is self:
            self.dismiss(None)


QrScreen = PairingScreen
