"""MongoWireServer: start, ping, stop, on-disk data, and a clear error when it cannot start."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from pymongo import MongoClient

from tui.store.wire_server import MongoWireServer, WireServerError, server_command


def test_executable_is_found_next_to_the_interpreter():
    assert server_command() == [str(Path(sys.executable).with_name("nx-27017"))]


def test_start_ping_stop_and_cleanup():
    with MongoWireServer() as server:
        assert server.running and server.uri == f"mongodb://127.0.0.1:{server.port}"
        log_dir = server.log_file.parent
        assert log_dir.is_dir() and (log_dir / "nx.pid").is_file()
        client: MongoClient = MongoClient(server.uri, serverSelectionTimeoutMS=1000)
        assert client.admin.command("ping")["ok"] == 1
        client.close()
    assert not server.running and not log_dir.exists()
    server.stop()  # idempotent


def test_data_dir_survives_a_restart(tmp_path):
    for expected in (0, 1):
        with MongoWireServer(data_dir=tmp_path) as server:
            client: MongoClient = MongoClient(server.uri, serverSelectionTimeoutMS=1000)
            assert client.evodash.things.count_documents({}) == expected
            client.evodash.things.insert_one({"n": expected})
            client.close()
    assert (tmp_path / "evodash.db").is_file()


def test_port_in_use_is_a_one_line_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = MongoWireServer(port=port, start_timeout_s=5)
        with pytest.raises(WireServerError) as caught:
            server.start()
    text = str(caught.value)
    assert "\n" not in text and f"127.0.0.1:{port}" in text and "address already in use" in text
    assert not server.running


def test_own_session_keeps_a_terminals_signals_away():
    """`own_session`: not in the caller's process group or session, so the SIGINT a
    terminal sends to its foreground group (Ctrl+C) never reaches it; without it, a plain
    child in the caller's group."""
    import os

    with MongoWireServer(own_session=True, die_with_parent=True) as server:
        assert server.pid is not None
        assert os.getsid(server.pid) == server.pid != os.getsid(0)
        assert os.getpgid(server.pid) != os.getpgid(0)
    with MongoWireServer() as plain:
        assert plain.pid is not None and os.getpgid(plain.pid) == os.getpgid(0)
