"""The audit log, written ahead: what evodash is about to do is on disk before it does it.

One JSON line per event, each written (`write`, in the page cache) before the call returns:

* `start`   - an operation begins: its id, who (OS user, SSH client address), scope, targets;
* `intent`  - right before a target's first mutation (its steps, what the plan knew);
* `outcome` - right after that target ended (outcome, reason, records removed / kept), also
              when it was interrupted (the last step that was reported);
* `summary` - the operation ended (the statistics; `cancelled`, notes).

So a kill at any moment leaves a log that says exactly what was started and what finished.
Synced to disk (`fdatasync`, which a crash of the machine needs): `start`, `summary` and
`intent` before the call returns - `append_intent` + `durable`, the bulk run's, with one sync on the event
loop's next turn for every line appended until then (a group commit: measured, a sync per
line cost a clear-all of 500 about 0.25 s; a sync in a thread made each intent wait 10 ms
for the thread under load) -, and an `outcome` with the
next of those (the summary's at the latest: nothing of a run is left unsynced at its end).
When the log cannot be written (a directory in its place, a read-only file system, a full
disk) `AuditError` is raised and the caller starts no mutation. Never secrets: free text is
scrubbed of the known secrets before it is written.
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.lifecycle.events import Summary, TargetResult
from tui.lifecycle.scope import LifecycleError
from tui.secrets import scrub


def _sync(fd: int) -> None:
    """The appended line on disk: `fdatasync` where there is one (the data and the file
    size, which is all an append needs to be read back after a crash), else `fsync`."""
    (getattr(os, "fdatasync", None) or os.fsync)(fd)


def _retrieved(future: asyncio.Future[None]) -> None:
    """(A sync's failure is its waiters'; with none left it is not an unretrieved error.)"""
    if not future.cancelled():
        future.exception()


class AuditError(LifecycleError):
    """The audit log cannot be written: no mutation may start."""


@functools.cache
def _os_user() -> str:  # (asked once per process: getpwuid per line cost a clear-all 0.3 s)
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return str(os.getuid())


class AuditLog:
    """Appends JSON lines to a file (folder created with mode 700, file 600); `None`: off."""

    def __init__(self, path: Path | str | None, secrets: list[str | None] | None = None):
        self.path = Path(path).expanduser() if path else None
        self._secrets = secrets or []
        self._folder_made = False  # the folder is made once (again if it disappears)
        self._appended = 0  # lines written so far
        self._synced = 0  # of which on disk
        self._syncing: asyncio.Future[None] | None = None  # the group sync in flight

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def _write(self, entry: dict[str, Any]) -> None:
        """Append the line and sync everything appended so far."""
        self._append(entry)
        self._sync_upto(self._appended)

    def _append(self, entry: dict[str, Any]) -> None:
        if self.path is None:
            return
        line = scrub(json.dumps(entry, ensure_ascii=False, default=str), self._secrets)
        try:
            fd = self._open()
            try:
                data = (line + "\n").encode("utf-8")
                written = os.write(fd, data)
                if written != len(data):
                    raise OSError(28, "short write (disk full?)")
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._error(exc) from None
        self._appended += 1

    def _error(self, exc: OSError) -> AuditError:
        return AuditError(f"audit log {self.path} cannot be written: "
                          f"{exc.strerror or exc}; no change was made")

    def _sync_upto(self, upto: int) -> None:
        """The lines appended up to number `upto` on disk (any fd of the file syncs them)."""
        if self.path is None or self._synced >= upto:
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                _sync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise self._error(exc) from None
        self._synced = max(self._synced, upto)

    async def durable(self) -> None:
        """Everything appended so far on disk: one sync, on the event loop's next turn, for
        every line appended until then (a group commit; the waiters of later lines wait for
        the next one)."""
        if self._synced >= self._appended:
            return
        if self._syncing is None or self._syncing.done():
            loop = asyncio.get_running_loop()
            self._syncing = loop.create_future()
            self._syncing.add_done_callback(_retrieved)
            loop.call_soon(self._sync_pending, self._syncing)
        await asyncio.shield(self._syncing)

    def _sync_pending(self, done: asyncio.Future[None]) -> None:
        try:
            self._sync_upto(self._appended)
        except AuditError as exc:
            done.set_exception(exc)
        else:
            done.set_result(None)

    def _open(self) -> int:
        """The log opened for appending; its folder made first (once: a stat and a mkdir
        per line were a measurable part of a bulk run), and again if it disappeared."""
        assert self.path is not None
        if not self._folder_made:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._folder_made = True
        try:
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except FileNotFoundError:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def check(self) -> None:
        """Raise `AuditError` unless the log can be appended to (writes nothing)."""
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as exc:
            raise AuditError(f"audit log {self.path} cannot be written: "
                             f"{exc.strerror or exc}") from None

    @staticmethod
    def _who() -> dict[str, Any]:
        ssh = os.environ.get("SSH_CLIENT", "").split()
        return {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "user": _os_user(), "ssh_client": ssh[0] if ssh else None}

    def start(self, op_id: str, operation: str, scope: str, targets: list[str]) -> None:
        self._write({"event": "start", **self._who(), "op_id": op_id, "operation": operation,
                     "scope": scope, "targets": targets})

    def intent(self, op_id: str, operation: str, target: str, steps: str) -> None:
        self._write(self._intent(op_id, operation, target, steps))

    def append_intent(self, op_id: str, operation: str, target: str, steps: str) -> None:
        """`intent`, written but not yet synced: `durable` syncs it (the bulk run's, with the
        other lines of the moment)."""
        self._append(self._intent(op_id, operation, target, steps))

    def _intent(self, op_id: str, operation: str, target: str, steps: str) -> dict[str, Any]:
        return {"event": "intent", **self._who(), "op_id": op_id, "operation": operation,
                "target": target, "steps": steps}

    def outcome(self, op_id: str, operation: str, result: TargetResult, *,
                interrupted_after: str = "") -> None:
        entry = {"event": "outcome", **self._who(), "op_id": op_id, "operation": operation,
                 "target": result.name, "outcome": result.outcome.value,
                 "reason": result.reason, "records_removed": result.records_removed,
                 "records_kept": result.records_kept}
        if result.record_error:
            entry["record_error"] = result.record_error
        if interrupted_after:
            entry["interrupted_after"] = interrupted_after
        self._append(entry)  # synced with the next intent or the summary

    def record(self, summary: Summary, op_id: str | None = None, **fields: Any) -> None:
        """The `summary` line of an operation."""
        self._write({
            "event": "summary",
            **self._who(),
            "op_id": op_id,
            "operation": summary.operation,
            "scope": summary.scope,
            "dry_run": summary.dry_run,
            "cancelled": summary.cancelled,
            "targets": [t.name for t in summary.targets],
            "outcomes": {t.name: t.outcome.value for t in summary.targets},
            "stats": summary.stats(),
            **fields,
        })
