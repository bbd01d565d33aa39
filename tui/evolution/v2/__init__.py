"""The Evolution API v2 dialect, 2.3.x (contract: shared/evolution-api/v2-contract.md)."""

from tui.evolution.v2.wire import V2Wire

__all__ = ["V2Wire"]
