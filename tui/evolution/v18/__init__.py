"""The Evolution API v1.8 dialect (contract: shared/evolution-api/v1.8-contract.md)."""

from tui.evolution.v18.wire import V18Wire

__all__ = ["V18Wire"]
