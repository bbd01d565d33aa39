"""Masking of secrets (API keys, instance tokens, passwords inside Mongo URIs).

Everything that may end up on a screen, in a log line, in an error message or in the audit log
goes through these helpers first.
"""

from __future__ import annotations

import re
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


def scrub(text: str, secrets: list[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in ``text`` by a mask."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, mask_token(secret))
    return text
