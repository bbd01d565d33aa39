"""The exit codes of `evodash`, in one module that imports nothing of the CLI (so `main`,
`commands`, `doctor` and `dashboard` share them without importing each other):
0 success / consistent, 1 drift found or some targets not removed, 2 usage / settings /
connection, 128 + N when signal N (SIGINT, SIGTERM, SIGHUP) stopped a run.
"""

from __future__ import annotations

import signal
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    DRIFT = 1
    ERROR = 2


EXIT_OK = ExitCode.OK
EXIT_DRIFT = ExitCode.DRIFT
EXIT_ERROR = ExitCode.ERROR


def signal_exit(signum: int | signal.Signals) -> int:
    """The exit code of a run stopped by signal `signum`: 128 + its number (the shell's)."""
    return 128 + int(signum)
