"""Masking of secrets (API keys, instance tokens, passwords inside Mongo URIs).

Everything that may end up on a screen, in a log line, in an error message or in the audit log
goes through these helpers first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

_MASK = "****"


def mask_token(value: str | None) -> str:
    """Show only the last four characters of a token: ``****5E35``. Short tokens are hidden."""
    if not value:
        return ""
    if len(value) <= 8:
        return _MASK
    return _MASK + value[-4:]


def mask_uri(uri: str) -> str:
    """Hide the password of a ``mongodb://user:pass@host`` (or any ``scheme://``) URI.

    Handles ``mongodb+srv://`` and several hosts; the user name stays visible.
    """
    try:
        parts = urlsplit(uri)
    except ValueError:
        return re.sub(r"//[^@/]*@", "//" + _MASK + "@", uri)
    netloc = parts.netloc
    if "@" not in netloc:
        return uri
    userinfo, _, hosts = netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    masked = f"{user}:{_MASK}@{hosts}" if ":" in userinfo else f"{user}@{hosts}"
    return urlunsplit((parts.scheme, masked, parts.path, parts.query, parts.fragment))


def scrub(text: str, secrets: Iterable[str | None] | SecretIndex) -> str:
    """Replace every occurrence of each non-empty secret in ``text`` by a mask."""
    if isinstance(secrets, SecretIndex):
        return secrets.scrub(text)
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, mask_token(secret))
    return text


class SecretIndex:
    """Many secrets (e.g. every instance token a client has seen), grouped by length.

    `scrub` looks at each window of the text once per distinct secret length, so it costs
    O(len(text) x distinct lengths) set look-ups instead of one `str.replace` per secret
    (10,000 tokens made every error message of a large server cost milliseconds).
    """

    def __init__(self, secrets: Iterable[str | None] = (), *,
                 base: SecretIndex | None = None) -> None:
        self._by_length: dict[int, set[str]] = {}
        self._count = 0
        self._base = base  # looked at too, never copied
        self.update(secrets)

    def __len__(self) -> int:
        return self._count + (len(self._base) if self._base is not None else 0)

    def with_extra(self, secrets: Iterable[str | None]) -> SecretIndex:
        """These secrets plus this index's (which is shared, not copied)."""
        return SecretIndex(secrets, base=self)

    def update(self, secrets: Iterable[str | None]) -> None:
        for secret in secrets:
            if secret and len(secret) >= 4:
                group = self._by_length.setdefault(len(secret), set())
                if secret not in group:
                    group.add(secret)
                    self._count += 1

    def found_in(self, text: str) -> set[str]:
        """The secrets that occur in `text`."""
        found = self._base.found_in(text) if self._base is not None else set()
        n = len(text)
        for length, group in self._by_length.items():
            if length <= n:
                found.update(
                    piece for piece in map(text.__getitem__, map(slice, range(n - length + 1),
                                                                 range(length, n + 1)))
                    if piece in group
                )
        return found

    def scrub(self, text: str) -> str:
        """`text` with every occurrence of every secret masked (longest secrets first)."""
        found = self.found_in(text) if len(self) else set()
        longest_first: list[str] = sorted(found, key=len, reverse=True)
        return scrub(text, longest_first) if longest_first else text
