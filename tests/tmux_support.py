"""A real terminal for tests: `evodash --demo` in a detached tmux server of a given size,
keys sent with `send-keys`, the screen read with `capture-pane -p`. Shared by the tmux
tests (tests/test_app_tmux_*.py); the `tmux` fixture skips without tmux on a developer
machine, and fails under REQUIRE_TMUX_SMOKE (CI installs tmux and sets it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


class Tmux:
    """One detached tmux server running `evodash --demo` in a window of the given size."""

    def __init__(self, tmp_path: Path, width: int, height: int, label: str = "evodash",
                 args: str = "") -> None:
        self.socket = f"evodash-{label}-{uuid.uuid4().hex[:8]}"
        self.session = label
        # a demo world of its own (`--demo` keeps its world between runs)
        env = {**os.environ, "HOME": str(tmp_path),
               "EVODASH_DEMO_DIR": str(tmp_path / f"demo-{self.socket}")}
        self.run("-f", "/dev/null", "new-session", "-d", "-s", self.session,
                 "-x", str(width), "-y", str(height),
                 f"TERM=xterm-256color {sys.executable} -m tui --demo {args}; "
                 "echo EVODASH-EXITED $?; sleep 30", env=env)

    def run(self, *args: str, env: dict | None = None) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, check=True, env=env, cwd=ROOT, timeout=30).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.run("send-keys", "-t", self.session, *(["-l"] if literal else []), *keys)

    def resize(self, width: int, height: int) -> None:
        self.run("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))

    def wait_for(self, pattern: str | Callable[[str], bool], timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        test = pattern if callable(pattern) else (lambda s: re.search(pattern, s) is not None)
        while True:
            screen = self.screen()
            if test(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {pattern!r}; screen was:\n{screen}")
            time.sleep(0.15)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


def tmux_terminals(tmp_path: Path, label: str) -> Iterator[Callable[[int, int], Tmux]]:
    """The body of a `tmux` fixture: yields a starter of terminals, kills them all after."""
    if shutil.which("tmux") is None:
        # as tests/test_app_tmux.py: skipped without tmux on a developer machine; CI installs
        # tmux and sets REQUIRE_TMUX_SMOKE, so there it runs or fails, never skips
        if os.environ.get("REQUIRE_TMUX_SMOKE"):
            pytest.fail("tmux is required here (REQUIRE_TMUX_SMOKE) but not installed")
        pytest.skip("tmux is not installed (apt install tmux); CI always runs this test")
    started: list[Tmux] = []

    def start(width: int, height: int, args: str = "") -> Tmux:
        started.append(Tmux(tmp_path, width, height, label, args))
        return started[-1]

    yield start
    for term in started:
        term.kill()
