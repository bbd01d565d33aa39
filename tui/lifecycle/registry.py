"""The table of operations: one line per operation module. Adding an operation is one new
module under `tui/lifecycle/ops/` (its request in `plans.py`) and one line here."""

from __future__ import annotations

from typing import Any

from tui.lifecycle.domain import OperationKind
from tui.lifecycle.operation import Operation
from tui.lifecycle.ops.adopt import Adopt
from tui.lifecycle.ops.clear_all import ClearAll
from tui.lifecycle.ops.create import Create
from tui.lifecycle.ops.delete import Delete
from tui.lifecycle.ops.forget import Forget
from tui.lifecycle.ops.pair import Pair
from tui.lifecycle.ops.reprovision import Reprovision
from tui.lifecycle.plans import Request
from tui.lifecycle.scope import LifecycleError

OPERATIONS: tuple[Operation[Any], ...] = (
    Delete(),
    ClearAll(),
    Forget(),
    Adopt(),
    Reprovision(),
    Create(),
    Pair(),
)

_BY_REQUEST: dict[type, Operation[Any]] = {op.request_type: op for op in OPERATIONS}
_BY_KIND: dict[OperationKind, Operation[Any]] = {op.kind: op for op in OPERATIONS}


def operation_for(request: Request) -> Operation[Any]:
    try:
        return _BY_REQUEST[type(request)]
    except KeyError:
        raise LifecycleError(f"unknown request {type(request).__name__}") from None


def operation(kind: OperationKind) -> Operation[Any]:
    return _BY_KIND[kind]
