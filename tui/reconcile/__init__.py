"""Reconciliation: pure functions that classify how Evolution and the database disagree.

`naming` owns the instance naming rules, `models` the result types, `classify` the
classification (`reconcile`) and tenant filtering (`scope`). No I/O, no asyncio, no Textual.
"""

from tui.reconcile.classify import owner_ids, reconcile, same_phone, scope
from tui.reconcile.models import (
    CaseCollision,
    Counts,
    DuplicateName,
    LinkedRow,
    OrphanInstanceRow,
    OrphanProbe,
    OrphanRecordRow,
    Reconciliation,
    Row,
)
from tui.reconcile.naming import (
    instance_name,
    name_base,
    name_prefix,
    parse_instance_name,
    suspicious_name_reasons,
    unique_instance_name,
)

__all__ = [
    "CaseCollision", "Counts", "DuplicateName", "LinkedRow", "OrphanInstanceRow",
    "OrphanProbe", "OrphanRecordRow", "Reconciliation", "Row",
    "instance_name", "name_base", "name_prefix", "owner_ids", "parse_instance_name",
    "reconcile", "same_phone", "scope", "suspicious_name_reasons", "unique_instance_name",
]
