"""What a run does to a target's records: remove them once the name is verified free, or
keep them and mark them with why (`evodash_last_error`, `evodash_marked_at`)."""

from __future__ import annotations

from datetime import UTC, datetime

from tui.lifecycle.domain import Step, StepOutcome
from tui.lifecycle.events import TargetResult
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.plans import Target
from tui.store.errors import StoreError, StoreUnreachableError


async def remove_records(frame: RunFrame, target: Target, result: TargetResult) -> str:
    """Remove the target's records (in the plan's scope); returns why no new target should
    start ("" if none): the store cannot take record changes any more."""
    stop = ""
    for record in target.records:
        try:
            removed = await frame.ctx.store.delete_record(
                target.name, reseller_id=frame.plan.scope.reseller_id, doc_id=record.doc_id)
        except StoreError as exc:
            result.record_error = f"record not removed: {exc}"
            result.records_kept += 1
            frame.emit(target.name, Step.RECORD, 1, StepOutcome.FAILED, str(exc))
            if isinstance(exc, StoreUnreachableError):
                stop = (f"the database is unreachable ({exc}): no new deletion started, "
                        "their records could not be removed")
            continue
        result.records_removed += removed
        frame.emit(target.name, Step.RECORD, 1, StepOutcome.OK if removed else StepOutcome.GONE,
                   "record removed" if removed else "record was already gone")
    return stop


async def mark_records(frame: RunFrame, target: Target, reason: str) -> None:
    """Keep the target's records and say why on each."""
    for record in target.records:
        try:
            marked_at = datetime.fromtimestamp(frame.ctx.now(), UTC).isoformat(
                timespec="seconds")
            await frame.ctx.store.mark_record(record.doc_id, evodash_last_error=reason,
                                              evodash_marked_at=marked_at)
            frame.emit(target.name, Step.MARK, 1, StepOutcome.OK, "record kept and marked")
        except StoreError as exc:
            frame.emit(target.name, Step.MARK, 1, StepOutcome.FAILED, str(exc))
