"""Instance naming rules of the platform (pure functions, no I/O).

Owns how a reseller's name becomes an Evolution instance name
(`<base>_<n>_<unix_ts>`, e.g. `fabio_1_1761316665`), how such a name is parsed back,
how a free name is picked, and which names are risky to use in a URL path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

BASE_MAX_LEN = 10
DEFAULT_BASE = "reseller"

#: Names the platform creates: `<base>_<n>_<ts>` (ASCII digits only, no trailing newline).
PLATFORM_NAME_RE = re.compile(r"([a-z0-9]{1,10})_([0-9]+)_([0-9]+)")

_NOT_BASE_CHARS = re.compile(r"[^a-z0-9]")
_URL_BREAKERS = "/?#%\\"
#: Reasons that are only warnings (the name works, but is unusual). Prefix of the reason text.
WARNING_PREFIX = "warning: "


def name_base(reseller_name: str) -> str:
    """`"José Peña-Águas"` -> `"josepenaag"`: accents folded, only `[a-z0-9]`, at most 10 chars."""
    decomposed = unicodedata.normalize("NFKD", reseller_name.lower())
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_BASE_CHARS.sub("", folded.lower())[:BASE_MAX_LEN] or DEFAULT_BASE


def name_prefix(reseller_name: str) -> str:
    """Prefix every instance name of this reseller starts with (`"fabio_"`)."""
    return name_base(reseller_name) + "_"


def instance_name(reseller_name: str, n: int, unix_ts: int) -> str:
    """The platform's name for connection number `n` created at `unix_ts`."""
    if n < 0 or unix_ts < 0:
        raise ValueError(f"n and unix_ts must be >= 0, got n={n}, unix_ts={unix_ts}")
    return f"{name_base(reseller_name)}_{int(n)}_{int(unix_ts)}"


def parse_instance_name(name: str) -> tuple[str, int, int] | None:
    """`"fabio_1_1761316665"` -> `("fabio", 1, 1761316665)`; None if not a platform name."""
    match = PLATFORM_NAME_RE.fullmatch(name)
    if match is None:
        return None
    return match[1], int(match[2]), int(match[3])


def unique_instance_name(
    reseller_name: str,
    n: int,
    unix_ts: int,
    taken: Collection[str],
    *,
    max_tries: int = 1000,
) -> str:
    """First of `instance_name(..., unix_ts + k)`, k = 0, 1, ... that is not taken.

    `taken` is compared case-insensitively: a name differing only in case from a taken one
    would be a case collision (and the same directory on a case-insensitive file system).
    Raises ValueError after `max_tries` candidates.
    """
    taken_lower = {name.lower() for name in taken}
    for k in range(max_tries):
        candidate = instance_name(reseller_name, n, unix_ts + k)
        if candidate.lower() not in taken_lower:
            return candidate
    raise ValueError(
        f"no free instance name for {reseller_name!r} #{n} in {max_tries} timestamps from {unix_ts}"
    )


def is_plain_name(name: str) -> bool:
    """Fast check: ASCII identifier characters only (`[A-Za-z0-9_]`), hence never suspicious."""
    return name.isascii() and name.isidentifier()


def suspicious_name_reasons(name: str) -> list[str]:
    """Short human-readable reasons why `name` is risky as an instance name ([] if none).

    Reasons starting with `WARNING_PREFIX` are warnings only (the name works in a URL when
    encoded, but is unusual for the platform).
    """
    if name == "":
        return ["empty name"]
    if is_plain_name(name):
        return []
    reasons: list[str] = []
    if name != name.strip():
        reasons.append("leading/trailing whitespace")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        reasons.append("control characters")
    if any(unicodedata.category(ch) == "Cf" for ch in name):
        reasons.append("invisible format characters")
    breakers = sorted({ch for ch in name if ch in _URL_BREAKERS})
    if any(ch.isspace() for ch in name.strip()):
        breakers.append("space")
    if breakers:
        reasons.append("breaks URLs: " + " ".join(breakers))
    if not name.isascii():
        reasons.append(WARNING_PREFIX + "non-ASCII characters")
    return reasons
