"""`QrScreen`: the QR code of a new connection, drawn with half blocks (segno matrix), so it
can be scanned from a terminal (two QR rows per text line)."""

from __future__ import annotations

import segno
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.app.literal import literal

_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}


def qr_text(code: str, border: int = 2) -> str:
    """The QR code of `code` as lines of half blocks; a block is a *light* module, so it reads
    correctly on dark terminals (dark modules are the terminal's background)."""
    rows = [[not dark for dark in row] for row in segno.make(code, micro=False).matrix_iter(
        border=border)]
    if len(rows) % 2:
        rows.append([True] * len(rows[0]))
    return "\n".join(
        "".join(_BLOCKS[(top, bottom)] for top, bottom in zip(rows[i], rows[i + 1]))
        for i in range(0, len(rows), 2))


class QrScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "close", "Close", id="qr.close")]

    def __init__(self, name: str, code: str, pairing_code: str | None) -> None:
        super().__init__()
        self.instance_name = name
        self.code = code
        self.pairing_code = pairing_code

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog qr"):
            yield Label(literal(f"Scan with WhatsApp: {self.instance_name}"),
                        classes="dialog-title")
            try:
                drawn = Text(qr_text(self.code), style="white on black")
            except Exception as exc:  # noqa: BLE001 - a server's code too long for a QR code
                drawn = literal(f"cannot draw this QR code: {type(exc).__name__}")
            yield Static(drawn, id="qr-code")
            if self.pairing_code:
                yield Label(literal(f"pairing code: {self.pairing_code}"))
            yield Label("esc close", classes="dialog-prompt")

    def action_close(self) -> None:
        self.dismiss(None)
