"""Pydantic models of the platform's MongoDB documents, and the snapshot of a load.

A connection record is the database half of a WhatsApp connection; its `instance_name`
must match an Evolution instance. Unknown extra fields are kept in `extra`.
`StoreSnapshot` is what one `ConnectionStore.load()` returns; it lives here, with no motor
import, so that code depending on the store's results need not depend on the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RecordRemoval(StrEnum):
    """What a delete of one planned record came to (`ConnectionStore.delete_records`)."""

    REMOVED = "removed"  # deleted by this call
    GONE = "gone"  # was already gone
    # gone, but whether by this call or before it cannot be told: a delete of several
    # records counts them only together, and fewer went than were gone
    UNSURE = "unsure"
    OUT_OF_SCOPE = "out_of_scope"  # still there: it no longer matches the planned scope


class ConnectionRecord(BaseModel):
    """One document of the connections collection."""

    model_config = ConfigDict(frozen=True)

    doc_id: str  # str(_id): identifies the document even when `id` is missing or duplicated
    id: str | None = None
    reseller_id: str | None = None
    instance_name: str
    phone_number: str | None = None
    status: str | None = None
    daily_limit: int | None = None
    created_at: datetime | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


class Reseller(BaseModel):
    """One document of the resellers collection."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str = ""


class InvalidRow(BaseModel):
    """A connections document that cannot be used (missing or non-string `instance_name`)."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    reason: str
    reseller_id: str | None = None


@dataclass(frozen=True)
class StoreSnapshot:
    """Everything the dashboard shows from MongoDB, read in one go."""

    records: list[ConnectionRecord] = field(default_factory=list)
    invalid: list[InvalidRow] = field(default_factory=list)
    resellers: list[Reseller] = field(default_factory=list)
