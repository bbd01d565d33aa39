"""What the dashboard shows about its session before any data arrives (`DashboardInfo`).

Built by `tui/cli/dashboard.py` from the settings and the command line; the app never reads
settings itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DashboardInfo:
    """Static facts of one dashboard session."""

    evolution_host: str  # host[:port] of the Evolution URL (never the API key)
    database: str  # MongoDB database name (never the URI: it may carry a password)
    scope_label: str  # "all resellers", or the reseller id until its name is known
    refresh_s: float = 5.0
    read_only: bool = False
    admin: bool = True  # the session's scope is every reseller
    notes: tuple[str, ...] = ()  # first lines of the progress log (e.g. where the demo lives)
