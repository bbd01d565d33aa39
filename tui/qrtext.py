"""A QR code as text: half blocks, two QR rows per line, with its quiet zone, sized to a
screen. Pure (segno only, no Textual): the CLI's `evodash pair` / `create --qr` draw with
it, and it is the drawing of the dashboard's pairing modal (`tui/app/screens/qr.py`) copied
out so both follow the same size rules:

- a block is a *light* module, so the code reads the same on any terminal theme when drawn
  light on black (the dark modules are the background);
- the quiet zone is 4 modules (what the QR specification asks) when it fits, down to 2
  (what phones still scan reliably), never fewer: too small a screen gets no code at all,
  and `QrFit` says the size it needs;
- lines are never wrapped: the caller gives the whole width the code may take.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno

__all__ = ["MIN_QUIET_ZONE", "QUIET_ZONE", "QrFit", "fit_qr", "qr_text"]

_BLOCKS = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}

QUIET_ZONE = 4  # modules, as the QR specification asks
MIN_QUIET_ZONE = 2  # what phones still scan reliably; below it the code is not drawn


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


@dataclass(frozen=True)
class QrFit:
    """What fits a screen: the drawn `text` (None: too small) and its quiet zone, or what the
    smallest drawing needs (`need_w` x `need_h` cells, the caller's chrome included)."""

    text: str | None
    quiet_zone: int
    need_w: int
    need_h: int


def fit_qr(code: str, width: int, height: int, *, chrome_w: int = 0,
           chrome_h: int = 0) -> QrFit:
    """The QR code of `code` with the widest quiet zone (4 down to 2 modules) that fits
    `width` x `height` together with `chrome_w` columns and `chrome_h` lines of the caller's
    own (a dialog's border and labels, the lines printed around it). Raises what segno
    raises for a payload too long for a QR code."""
    need = (0, 0)
    for zone in range(QUIET_ZONE, MIN_QUIET_ZONE - 1, -1):
        text = qr_text(code, border=zone)
        lines = text.splitlines()
        need = (len(lines[0]) + chrome_w, len(lines) + chrome_h)
        if need[0] <= width and need[1] <= height:
            return QrFit(text, zone, *need)
    return QrFit(None, 0, *need)
