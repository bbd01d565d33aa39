"""ConnectionStore failures become one-line StoreErrors without the URI password."""

from __future__ import annotations

import socket

import pytest
from pymongo.errors import AutoReconnect, DuplicateKeyError, OperationFailure

from tui.store.errors import (
    InvalidStoreURIError,
    StoreAuthError,
    StoreConnectionLostError,
    StoreError,
    StoreUnreachableError,
    StoreWriteError,
    from_pymongo,
)
from tui.store.mongo import ConnectionStore
from tui.store.wire_server import MongoWireServer

SECRET = "s3cr3t-pw"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends


def assert_one_line_without_secret(error: StoreError) -> str:
    text = str(error)
    assert "\n" not in text and SECRET not in text and SECRET not in repr(error)
    assert len(text) <= 240
    return text


async def test_mongo_down_is_a_one_line_error_without_password():
    port = closed_port()
    store = ConnectionStore(f"mongodb://bob:{SECRET}@127.0.0.1:{port}/?authSource=admin", "db",
                            timeout_ms=300)  # fmt: skip
    with pytest.raises(StoreUnreachableError) as caught:
        await store.load()
    text = assert_one_line_without_secret(caught.value)
    assert text == f"cannot reach MongoDB at 127.0.0.1:{port}: connection refused"
    assert caught.value.transient and caught.value.__cause__ is None
    with pytest.raises(StoreUnreachableError):
        await store.delete_record("x", reseller_id="r-a")
    store.close()


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:27017",
        f"mongodb://bob:{SECRET}@127.0.0.1:notaport",
        f"mongodb://bob:{SECRET}:extra@127.0.0.1",
        "mongodb://",
        "mongodb://127.0.0.1:99999",
    ],
)
def test_invalid_uri(uri):
    with pytest.raises(InvalidStoreURIError) as caught:
        ConnectionStore(uri, "db")
    text = assert_one_line_without_secret(caught.value)
    assert text.startswith("invalid MongoDB URI: ")


async def test_server_stopped_mid_use():
    with MongoWireServer() as server:
        store = ConnectionStore(server.uri, "db", timeout_ms=300)
        await store.insert_record("r-a", "alice_1")
        assert len((await store.list_records())[0]) == 1
        server.stop()
        with pytest.raises(StoreUnreachableError) as caught:  # lost connection or unreachable
            await store.list_records()
        assert_one_line_without_secret(caught.value)
        assert f"127.0.0.1:{server.port}" in str(caught.value)
        with pytest.raises(StoreUnreachableError):
            await store.insert_record("r-a", "alice_2")
        store.close()


def test_auth_failure_names_the_user_not_the_password():
    uri = f"mongodb://bob:{SECRET}@db.example:27017/platform"
    exc = OperationFailure("Authentication failed.", code=18, details={"errmsg": SECRET})
    error = from_pymongo(exc, uri=uri, action="reading connections")
    assert isinstance(error, StoreAuthError)
    assert assert_one_line_without_secret(error) == "MongoDB rejected the credentials for user bob"


@pytest.mark.parametrize(
    ("exc", "kind", "text"),
    [
        (AutoReconnect("db.example:27017: connection closed"), StoreConnectionLostError,
         "lost connection to MongoDB at db.example:27017 while deleting: connection closed"),
        (DuplicateKeyError("E11000 duplicate key", code=11000), StoreWriteError,
         "MongoDB write failed while deleting: duplicate key"),
        (OperationFailure(f"bad\nthing {SECRET}", code=2), StoreError,
         "MongoDB error while deleting: bad thing **** (code 2)"),
        (OperationFailure("not authorized on platform", code=13), StoreAuthError,
         "MongoDB did not authorize user bob while deleting: not authorized on platform"),
    ],
)  # fmt: skip
def test_error_mapping(exc, kind, text):
    error = from_pymongo(exc, uri=f"mongodb://bob:{SECRET}@db.example:27017", action="deleting")
    assert type(error) is kind
    assert assert_one_line_without_secret(error) == text
