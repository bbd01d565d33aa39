"""Shared test configuration: fixtures live in tests/fixtures/ and are registered here."""

import os

import pytest

# pytest-xdist's workers run with COLUMNS=80 LINES=24 in their environment; a dashboard
# started from a test (in tmux, on a pty) would take that for the terminal's size
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)

pytest_plugins = [
    "tests.fixtures.sim",
    "tests.fixtures.mongo",
]


@pytest.fixture(scope="session", autouse=True)
def demo_world_outside_home(tmp_path_factory):
    """`evodash --demo` keeps its world in the user's state dir: no test may use (or wipe)
    the real one. Tests that run the demo give each run its own `EVODASH_DEMO_DIR`; this is
    the default for any other (one directory for the session)."""
    if "EVODASH_DEMO_DIR" not in os.environ:
        os.environ["EVODASH_DEMO_DIR"] = str(tmp_path_factory.mktemp("demo-world"))
    yield
