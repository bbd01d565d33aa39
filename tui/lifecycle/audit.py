"""The audit log: one JSON line per mutating operation (time, OS user, SSH client address,
operation, scope, targets, outcomes). Never secrets: tokens and URIs are not part of what an
operation reports, and free text is scrubbed of the known secrets before it is written.
"""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui.lifecycle.events import Summary
from tui.secrets import scrub


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return str(os.getuid())


class AuditLog:
    """Appends JSON lines to a file, creating its folder (mode 700) on first use."""

    def __init__(self, path: Path | str | None, secrets: list[str | None] | None = None):
        self.path = Path(path).expanduser() if path else None
        self._secrets = secrets or []

    def record(self, summary: Summary, **fields: Any) -> None:
        if self.path is None:
            return
        ssh = os.environ.get("SSH_CLIENT", "").split()
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "user": _os_user(),
            "ssh_client": ssh[0] if ssh else None,
            "operation": summary.operation,
            "scope": summary.scope,
            "dry_run": summary.dry_run,
            "cancelled": summary.cancelled,
            "targets": [t.name for t in summary.targets],
            "outcomes": {t.name: t.outcome.value for t in summary.targets},
            "stats": summary.stats(),
            **fields,
        }
        line = scrub(json.dumps(entry, ensure_ascii=False, default=str), self._secrets)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
