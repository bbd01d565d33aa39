"""Shared test configuration: fixtures live in tests/fixtures/ and are registered here."""

pytest_plugins = [
    "tests.fixtures.sim",
    "tests.fixtures.mongo",
]
