"""`tui/qrtext.py`, the QR code as text that the CLI draws (and the dashboard's modal drew
first): the size rules (quiet zone 4, down to 2, never fewer; nothing drawn when even that
does not fit, with the size it needs), never wider than given, and a drawing a decoder
reads back. It is a copy of the modal's pure part: both must draw the same."""

from __future__ import annotations

import pytest

from tests.qr_scan import scan
from tui.qrtext import MIN_QUIET_ZONE, QUIET_ZONE, fit_qr, qr_text

# the shape of a WhatsApp-web QR payload (what the simulator and the server send)
CODE = ("2@gLGNOaeCtL31Ugq+DfcgaTMnTC0MrAU8urbFt5misIZHbhS4/FvafhdZxEuh,"
        "nbzs0z1wNiMg9aW37k5wCnHDepQHgI3HLBkbvHEzuPy=,XQEW88ad3DNBYjvsedonuSsddfrfifiUziXnFAAoeel=")


def size_of(text: str) -> tuple[int, int]:
    lines = text.splitlines()
    assert len({len(line) for line in lines}) == 1  # a rectangle
    return len(lines[0]), len(lines)


def test_the_widest_quiet_zone_that_fits():
    wide = fit_qr(CODE, 500, 500)
    assert wide.quiet_zone == QUIET_ZONE and wide.text is not None
    w4, h4 = size_of(wide.text)
    w2, h2 = size_of(qr_text(CODE, border=MIN_QUIET_ZONE))
    assert w4 == w2 + 4 and (wide.need_w, wide.need_h) == (w4, h4)
    # exactly the 2-module drawing's size, with 3 lines of chrome: the zone drops to 2
    tight = fit_qr(CODE, w2, h2 + 3, chrome_h=3)
    assert tight.quiet_zone == MIN_QUIET_ZONE and tight.text == qr_text(CODE, MIN_QUIET_ZONE)
    assert (tight.need_w, tight.need_h) == (w2, h2 + 3)


@pytest.mark.parametrize("shrink", [(1, 0), (0, 1)])
def test_too_small_draws_nothing_and_names_the_size_it_needs(shrink):
    w2, h2 = size_of(qr_text(CODE, border=MIN_QUIET_ZONE))
    fit = fit_qr(CODE, w2 + 4 - shrink[0], h2 + 2 - shrink[1], chrome_w=4, chrome_h=2)
    assert fit.text is None and fit.quiet_zone == 0
    assert (fit.need_w, fit.need_h) == (w2 + 4, h2 + 2)


def test_the_drawing_reads_back():
    fit = fit_qr(CODE, 120, 60)
    assert fit.text is not None
    assert scan(fit.text) == [CODE]
    assert scan(qr_text(CODE, border=MIN_QUIET_ZONE)) == [CODE]


def test_the_cli_and_the_dashboard_modal_draw_the_same():
    from tui.app.screens import qr as modal

    assert qr_text(CODE, border=3) == modal.qr_text(CODE, border=3)
    for width, height in ((120, 60), (60, 35), (53, 30), (80, 24)):
        ours = fit_qr(CODE, width, height, chrome_w=4, chrome_h=6)
        theirs = modal.fit_qr(CODE, width, height)
        assert (ours.text, ours.quiet_zone, ours.need_w, ours.need_h) == (
            theirs.text, theirs.quiet_zone, theirs.need_w, theirs.need_h), (width, height)
