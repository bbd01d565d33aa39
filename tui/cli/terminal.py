"""The terminal going away (an SSH drop) must not stop evodash from finishing its work.

When the terminal hangs up, every write to it fails (EIO) and its input reads as an endless
end-of-file. Left alone that kills or stalls what runs on the way out: Textual's output
thread dies on the first failed write and the next 30 frames block the event loop that the
in-flight targets run on; its input thread spins; and Python's own flush of stdout/stderr at
exit fails, which turns the exit code into 120. So:

* `terminal_gone()` tells a hung-up terminal (EIO) from one that is there, or none at all;
* `detach_terminal()` points the hung-up descriptors at /dev/null (output) and at a pipe
  nobody writes to (input: never readable, so nothing spins); later writes and the final
  flush succeed, and go nowhere. A read already waiting on that pipe waits until
  `release_input()` closes it (at the end, before Textual joins its input thread);
* `HangupSafeStream` wraps the stream Textual draws on: the first failed write detaches
  the terminal, tells `on_gone` and drops the rest, so its output thread never dies
  (`hangup_safe_output()` installs it for the dashboard's lifetime).
"""

from __future__ import annotations

import errno
import os
import sys
import termios
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

_GONE = (errno.EIO, errno.ENXIO, errno.EPIPE, errno.ECONNRESET)
_quiet_input: list[int] = []  # write ends of the pipes now standing in for fd 0 (kept open)


def _hung_up(fd: int) -> bool:
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return bool(exc.args) and exc.args[0] in (errno.EIO, errno.ENXIO)
    except (OSError, ValueError):
        return False
    return False


def terminal_gone() -> bool:
    """True when stdin, stdout or stderr is a terminal that hung up."""
    return any(_hung_up(fd) for fd in (0, 1, 2))


def _to_null(fd: int) -> None:
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _to_quiet_pipe(fd: int) -> None:
    read_end, write_end = os.pipe()
    try:
        os.dup2(read_end, fd)
    finally:
        os.close(read_end)
    _quiet_input.append(write_end)


def detach_terminal() -> bool:
    """Point each hung-up standard descriptor elsewhere (see the module); True when one
    was. Safe from any thread, safe to call twice."""
    detached = False
    for fd in (0, 1, 2):
        if not _hung_up(fd):
            continue
        try:
            (_to_quiet_pipe if fd == 0 else _to_null)(fd)
            detached = True
        except OSError:
            pass
    return detached


def release_input() -> None:
    """End the input that `detach_terminal` put in place of a hung-up terminal: a reader
    gets end-of-file (so a thread waiting in a read can be joined)."""
    while _quiet_input:
        try:
            os.close(_quiet_input.pop())
        except OSError:
            pass


class HangupSafeStream:
    """A text stream that never raises on a terminal that went away (see the module)."""

    def __init__(self, stream: TextIO, on_gone: Callable[[], None] | None = None) -> None:
        self._stream = stream
        self.on_gone = on_gone
        self.gone = False

    def _failed(self, exc: OSError) -> None:
        if not (exc.errno in _GONE or isinstance(exc, BrokenPipeError)):
            raise exc
        self.gone = True
        try:
            _to_null(self._stream.fileno())  # its buffer's flush at exit now succeeds
        except (OSError, ValueError, AttributeError):
            pass
        detach_terminal()
        if self.on_gone is not None:
            self.on_gone()

    def write(self, text: str) -> int:
        if self.gone:
            return len(text)
        try:
            return self._stream.write(text)
        except OSError as exc:
            self._failed(exc)
            return len(text)
        except ValueError:  # closed
            self.gone = True
            return len(text)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._stream.flush()
        except OSError as exc:
            self._failed(exc)
        except ValueError:
            self.gone = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def hangup_safe_output(on_gone: Callable[[], None] | None = None
                       ) -> Iterator[HangupSafeStream | None]:
    """Textual draws on `sys.__stderr__`: make that stream hang-up safe while the dashboard
    runs (restored after); `on_gone` is told when the terminal went away."""
    original = sys.__stderr__
    if original is None:
        yield None
        return
    safe = HangupSafeStream(original, on_gone)
    sys.__stderr__ = safe  # type: ignore[misc,assignment]
    try:
        yield safe
    finally:
        sys.__stderr__ = original  # type: ignore[misc]
