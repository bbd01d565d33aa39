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


def pytest_configure(config):
    config.addinivalue_line("markers", "v18_only(reason): runs on the v1.8 simulator only "
                            "(tests/fixtures/sim.py v18_only: the v2 parameter is not generated)")
    config.addinivalue_line("markers", "dialect_free(reason): checks nothing of the server's "
                            "dialect: runs once (tests/fixtures/sim.py dialect_free)")
    config.addinivalue_line("markers", "v2_only(reason): runs on the v2 simulator only "
                            "(tests/fixtures/sim.py v2_only)")
