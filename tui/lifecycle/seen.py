"""How old an orphan instance is, so that bulk operations leave young ones alone.

The platform creates an instance and inserts its record a moment later: in between, the new
instance looks like an orphan. A bulk operation never deletes an orphan instance younger
than the grace period (`cleanup.orphan_grace_s`). Its age comes from the Unix timestamp in
its name when it follows the platform's naming (`<base>_<n>_<unix-ts>`), else from when
evodash first saw it listed - kept in a small JSON file beside the audit log, so that the
CLI, run after run, and the dashboard share it (`None`: in memory only, as in tests).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tui.lifecycle.domain import Skip, SkipCause
from tui.reconcile.naming import parse_instance_name

KEEP_S = 30 * 24 * 3600  # sightings older than this are dropped from the file


class FirstSeen:
    def __init__(self, path: Path | str | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.path = Path(path).expanduser() if path else None
        self.now = now
        self._seen: dict[str, float] = {}
        self._loaded = False
        self._dirty = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.path is None:
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # missing or unreadable: start afresh (names look young: the safe side)
        if isinstance(data, dict):
            self._seen = {str(k): float(v) for k, v in data.items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)}

    def note(self, names: Iterable[str]) -> None:
        """Names listed now: remember when each was first seen."""
        self._load()
        now = self.now()
        for name in names:
            if name not in self._seen:
                self._seen[name] = now
                self._dirty = True
        if self._dirty:
            self._save()

    def created_at(self, name: str) -> tuple[float, str]:
        """(unix time, how it is known): from the name's timestamp, else first seen."""
        parsed = parse_instance_name(name)
        now = self.now()
        if parsed is not None and 0 < parsed[2] <= now + 60:
            return float(parsed[2]), "its name's timestamp"
        self._load()
        return self._seen.get(name, now), "first seen by evodash"

    def age_s(self, name: str) -> tuple[float, str]:
        at, how = self.created_at(name)
        return max(0.0, self.now() - at), how

    def _save(self) -> None:
        self._dirty = False
        if self.path is None:
            return
        cutoff = self.now() - KEEP_S
        self._seen = {k: v for k, v in self._seen.items() if v >= cutoff}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = self.path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(self._seen, handle)
            os.replace(tmp, self.path)
        except OSError:
            pass  # not fatal: unknown names then look young (skipped), never old


def human_duration(seconds: float) -> str:
    """`42 s`, `7 min`, `3 h`, `2 d`."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def young_orphan(first_seen: FirstSeen, grace_s: float, name: str) -> Skip | None:
    """An orphan instance seen for less than the grace (the platform may still be inserting
    its record): left alone by bulk operations."""
    if grace_s <= 0:
        return None
    age, how = first_seen.age_s(name)
    if age >= grace_s:
        return None
    return Skip(SkipCause.YOUNG_ORPHAN, age_s=age, age_source=how, grace_s=grace_s)
