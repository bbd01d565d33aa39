"""Outside text on the dashboard: always literal, always visible (`tui.text.visible`).

Names, profile names, reseller names, record fields, server and database error messages,
settings values and the operator's typing are strings strangers control. Every widget of the
dashboard shows them through these helpers: `shown` applies the shared rule (control
characters, escape sequences, bidi and other invisible format characters become visible
escapes such as `\\x1b` or `\\u202e`), and the result is rendered as a plain
`rich.text.Text` (`literal`, `literal_lines`) or with `markup=False` - never as console
markup, so `[/]`, `[bold]` or `[@click=...]` stay the characters they are.

`Redactor` masks every value whose key looks like a credential (`token`,
`apikey`, `api_key`, `access_token`, `secret`, `password`, ...) at any depth, passwords in
URIs, and every other occurrence of a secret found that way (or given, like the instance
token) anywhere in the text shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from rich.text import Text

from tui.secrets import SecretIndex, mask_token
from tui.text import visible


def shown(text: object) -> str:
    """`visible(text)`: one line of outside text, safe for any widget (a TAB, which
    `visible` keeps, becomes a space: it would move the cursor). `str.isprintable` is False
    for every character `visible` escapes, so printable text skips the regex."""
    value = text if isinstance(text, str) else str(text)
    return value if value.isprintable() else visible(value).replace("\t", " ")


def has_hidden(text: str) -> bool:
    """Whether `shown` would change `text`."""
    return not text.isprintable() and shown(text) != text


def literal(text: object, style: str = "") -> Text:
    """One line of outside text as a plain `Text` (no markup is ever parsed)."""
    return Text(shown(text), style=style)


def literal_lines(lines: Iterable[object], style: str = "") -> Text:
    """Several lines, each made visible on its own (a newline inside a value is escaped:
    it cannot start a line that looks like the widget's own)."""
    return Text("\n".join(shown(line) for line in lines), style=style)


def one_line(text: object) -> str:
    """Whitespace runs (newlines included) folded to one space, then made visible."""
    value = text if isinstance(text, str) else str(text)
    return shown(" ".join(value.split()))


# ------------------------------------------------------------------------------ secrets
_MASK = "****"
# substrings of a key (lower case, only letters and digits kept) that make it a credential
_SECRET_PARTS = ("token", "apikey", "secret", "password", "passwd", "passphrase", "jwt",
                 "credential", "privatekey", "accesskey", "authorization", "cookie",
                 "bearer", "signature", "sessionkey")
_SECRET_KEYS = frozenset({"hash", "pwd", "pass", "auth", "key", "pin", "otp"})
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
# `scheme://user:password@` anywhere in a text (what `mask_uri` hides in one URI)
_URI_PASSWORD = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^\s/@:]*):[^\s/@]*@")


def is_secret_key(key: object) -> bool:
    """`token`, `apiKey`, `api_key`, `access-token`, `client_secret`, `PASSWORD`, `hash`..."""
    norm = _NOT_ALNUM.sub("", str(key).lower())
    return norm in _SECRET_KEYS or any(part in norm for part in _SECRET_PARTS)


def _mask_value(value: Any) -> Any:
    """A value held under a credential key: every leaf is masked."""
    if isinstance(value, str):
        return mask_token(value) if value and not value.startswith(_MASK) else value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask_value(v) for v in value]
    return _MASK


def _secret_leaves(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _secret_leaves(item, out)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _secret_leaves(item, out)
    elif value is not None and not isinstance(value, bool):
        out.append(str(value))


class Redactor:
    """Masks the credentials of JSON-like values, and every other place they occur.

    `collect(value)` first learns the secrets held under credential keys (at any depth);
    `redact(value)` then returns a copy with those keys masked, passwords of URIs masked,
    and every known secret scrubbed out of the other strings; `scrub(text)` does the last
    part for a text built from the values."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self.index = SecretIndex()
        self.add(secrets)

    def add(self, secrets: Iterable[str | None]) -> None:
        """Secrets to scrub wherever they occur (values masked already are not secrets)."""
        self.index.update(s for s in secrets if s and not s.startswith(_MASK))

    def collect(self, value: Any) -> Redactor:
        found: list[str] = []
        self._collect(value, found)
        self.add(found)
        return self

    def _collect(self, value: Any, found: list[str]) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if is_secret_key(key):
                    _secret_leaves(item, found)
                else:
                    self._collect(item, found)
        elif isinstance(value, (list, tuple)):
            for item in value:
                self._collect(item, found)

    def scrub(self, text: str) -> str:
        if "://" in text and "@" in text:
            text = _URI_PASSWORD.sub(r"\1:" + _MASK + "@", text)
        return self.index.scrub(text) if len(self.index) else text

    def redact(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: _mask_value(item) if is_secret_key(key) else self.redact(item)
                    for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact(item) for item in value]
        if isinstance(value, str):
            return self.scrub(value)
        return value


def json_text(value: Any) -> str:
    """Indented JSON whose strings cannot act on a terminal: control characters are JSON
    escapes already; whatever else `visible` would escape (bidi, zero-width, C1, ...)
    becomes a `\\uXXXX` JSON escape too, so the text stays valid JSON."""
    text = json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    if all(line.isprintable() for line in text.split("\n")):
        return text
    return "".join(ch if ch == "\n" or ch.isprintable() or visible(ch) == ch
                   else _json_escape(ch) for ch in text)


def _json_escape(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:
        high, low = divmod(code - 0x10000, 0x400)
        return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"
    return f"\\u{code:04x}"
