"""Text from outside is data: one rule for showing it, in every widget and every CLI line.

Names, profile names, reseller names, record fields, server messages and settings values are
strings strangers control. `visible(text)` returns the same text with everything that could
act on a terminal or reorder what is shown replaced by a visible escape: C0/C1 control
characters (ESC, BEL, CR, backspace, ...) as `\\x1b`-style escapes, and Unicode bidi
controls and other invisible format characters (U+202E, U+2066, zero-width joiners, ...) as
`\\u202e`-style escapes. Printable text - accents, CJK, emoji - is untouched. It never adds
markup: widgets must still render the result as a plain `rich.text.Text` (or with
`markup=False`), never as console markup, so `[/]` or `[bold]` stay literal characters.

`json_visible(text)` does the same for JSON output (valid JSON, the same escapes).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# C0 controls but TAB, DEL, C1 controls; and the Unicode "format" characters (category Cf:
# bidi embeddings/overrides/isolates, zero-width characters, BOM, ...), line/paragraph
# separators (Zl/Zp): they reorder or hide what the operator sees.
_ESCAPED = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]|[^\x00-\x7f]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if code < 0x80 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    if unicodedata.category(char) in ("Cf", "Zl", "Zp", "Co", "Cn", "Cs"):
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return char


def visible(text: object) -> str:
    """`text` as a string that cannot act on a terminal or hide/reorder anything."""
    value = text if isinstance(text, str) else str(text)
    return _ESCAPED.sub(_escape, value)


def has_hidden(text: str) -> bool:
    """Whether `visible` would change `text`."""
    return visible(text) != text


def json_visible(obj: Any) -> str:
    """`obj` as one line of JSON whose strings cannot act on a terminal either: control
    characters are JSON-escaped already; bidi and other format characters are escaped too."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    return _ESCAPED.sub(lambda m: _json_escape(m.group(0)), text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x80 or 0x7F <= code <= 0x9F or unicodedata.category(char) in (
            "Cf", "Zl", "Zp", "Co", "Cn", "Cs"):
        if code > 0xFFFF:
            high, low = divmod(code - 0x10000, 0x400)
            return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"
        return f"\\u{code:04x}"
    return char
