"""Tenant scope: `all` (admin) or `reseller:<id>`, and the errors of this layer's guards.

Scope and read-only are enforced here, in the service layer, so no caller (CLI, dashboard,
script) can get around them.
"""

from __future__ import annotations

from dataclasses import dataclass


class LifecycleError(Exception):
    """A refused or impossible operation, as one line."""


class ReadOnlyError(LifecycleError):
    def __init__(self, operation: str):
        super().__init__(f"read-only mode: {operation} is refused (no change was made)")


class ScopeError(LifecycleError):
    pass


@dataclass(frozen=True)
class Scope:
    """`reseller_id=None` is the admin scope over every tenant."""

    reseller_id: str | None = None

    def __post_init__(self) -> None:
        if self.reseller_id is not None and not self.reseller_id.strip():
            raise ScopeError("reseller id must not be empty")

    @classmethod
    def all(cls) -> Scope:
        return cls(None)

    @classmethod
    def reseller(cls, reseller_id: str) -> Scope:
        return cls(reseller_id)

    @property
    def is_all(self) -> bool:
        return self.reseller_id is None

    def __str__(self) -> str:
        return "all" if self.reseller_id is None else f"reseller:{self.reseller_id}"

    def owns(self, reseller_id: str | None) -> bool:
        """Whether a record of `reseller_id` is in this scope."""
        return self.is_all or reseller_id == self.reseller_id

    def allows(self, other: Scope) -> bool:
        """Whether an operation in `other` may run from a session in this scope."""
        return self.is_all or other.reseller_id == self.reseller_id

    def require(self, other: Scope) -> None:
        if not self.allows(other):
            raise ScopeError(f"scope {other} is outside this session's scope {self}")
