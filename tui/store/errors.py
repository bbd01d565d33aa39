"""Typed errors of the connection store and the mapping from pymongo's exceptions.

Every error has a one-line `str()` that names the problem and never contains the URI's
password (the whole text is scrubbed before it is stored). `transient` errors (server down,
connection lost, timeouts) may succeed on retry; the others will not.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from bson.errors import BSONError
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConfigurationError,
    DuplicateKeyError,
    ExecutionTimeout,
    InvalidURI,
    NetworkTimeout,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
    WriteError,
)

from tui.secrets import mask_uri

_MAX_LEN = 240
AUTH_FAILED = 18
UNAUTHORIZED = 13


class StoreError(Exception):
    """Base of every connection-store error."""

    transient: bool = False

    def __init__(self, message: str):
        text = " ".join(str(message).split())
        if len(text) > _MAX_LEN:
            text = text[: _MAX_LEN - 1] + "…"
        super().__init__(text)
        self.message = text

    def __str__(self) -> str:
        return self.message


class StoreUnreachableError(StoreError):
    """No server answered within the timeout (refused, unknown host, timed out, DNS)."""

    transient = True


class StoreConnectionLostError(StoreUnreachableError):
    """A server that was reachable dropped the connection or stopped answering mid-operation."""


class InvalidStoreURIError(StoreError):
    """The MongoDB URI (or a client option) cannot be parsed."""


class StoreAuthError(StoreError):
    """Authentication failed (code 18) or the user lacks a privilege (code 13)."""


class StoreWriteError(StoreError):
    """A write was rejected (duplicate key, validation, ...)."""


class StoreScopeError(StoreError, ValueError):
    """A call did not state a valid tenant scope (e.g. an empty reseller_id)."""


# -- URI helpers ---------------------------------------------------------------------------
def _userinfo(uri: str) -> tuple[str, str]:
    """(user, password) of a ``scheme://user:pass@hosts/...`` URI, unquoted; '' when absent."""
    rest = uri.split("://", 1)[-1]
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    if "@" not in netloc:
        return "", ""
    userinfo = netloc.rpartition("@")[0]
    user, _, password = userinfo.partition(":")
    return unquote(user), password


def uri_hosts(uri: str) -> str:
    """The host list of a URI, without credentials: ``h1:27017,h2``."""
    rest = uri.split("://", 1)[-1]
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    return netloc.rpartition("@")[2] or "?"


def scrub_uri_secret(text: str, uri: str) -> str:
    """Remove the URI's password (raw and unquoted) and mask any URI embedded in ``text``."""
    _, password = _userinfo(uri)
    for secret in {password, unquote(password)}:
        if secret:
            text = text.replace(secret, "****")
    return re.sub(r"mongodb(?:\+srv)?://\S+", lambda m: mask_uri(m.group(0)), text)


# -- pymongo mapping -------------------------------------------------------------------------
_SERVER_ERROR = re.compile(r"([^\s,]+:\d+): (?:\[Errno -?\d+\] )?(.+?) \(configured timeouts")
_REASONS = {
    "name or service not known": "unknown host",
    "nodename nor servname provided, or not known": "unknown host",
    "temporary failure in name resolution": "unknown host",
    "no address associated with hostname": "unknown host",
}


def _reason(text: str) -> str:
    reason = text.strip().rstrip(".").lower()
    return _REASONS.get(reason, reason)


def _selection_message(exc: ServerSelectionTimeoutError, hosts: str) -> str:
    found = _SERVER_ERROR.findall(str(exc))
    if found:
        reasons = sorted({_reason(reason) for _, reason in found})
        return f"cannot reach MongoDB at {hosts}: {'; '.join(reasons)}"
    first = str(exc).split(", Timeout:", 1)[0].split("Topology Description", 1)[0]
    return f"cannot reach MongoDB at {hosts}: {first.strip().rstrip(',') or 'no server answered'}"


def _op_message(exc: OperationFailure) -> str:
    details = exc.details or {}
    text = details.get("errmsg") if isinstance(details, dict) else None
    return str(text or exc).strip()


def from_pymongo(exc: BaseException, *, uri: str, action: str = "") -> StoreError:
    """Translate a pymongo (or URI-parsing) exception into a one-line :class:`StoreError`."""
    hosts = uri_hosts(uri)
    user, _ = _userinfo(uri)
    during = f" while {action}" if action else ""
    error: StoreError
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, ServerSelectionTimeoutError):
        error = StoreUnreachableError(_selection_message(exc, hosts))
    elif isinstance(exc, NetworkTimeout | ExecutionTimeout):
        error = StoreConnectionLostError(f"MongoDB at {hosts} did not answer in time{during}")
    elif isinstance(exc, AutoReconnect):
        reason = _reason(str(exc).split(" (configured timeouts", 1)[0].split(": ", 1)[-1])
        error = StoreConnectionLostError(f"lost connection to MongoDB at {hosts}{during}: {reason}")
    elif isinstance(exc, InvalidURI | ValueError | TypeError):
        error = InvalidStoreURIError(f"invalid MongoDB URI: {exc}")
    elif isinstance(exc, ConfigurationError):
        if "DNS" in str(exc):
            error = StoreUnreachableError(f"cannot resolve MongoDB host {hosts}: {exc}")
        else:
            error = InvalidStoreURIError(f"invalid MongoDB URI: {exc}")
    elif isinstance(exc, DuplicateKeyError):
        error = StoreWriteError(f"MongoDB write failed{during}: duplicate key")
    elif isinstance(exc, BulkWriteError | WriteError):
        error = StoreWriteError(f"MongoDB write failed{during}: {_op_message(exc)}")
    elif isinstance(exc, OperationFailure) and exc.code == AUTH_FAILED:
        who = f" for user {user}" if user else ""
        error = StoreAuthError(f"MongoDB rejected the credentials{who}")
    elif isinstance(exc, OperationFailure) and exc.code == UNAUTHORIZED:
        who = f"user {user}" if user else "this connection"
        error = StoreAuthError(f"MongoDB did not authorize {who}{during}: {_op_message(exc)}")
    elif isinstance(exc, OperationFailure):
        error = StoreError(f"MongoDB error{during}: {_op_message(exc)} (code {exc.code})")
    elif isinstance(exc, BSONError):
        error = StoreWriteError(f"MongoDB cannot store the document{during}: {exc}")
    elif isinstance(exc, PyMongoError):
        error = StoreError(f"MongoDB error{during}: {exc}")
    else:
        error = StoreError(f"unexpected error{during}: {type(exc).__name__}: {exc}")
    error.message = scrub_uri_secret(error.message, uri)
    error.args = (error.message,)
    return error
