"""Fault injection and request statistics of the simulator, plus the loopback check.

Owns: the `Faults` settings (latency, error/timeout/malformed by rate or by count, route
filter), the seeded draw that decides which fault hits a request, the `Stats` counters and
`is_loopback()` used to keep the `/_sim/` control API private. No aiohttp here.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import asdict, dataclass, field
from typing import Any

ROUTE_KEYS = (
    "root", "create", "connect", "connectionState", "fetchInstances", "restart", "logout", "delete",
    "setPresence",
)
# options handled by SimState (reserved-name behaviours, key rotation), not by Faults
STATE_OPTIONS = ("cleanup_lag_ms", "reconnect_loop", "api_key", "offline", "dial_cost_ms",
                 "connecting_share", "orphan_outcome", "qr_rotate_s")

TIMEOUT, ERROR, MALFORMED = "timeout", "error", "malformed"
MALFORMED_BODY = b"<html><body>Bad Gateway</body></html>"


@dataclass
class Faults:
    latency_ms: float = 0
    error_rate: float = 0
    error_status: int = 500
    error_count: int = 0
    timeout_rate: float = 0
    timeout_count: int = 0
    hang_s: float = 30
    malformed_rate: float = 0
    malformed_count: int = 0
    routes: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def merge(self, options: dict[str, Any], route_keys: tuple[str, ...] = ROUTE_KEYS) -> None:
        """Validate and apply `options` (only Faults fields); raises ValueError. `route_keys`:
        the routes of the server's dialect (`routes` must name some of them)."""
        for key, value in options.items():
            if key in ("error_rate", "timeout_rate", "malformed_rate"):
                value = _number(key, value)
                if not 0 <= value <= 1:
                    raise ValueError(f"{key} must be between 0 and 1")
            elif key in ("error_count", "timeout_count", "malformed_count", "error_status"):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{key} must be a non-negative integer")
                if key == "error_status" and not 400 <= value <= 599:
                    raise ValueError("error_status must be a 4xx or 5xx code")
            elif key in ("latency_ms", "hang_s"):
                value = _number(key, value)
                if value < 0:
                    raise ValueError(f"{key} must be >= 0")
            elif key == "routes":
                if value is not None:
                    if not isinstance(value, list) or any(r not in route_keys for r in value):
                        raise ValueError(f"routes must be a list of: {', '.join(route_keys)}")
                    value = list(value)
            else:
                raise ValueError(f"unknown fault option {key!r}")
            setattr(self, key, value)

    def draw(self, route: str, rng: random.Random) -> str | None:
        """Which fault (if any) hits this request; counts are consumed first, then rates."""
        if self.routes is not None and route not in self.routes:
            return None
        for kind in (TIMEOUT, ERROR, MALFORMED):
            count = getattr(self, f"{kind}_count")
            if count > 0:
                setattr(self, f"{kind}_count", count - 1)
                return kind
        for kind in (TIMEOUT, ERROR, MALFORMED):
            rate = getattr(self, f"{kind}_rate")
            if rate > 0 and rng.random() < rate:
                return kind
        return None


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{key} must be a number")
    return value


@dataclass
class Stats:
    requests: dict[str, int] = field(default_factory=dict)
    total: int = 0
    bytes_out: int = 0

    def count(self, route: str) -> None:
        self.requests[route] = self.requests.get(route, 0) + 1
        self.total += 1

    def as_dict(self) -> dict[str, Any]:
        return {"requests": dict(self.requests), "total": self.total, "bytes_out": self.bytes_out}


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (`::ffff:127.0.0.1`)."""
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback
