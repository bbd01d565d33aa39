"""The embedded demo environment: an in-process Evolution simulator (v1.8, or v2 with
`dialect=Dialect.V2`) and a MongoDB-wire server (nx-27017), both on free loopback ports,
seeded with `tui.demo.seed`, and the `Settings` that point evodash at them (the dialect left
to detection, as on a real server). Both servers stop when the context exits.

Without a `world` (tests, benchmarks) everything is in memory and gone at exit. With a
`DemoWorld` (`evodash --demo`) the world is kept in its directory between commands
(`world.py`): the simulator loads and writes `simulator.json`, the database lives in
`mongo/`, the audit log beside them; only a new (or `reset`) world is seeded.

The database server runs in a session of its own and dies with this process
(`MongoWireServer(die_with_parent=True)`): a Ctrl+C or an SSH drop reaches evodash, which lets
its in-flight targets finish against a database that is still there, and stops the servers
last. (The simulator is a thread of this process: signals reach only the main thread.)
"""

from __future__ import annotations

import json
import time

import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx
from pymongo import MongoClient

from tui.demo.seed import DemoData, build_demo_data
from tui.evolution.dialect import Dialect
from tui.demo.world import DemoWorld, shown_path
from tui.settings import Settings, SettingsError
from tui.simulator.persist import StateFileError
from tui.simulator.server import Simulator, ThreadedSimulator
from tui.store.wire_server import MongoWireServer, WireServerError

DEMO_API_KEY = "demo-global-key-0123456789"
DEMO_DATABASE = "evodash_demo"


class DemoEnvironment:
    """`with DemoEnvironment() as demo: demo.settings ...` — a seeded simulator + database."""

    def __init__(self, *, seed: int = 7, latency_ms: float = 0, cleanup_lag_ms: int = 300,
                 data: DemoData | None = None, audit_dir: str | None = None,
                 server_url: str | None = None, world: DemoWorld | None = None,
                 reset: bool = False, dialect: Dialect = Dialect.V1_8):
        if world is not None and world.dialect is not dialect:
            raise ValueError(f"a {dialect.value} demo on a {world.dialect.value} world")
        self.dialect = dialect
        self.seed = seed
        self.latency_ms = latency_ms
        self.cleanup_lag_ms = cleanup_lag_ms
        self.server_url = server_url  # what instances report as serverUrl (snapshots pin it)
        self.data = data or build_demo_data(dialect)
        self.simulator: ThreadedSimulator | None = None
        self.mongo: MongoWireServer | None = None
        self._tmp = Path(audit_dir) if audit_dir else None
        self._own_tmp = audit_dir is None
        self.world = world
        self.reset = reset
        self.fresh = True  # a new world was seeded (False: a kept one was loaded)
        self.settings: Settings | None = None

    def start(self) -> DemoEnvironment:
        try:
            return self._start()
        except (StateFileError, WireServerError) as exc:
            if self.world is None:
                raise
            # a damaged world (a file edited or cut short): one line, and the way out
            raise SettingsError(f"demo world {shown_path(self.world.path)} cannot be used: "
                                f"{exc} (evodash --demo-reset starts a fresh one)") from None

    def _start(self) -> DemoEnvironment:
        world = self.world
        options = self._dialect_options()  # (before the world is touched)
        try:
            if world is not None:
                world.acquire()  # DemoBusy: another evodash uses this world
                self.fresh = self.reset or not world.seeded
                if self.fresh:
                    world.wipe()
                world.mongo_dir.mkdir(exist_ok=True)
                self._tmp, self._own_tmp = world.path, False
            self.simulator = ThreadedSimulator(
                api_key=DEMO_API_KEY, latency_ms=self.latency_ms, seed=self.seed,
                server_url=self.server_url,
                state_file=world.simulator_file if world is not None else None,
                **options).start()
            # its own session (Ctrl+C is evodash's to handle), dying with evodash
            self.mongo = MongoWireServer(
                data_dir=world.mongo_dir if world is not None else None,
                own_session=True, die_with_parent=True)
            self.mongo.start()
            if world is not None:
                world.note_server(self.mongo.pid)
            if self.fresh:
                self._seed()
        except BaseException:
            self.stop()
            raise
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix="evodash-demo-"))
        if self.fresh:
            # the demo's instances have been around for a day: evodash "first saw" them
            # then, so the young-orphan grace of bulk operations does not hold back the
            # demo's unpatterned orphans (a real installation learns this as it runs)
            seen_at = time.time() - 86400
            (self._tmp / "first-seen.json").write_text(json.dumps(
                {i["name"]: seen_at for i in self.data.instances
                 if isinstance(i.get("name"), str)}))
            if world is not None:
                world.mark_seeded(self.seed)
        self.settings = Settings.model_validate({
            "evolution": {"url": self.simulator.url, "api_key": DEMO_API_KEY, "timeout_s": 5},
            "mongo": {"uri": self.mongo.uri, "database": DEMO_DATABASE},
            "cleanup": {"concurrency": 4, "verify_timeout_s": 3, "max_delete_attempts": 2},
            "refresh_s": 5,
            "audit_log": str(self._tmp / "audit.jsonl"),
        })
        return self

    def _dialect_options(self) -> dict[str, Any]:
        """The simulator's dialect."""
        return {"dialect": self.dialect}

    def _seed(self) -> None:
        assert self.simulator is not None and self.mongo is not None
        with httpx.Client(base_url=self.simulator.url, timeout=10) as http:
            for start in range(0, len(self.data.instances), 500):  # the server caps bodies at 1 MiB
                chunk = self.data.instances[start:start + 500]
                http.post("/_sim/instances", json=chunk).raise_for_status()
            if self.cleanup_lag_ms:
                http.post("/_sim/faults",
                          json={"cleanup_lag_ms": self.cleanup_lag_ms}).raise_for_status()
        client: MongoClient = MongoClient(self.mongo.uri, serverSelectionTimeoutMS=5000)
        try:
            db = client[DEMO_DATABASE]
            db["resellers"].insert_many([dict(r) for r in self.data.resellers])
            db["whatsapp_connections"].insert_many([dict(r) for r in self.data.records])
        finally:
            client.close()

    def stop(self) -> None:
        """Stop both servers (the simulator writes its world first) and let the world go.
        Safe to call twice, and from the exit watchdog's thread."""
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
        if self.mongo is not None:
            self.mongo.stop()
            self.mongo = None
            if self.world is not None:
                self.world.note_server(None)
        if self.world is not None:
            self.world.release()
        if self._own_tmp and self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> DemoEnvironment:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
