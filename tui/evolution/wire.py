"""What differs between the dialects, as one interface (`Wire`) each dialect package
implements: routes, request bodies, how answers are parsed into the models of `models.py`,
and the dialect's removal profile (`RemovalProfile`: how its deletes behave, which the
lifecycle's verified delete follows). The client (`client.py`) owns the transport, retries,
errors and detection, and asks its `Wire` for everything else; nothing above the client
knows which dialect it talks to.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum

from tui.evolution.dialect import Dialect
from tui.evolution.models import ConnectResult, CreateResult, Instance
from tui.evolution.parse import JSONValue


class ReservedCause(StrEnum):
    """Why a deleted name can stay held on a dialect (the words are the lifecycle's)."""

    ORPHAN_RERESERVES = "orphan"  # v1.8: the deleted instance's orphaned socket re-creates it
    CLEANUP_PENDING = "cleanup"  # v2: the server's asynchronous cleanup has not finished


@dataclass(frozen=True)
class RemovalProfile:
    """How a dialect's deletes behave (from its recordings), for the verified delete.

    `stop_dialing_first`: a dialing instance must be logged out (caught `connecting`) before
    its delete, or its orphaned socket re-reserves the name (v1.8, contract §11). v2 logs
    out by itself and its orphans never re-reserve (recorded: `delete_dialing_close`), so its
    targets are re-checked by a probe and deleted at once.
    `free_hold_s`: how long a name must stay absent after its first 404 to count as free.
    `refusal_retries`: a delete refused with a 400 other than "not connected" is retried
    (v2.3.7's zombie: the awaited logout of a dead socket fails the delete).
    `reserved_cause`: what a name still held after the verification window means.
    `retry_reserved`: a name still held after its window is deleted again (v1.8: an orphan
    re-reserved it). v2's held name is its own cleanup still running (the row cannot come
    back; the deleted instance even stays loaded, answering with a state, until the
    delete's event fan-out is over): a second delete does not help, so its first window is
    the whole budget, and a name still loaded or held at its end is stuck (cleanup pending).
    """

    stop_dialing_first: bool
    free_hold_s: float
    refusal_retries: bool
    reserved_cause: ReservedCause
    retry_reserved: bool
    list_shows_dialing: bool = True  # v2's list is the database column: never `connecting`


class DialectMismatch(Exception):
    """An answer has the other dialect's shape: the server was upgraded (or downgraded) in
    place, or detection guessed wrong. The client re-detects and asks again."""


class Wire(ABC):
    """One dialect's routes, bodies and parsers."""

    dialect: Dialect
    removal: RemovalProfile
    restart_method: str

    @abstractmethod
    def create_body(self, name: str, *, qrcode: bool, token: str | None, number: str | None,
                    integration: str | None) -> dict[str, JSONValue]:
        """The JSON body of `POST /instance/create`."""

    @abstractmethod
    def parse_instances(self, body: JSONValue) -> tuple[list[Instance], list[str]]:
        """A fetchInstances body -> (instances, problems). Raises `DialectMismatch` when the
        items have the other dialect's shape, `ParseError` when they have none."""

    @abstractmethod
    def parse_create(self, body: JSONValue, *, requested_name: str) -> CreateResult:
        """A create 201 body."""

    @abstractmethod
    def parse_connect(self, name: str, body: JSONValue) -> ConnectResult:
        """A connect 200 body."""

    def logout_was_noop(self, body: JSONValue) -> bool:
        """True when a 200 logout says the instance was not connected (2.4's "already
        disconnected"): the same answer as v1.8's / 2.3's 400 "not connected"."""
        return False
