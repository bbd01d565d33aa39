"""The lifecycle's advice (`tui.lifecycle.advice`) as commands to copy: each repair command
and each hint is given with the options of this session that it needs to do the same thing
(`--demo`, `--dialect`, `--settings PATH`, and for a repair in a reseller's session
`--reseller ID`), so what `report` or a `--dry-run` prints can be pasted as it is.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from tui.lifecycle.advice import include_hint, repairs
from tui.lifecycle.domain import OperationKind, Skip
from tui.reconcile.models import Row

_HEAD = "evodash "
# `VAR=value ` words before a command (a value may be a `<placeholder with spaces>`)
_ENV_WORDS = re.compile(r"(?:[A-Za-z_][A-Za-z0-9_]*=(?:<[^>]*>|\S+) +)*")


class Advisor:
    """Repairs and hints in the words of this session's command line."""

    def __init__(self, *, demo: bool = False, settings: str | None = None,
                 reseller_id: str | None = None, dialect: str | None = None) -> None:
        words = ["evodash"]
        if demo:
            words.append("--demo")
        if dialect:  # the v2 demo, or the dialect that overrides the setting
            words += ["--dialect", shlex.quote(dialect)]
        if settings:
            words += ["--settings", shlex.quote(settings)]
        self.prefix = " ".join(words)
        self.reseller_id = reseller_id

    @classmethod
    def of(cls, args: Any, reseller_id: str | None) -> Advisor:
        return cls(demo=bool(getattr(args, "demo", False)),
                   settings=getattr(args, "settings", None), reseller_id=reseller_id,
                   dialect=getattr(args, "dialect", None))

    def command(self, command: str) -> str:
        """An `evodash ...` repair command (after any `VAR=value` words, e.g. the URL of
        another server) with this session's options (its scope too, unless the command
        names a reseller of its own)."""
        env, head, rest = command.partition(_HEAD)
        if not head or not _ENV_WORDS.fullmatch(env):
            return command
        prefix = self.prefix
        if self.reseller_id is not None and " --reseller " not in command:
            prefix += f" --reseller {shlex.quote(self.reseller_id)}"
        return f"{env}{prefix} {rest}"

    def text(self, text: str) -> str:
        """A hint whose `evodash ...` commands get this session's options (not its scope: a
        hint may be to leave it)."""
        return text.replace(_HEAD, self.prefix + " ") if self.prefix != "evodash" else text

    def repairs(self, row: Row) -> list[dict[str, str]]:
        """The commands that repair `row`, most usual first: `{"command", "why"}`."""
        return [{"command": self.command(a.command), "why": self.text(a.why)}
                for a in repairs(row)]

    def hint(self, skip: Skip | None, operation: str, name: str) -> str:
        """How to include a skipped target ("" when there is no way, or no need)."""
        if skip is None:
            return ""
        try:
            kind = OperationKind(operation)
        except ValueError:
            return ""
        return self.text(include_hint(skip, kind, name))
