"""Scanning a QR code back from terminal text, as a phone would from the screen: the half-block
drawing of `tui.app.screens.qr.qr_text` (a block is a *light* module) found in a screen's
text (a `capture-pane -p`, or a widget's text), turned into an image and decoded with
zxing-cpp. Not a test module; used by tests/test_app_pairing.py and
tests/test_app_tmux_pairing.py."""

from __future__ import annotations

import numpy as np
import zxingcpp

_TOP = {" ": False, "▀": True, "▄": False, "█": True}
_BOTTOM = {" ": False, "▀": False, "▄": True, "█": True}
MIN_RUN = 21  # the top quiet-zone line of the smallest QR code (version 1 + 2 modules)


def find_qr(screen: str) -> list[str] | None:
    """The rectangle of half blocks holding the QR code in `screen`: it starts at the longest
    run of full blocks (the top quiet zone) and goes down while every cell under it is a block
    or a space. None when there is no such run."""
    lines = screen.splitlines()
    best = (0, 0, 0)  # run length, line, column
    for index, line in enumerate(lines):
        column = 0
        while column < len(line):
            if line[column] == "█":
                end = column
                while end < len(line) and line[end] == "█":
                    end += 1
                if end - column > best[0]:
                    best = (end - column, index, column)
                column = end
            else:
                column += 1
        if best[0] >= MIN_RUN:
            break  # the first long run is the top of the code
    width, top, left = best
    if width < MIN_RUN:
        return None
    rows = []
    for line in lines[top:]:
        cells = line[left:left + width]
        if len(cells) < width or any(ch not in _TOP for ch in cells):
            break
        rows.append(cells)
    return rows


def scan(screen: str, *, scale: int = 6) -> list[str]:
    """The payloads zxing-cpp decodes from the QR code drawn in `screen` (empty: none)."""
    rows = find_qr(screen)
    if not rows:
        return []
    modules: list[list[bool]] = []  # True: light
    for row in rows:
        modules.append([_TOP[ch] for ch in row])
        modules.append([_BOTTOM[ch] for ch in row])
    light = np.array(modules, dtype=bool)
    # around the drawing the phone sees the dialog (dark: the drawn quiet zone must do)
    light = np.pad(light, 4, constant_values=False)
    image = np.where(light, 255, 0).astype(np.uint8)
    image = np.kron(image, np.ones((scale, scale), dtype=np.uint8))
    return [result.text for result in zxingcpp.read_barcodes(image)]
