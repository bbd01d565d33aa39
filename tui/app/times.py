"""Human times for the dashboard: a timestamp from a record (a `datetime`, an ISO string, or
the Unix seconds older evodash versions wrote) as `2025-10-24 12:34 UTC (3d ago)`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from tui.app.view import fmt_age

#: Unix seconds between 2001 and 2100: a number outside is not taken for a time.
_PLAUSIBLE = (978_307_200, 4_102_444_800)


def as_datetime(value: Any) -> datetime | None:
    """`value` as an aware datetime, or None when it is not a time."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if _PLAUSIBLE[0] <= value <= _PLAUSIBLE[1]:
            return datetime.fromtimestamp(value, UTC)
        return None
    if isinstance(value, str) and len(value) >= 10 and value[:4].isdigit():
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def human_time(value: Any, now: float | None = None) -> str | None:
    """`2025-10-24 12:34 UTC (3d ago)` (`in 5m` for a future one), or None: not a time."""
    moment = as_datetime(value)
    if moment is None:
        return None
    now = time.time() if now is None else now
    delta = now - moment.timestamp()
    when = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{when} ({fmt_age(delta)} ago)" if delta >= 0 else f"{when} (in {fmt_age(-delta)})"
