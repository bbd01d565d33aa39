"""Start and stop a local nx-27017 MongoDB-wire server (pure Python over SQLite).

Owns one subprocess per :class:`MongoWireServer`: a free loopback port, a private temp dir
for its log and pid files (the defaults in /tmp are shared and clash), readiness polling
with ``ping``, and a clean stop. Used by the test fixtures, ``evodash --demo`` and the
benchmarks. Synchronous on purpose: callers are fixtures and start-up code.

With ``own_session`` the server runs in a session of its own: the signals a terminal sends
to its foreground process group (Ctrl+C's SIGINT, an SSH drop's SIGHUP) reach the program
that started it, never the database under it - that program decides when the database stops
(``stop``), after its last in-flight write (``evodash --demo``). Then pass ``die_with_parent``
too (Linux): the server is sent SIGTERM when the thread that started it ends (its process
was killed, even with SIGKILL), so an own-session server is never left behind. Without
them (tests, benchmarks) it is a plain child in the caller's process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

_EXECUTABLE = "nx-27017"
# Runs the server with PR_SET_PDEATHSIG = SIGTERM (kept across exec): a launcher, because a
# `preexec_fn` is unsafe in a process with threads. argv: parent pid, then the server's argv.
_DIE_WITH_PARENT = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"  # 1 = PR_SET_PDEATHSIG
    "if os.getppid() != int(sys.argv[1]):\n"
    "    sys.exit(0)\n"  # the parent died before prctl: nobody wants this server any more
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)
_MODULE = "nx_27017.nx_27017"  # has an `if __name__ == "__main__": main()` guard


class WireServerError(RuntimeError):
    """The nx-27017 server could not be started."""


class _Exited(Exception):
    """Internal: the server died or never answered during start-up."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # (host, port) for AF_INET, typed Any by typeshed


def server_command() -> list[str]:
    """The argv prefix that runs nx-27017: venv bin, then PATH, then ``python -m``."""
    beside_python = Path(sys.executable).with_name(_EXECUTABLE)
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return [str(beside_python)]
    on_path = shutil.which(_EXECUTABLE)
    if on_path:
        return [on_path]
    return [sys.executable, "-m", _MODULE]


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line), "")


class MongoWireServer:
    """A running nx-27017 on ``127.0.0.1:<free port>``; in memory unless ``data_dir`` is set.

    >>> with MongoWireServer() as server:
    ...     client = MongoClient(server.uri)
    """

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        port: int | None = None,
        start_timeout_s: float = 10.0,
        own_session: bool = False,
        die_with_parent: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.own_session = own_session
        self.die_with_parent = die_with_parent and sys.platform.startswith("linux")
        self.port = port or 0
        self.start_timeout_s = start_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: Path | None = None

    # -- properties ------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_file(self) -> Path | None:
        return self._tmp / "nx.log" if self._tmp else None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"MongoWireServer({self.uri}, {state})"

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> MongoWireServer:
        """Spawn the server and block until it answers ``ping`` (or raise WireServerError).

        With an automatically chosen port, a lost race for that port is retried twice.
        """
        if self.running:
            return self
        attempts = 1 if self.port else 3
        for attempt in range(attempts):
            try:
                self._spawn()
                self._wait_ready()
                return self
            except _Exited as exc:
                message = str(exc)
                self.stop()
                if attempt + 1 < attempts and "address already in use" in message:
                    self.port = 0
                    continue
                raise WireServerError(message) from None
            except BaseException:
                self.stop()
                raise
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="evodash-nx-"))
        if not self.port:
            self.port = _free_port()
        storage = ["--data-dir", str(self.data_dir)] if self.data_dir else ["--db", "memory"]
        argv = [
            *server_command(),
            "--host", "127.0.0.1",
            "-p", str(self.port),
            *storage,
            "--log-file", str(self._tmp / "nx.log"),
            "--pid-file", str(self._tmp / "nx.pid"),
        ]  # fmt: skip
        if self.die_with_parent:
            program = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0]) or argv[0]
            argv = [sys.executable, "-S", "-c", _DIE_WITH_PARENT, str(os.getpid()), program,
                    *argv[1:]]  # fmt: skip
        with open(self._tmp / "stderr.log", "wb") as stderr:
            try:
                self._proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, cwd=self._tmp,
                    start_new_session=self.own_session,
                )
            except OSError as exc:
                raise WireServerError(f"cannot start nx-27017 ({argv[0]}): {exc}") from None

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        client: MongoClient[dict[str, Any]] = MongoClient(
            self.uri, serverSelectionTimeoutMS=200, connectTimeoutMS=200, directConnection=True
        )
        try:
            while True:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise _Exited(self._why(f"exited with code {self._proc.returncode}"))
                try:
                    client.admin.command("ping")
                    return
                except PyMongoError:
                    pass
                if time.monotonic() > deadline:
                    raise _Exited(self._why(f"did not answer ping within {self.start_timeout_s:g} s"))
                time.sleep(0.05)
        finally:
            client.close()

    def _why(self, what: str) -> str:
        """One line: what happened, plus the last line of stderr (the exception) or the log."""
        assert self._tmp is not None
        detail = _last_line(self._tmp / "stderr.log") or _last_line(self._tmp / "nx.log")
        return f"nx-27017 on 127.0.0.1:{self.port} {what}: {detail or '(no output)'}"

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM, wait, SIGKILL if needed; remove the temp dir. Safe to call twice."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout_s)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> MongoWireServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
