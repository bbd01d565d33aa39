"""What a run does to a target's records: remove them once the name is verified free, or
keep them and mark them with why (`evodash_last_error`, `evodash_marked_at`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from tui.lifecycle.domain import Step, StepOutcome
from tui.lifecycle.events import TargetResult
from tui.lifecycle.frame import RunFrame
from tui.lifecycle.plans import Target
from tui.store.errors import StoreError, StoreUnreachableError
from tui.store.models import RecordRemoval


#: Deletes one record of a target (its name, its doc id): what became of it.
DeleteOne = Callable[[str, str], Awaitable[RecordRemoval]]

_SAID = {RecordRemoval.REMOVED: (StepOutcome.OK, "record removed"),
         RecordRemoval.GONE: (StepOutcome.GONE, "record was already gone"),
         RecordRemoval.UNSURE: (StepOutcome.OK, "record gone (removed now, or by someone "
                                                "else just before)")}


async def remove_records(frame: RunFrame, target: Target, result: TargetResult,
                         delete: DeleteOne | None = None) -> str:
    """Remove the target's records (in the plan's scope); returns why no new target should
    start ("" if none): the store cannot take record changes any more. `delete`: how one
    record is deleted (a bulk run's shares round trips); by default on its own."""
    stop = ""
    delete = delete or _deleter(frame)
    for record in target.records:
        try:
            fate = await delete(target.name, record.doc_id)
            if fate is RecordRemoval.OUT_OF_SCOPE:
                raise StoreError(f"record {record.doc_id} of {target.name!r} was not removed: "
                                 "it no longer matches the scope it was planned in")
        except StoreError as exc:
            result.record_error = f"record not removed: {exc}"
            result.records_kept += 1
            frame.emit(target.name, Step.RECORD, 1, StepOutcome.FAILED, str(exc))
            if isinstance(exc, StoreUnreachableError):
                stop = (f"the database is unreachable ({exc}): no new deletion started, "
                        "their records could not be removed")
            continue
        result.records_removed += fate is not RecordRemoval.GONE
        outcome, words = _SAID[fate]
        frame.emit(target.name, Step.RECORD, 1, outcome, words)
    return stop


def _deleter(frame: RunFrame) -> DeleteOne:
    async def delete(name: str, doc_id: str) -> RecordRemoval:
        removed = await frame.ctx.store.delete_record(
            name, reseller_id=frame.plan.scope.reseller_id, doc_id=doc_id)
        return RecordRemoval.REMOVED if removed else RecordRemoval.GONE
    return delete


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
