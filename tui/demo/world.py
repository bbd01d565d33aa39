"""Where the demo's world lives between commands, and who may use it now.

`evodash --demo` keeps one world - the simulator's instances (`simulator.json`), the
database (`mongo/`, nx-27017's SQLite files), the audit log and `first-seen.json` - in a
directory: `$EVODASH_DEMO_DIR`, else `$XDG_STATE_HOME/evodash/demo`, else
`~/.local/state/evodash/demo`. `evodash --demo delete X` then `evodash --demo report` no
longer shows X; `--demo-reset` starts a fresh, seeded world.

The v2 demo (`--demo --dialect v2`) keeps a world of its own in the `v2/` folder of that
directory: the two dialects' worlds never mix (a v2 simulator never loads a v1.8 state file),
each is reset on its own (`--demo-reset --dialect v2` leaves the v1.8 one alone), and each
has its own lock.

One demo command at a time: each holds an exclusive lock (`lock`, `flock`) from before its
servers start until after they stopped; a second one is refused with one line naming the
holder. The lock dies with its process, so a killed command never blocks the next one.
`world.json` is written once the world is completely seeded: a world without it (a seed
that was interrupted, or a format this evodash does not know) is started afresh.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from tui.evolution.dialect import Dialect
from tui.settings import SettingsError

DEMO_DIR_ENV = "EVODASH_DEMO_DIR"
FORMAT = 1
V2_FOLDER = "v2"  # the v2 demo's world, inside the v1.8 one's directory


class DemoBusy(SettingsError):
    """Another evodash holds the demo world (one line, exit 2)."""


def demo_dir() -> Path:
    """The demo world's directory (see the module)."""
    explicit = os.environ.get(DEMO_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME")
    base = Path(state) if state and os.path.isabs(state) else Path.home() / ".local" / "state"
    return base / "evodash" / "demo"


def shown_path(path: Path) -> str:
    """`path` with the home directory as `~` (what the operator would type)."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


class DemoWorld:
    """The demo world's directory: its files, its lock, whether it is seeded."""

    def __init__(self, path: Path | None = None, dialect: Dialect = Dialect.V1_8) -> None:
        base = path or demo_dir()
        self.dialect = dialect
        self.path = base / V2_FOLDER if dialect is Dialect.V2 else base
        self._lock_fd: int | None = None

    # ------------------------------------------------------------------ files
    @property
    def simulator_file(self) -> Path:
        return self.path / "simulator.json"

    @property
    def mongo_dir(self) -> Path:
        return self.path / "mongo"

    @property
    def audit_log(self) -> Path:
        return self.path / "audit.jsonl"

    @property
    def first_seen(self) -> Path:
        return self.path / "first-seen.json"

    @property
    def _marker(self) -> Path:
        return self.path / "world.json"

    @property
    def _server_pid(self) -> Path:
        return self.path / "mongo.pid"

    @property
    def seeded(self) -> bool:
        """A completely seeded world of this format and this dialect (a world written
        before dialects were kept says none: it is v1.8's)."""
        try:
            marker = json.loads(self._marker.read_text())
            return marker.get("format") == FORMAT and \
                marker.get("dialect", Dialect.V1_8.value) == self.dialect.value
        except (OSError, ValueError, AttributeError):
            return False

    def mark_seeded(self, seed: int) -> None:
        self._marker.write_text(json.dumps({
            "format": FORMAT, "seed": seed, "dialect": self.dialect.value,
            "created": datetime.now(UTC).isoformat(timespec="seconds")}) + "\n")

    def wipe(self) -> None:
        """Remove the world (not the lock, nor the other dialect's world inside the v1.8
        one's directory): the next start seeds a fresh one."""
        keep = {"lock"} | ({V2_FOLDER} if self.dialect is Dialect.V1_8 else set())
        for child in self.path.iterdir():
            if child.name in keep:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)

    # ------------------------------------------------------------------ the lock
    def acquire(self) -> None:
        """Take the world for this process, or raise `DemoBusy` (one line)."""
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SettingsError(f"demo world {shown_path(self.path)}: cannot be used: "
                                f"{exc.strerror or exc} (set {DEMO_DIR_ENV} to another "
                                "directory)") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 300).decode(errors="replace").strip() or "another evodash"
            os.close(fd)
            raise DemoBusy(f"the demo world {shown_path(self.path)} is in use by {holder}: "
                           "one demo command at a time (wait for it to end, or set "
                           f"{DEMO_DIR_ENV} to use another world)") from None
        command = " ".join(["evodash", *sys.argv[1:]])[:200]
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} ({command})\n".encode(), 0)
        self._lock_fd = fd
        self._stop_stale_server()

    def release(self) -> None:
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            os.close(fd)  # closing the descriptor releases the flock

    # ------------------------------------------------------------------ its database server
    def note_server(self, pid: int | None) -> None:
        """Remember the pid of this run's database server (None: it stopped)."""
        if pid is None:
            self._server_pid.unlink(missing_ok=True)
        else:
            self._server_pid.write_text(f"{pid}\n")

    def _stop_stale_server(self) -> None:
        """A database server a killed run left behind on this world (where the kernel could
        not stop it with its parent) would hold its files: stop it first."""
        try:
            pid = int(self._server_pid.read_text().split()[0])
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError, IndexError):
            self._server_pid.unlink(missing_ok=True)
            return
        if str(self.mongo_dir).encode() in cmdline and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        self._server_pid.unlink(missing_ok=True)
