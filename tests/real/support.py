"""Working with a real Evolution server, v1.8 or v2 (`shared/real-evolution/`), for the
real-server suite and the real-server benchmark: its address from the environment, its
dialect (from `GET /`, as evodash detects it), building a world of instances (some dialing)
and records, and the check that no record was removed while its name is still on the server.

Environment:
  REAL_EVOLUTION_URL      base URL, e.g. http://127.0.0.1:8080 (run inside its netns)
  REAL_EVOLUTION_KEY      its global API key
  REAL_EVOLUTION_RESTART  a shell command that restarts it, keeping its instances (for the
                          "right after a restart" case)
  REAL_EVOLUTION_RESET    a shell command that restarts it empty (for the benchmark)
  REAL_EVOLUTION_OTHER_URL  v2: a second server on the same database with another
                          `clientName` (same key), for the "another server's name" case
"""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import time
from dataclasses import dataclass, field

import httpx

DIAL = {"qrcode": True}
CHECK_S = 3.0  # each removed name is probed for at least this long afterwards


class RealServerMissing(RuntimeError):
    pass


def real_env(*required: str) -> dict[str, str]:
    """The REAL_EVOLUTION_* variables; one clear error when a required one is missing."""
    names = ("URL", "KEY", "RESTART", "RESET", "OTHER_URL")
    env = {n: os.environ.get(f"REAL_EVOLUTION_{n}", "") for n in names}
    missing = [f"REAL_EVOLUTION_{n}" for n in ("URL", "KEY", *required) if not env[n]]
    if missing:
        raise RealServerMissing(
            f"the real-server suite needs {', '.join(missing)} (see tests/real/support.py; "
            "shared/real-evolution/README.md starts a server)")
    return env


def run_command(command: str) -> None:
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} failed: {done.stderr[-400:]}")


class RealServer:
    """Raw HTTP to the real server (what it says, not what evodash makes of it)."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.url, headers={"apikey": key}, timeout=60,
                                      limits=httpx.Limits(max_connections=64))
        self.version = ""  # GET /'s version, known after `wait_up`
        self.client_name = ""

    @property
    def v2(self) -> bool:
        return self.version.startswith("2.")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def wait_up(self, limit_s: float = 60) -> None:
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            try:
                r = await self.http.get("/", timeout=5)
                if r.status_code == 200:
                    self.version = str(r.json().get("version") or "")
                    self.client_name = str(r.json().get("clientName") or "")
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.url} did not answer GET / in {limit_s} s")

    async def probe(self, name: str) -> str:
        r = await self.http.get(f"/instance/connectionState/{name}")
        if r.status_code == 404:
            return "absent"
        r.raise_for_status()
        return (r.json().get("instance") or {}).get("state") or "reserved"

    async def absent_within(self, name: str, limit_s: float) -> bool:
        end = time.monotonic() + limit_s
        while True:
            if await self.probe(name) == "absent":
                return True
            if time.monotonic() > end:
                return False
            await asyncio.sleep(0.05)

    async def create(self, name: str, **extra) -> int:
        body = {"instanceName": name, **extra}
        if self.v2:
            body.setdefault("integration", "WHATSAPP-BAILEYS")
        r = await self.http.post("/instance/create", json=body)
        return r.status_code

    async def listed(self) -> list[dict]:
        """The listed instances as `{"instanceName", "status"}` (either dialect's shape)."""
        r = await self.http.get("/instance/fetchInstances")
        r.raise_for_status()
        return [i["instance"] if "instance" in i else
                {"instanceName": i.get("name"), "status": i.get("connectionStatus")}
                for i in r.json()]

    async def remove_quietly(self, name: str) -> None:
        """Stop any dialing and delete (best effort, for clean-up between runs; v2 logs
        out by itself and its orphans never re-reserve)."""
        for _ in range(0 if self.v2 else 60):
            r = await self.http.delete(f"/instance/logout/{name}")
            if r.status_code in (200, 404):
                break
        await self.http.delete(f"/instance/delete/{name}")


@dataclass
class World:
    """Instances on the real server, each with a record of reseller `reseller_id`."""

    reseller_id: str
    quiet: list[str] = field(default_factory=list)
    dialing: list[str] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return self.quiet + self.dialing


async def build_world(server: RealServer, prefix: str, quiet: int, dialing: int,
                      reseller_id: str = "rreal") -> World:
    """Create `quiet` instances and `dialing` ones (qrcode: true: offline they flap), all
    at once (a QR create answers after the server's 5 s sleep)."""
    world = World(reseller_id,
                  [f"{prefix}q{i}" for i in range(quiet)], [f"{prefix}d{i}" for i in range(dialing)])
    statuses = await asyncio.gather(*(server.create(n) for n in world.quiet),
                                    *(server.create(n, **DIAL) for n in world.dialing))
    bad = [(n, s) for n, s in zip(world.names, statuses) if s != 201]
    if bad:
        raise RuntimeError(f"could not create the world: {bad[:5]}")
    return world


def seed_records(mongo_db, world: World, connections: str = "whatsapp_connections") -> None:
    mongo_db["resellers"].insert_one({"id": world.reseller_id, "name": "Real Server Reseller"})
    mongo_db[connections].insert_many([
        {"id": f"rec-{n}", "reseller_id": world.reseller_id, "instance_name": n,
         "status": "disconnected"} for n in world.names])


@dataclass
class Verdict:
    """What became of the names whose records were removed."""

    removed_names: list[str]
    still_on_server: dict[str, str]  # name -> what a probe or the create said
    probes: int
    # names whose check instance (created to prove the name free, then deleted) was still
    # held 60 s after its delete: the check's own clean-up, not a record lost (a v2 server
    # slowed down by the orphaned sockets of deleted dialing instances takes that long)
    check_cleanup_slow: list[str] = field(default_factory=list)

    @property
    def records_lost(self) -> int:
        return len(self.still_on_server)


async def check_removed_names(server: RealServer, names: list[str],
                              check_s: float = CHECK_S) -> Verdict:
    """Each name must stay absent for `check_s` (probed back to back), then take a create
    (201) that is deleted again. A name that shows up in any of it was removed too early."""
    bad: dict[str, str] = {}
    slow: list[str] = []
    count = 0

    async def one(name: str) -> None:
        nonlocal count
        end = time.monotonic() + check_s
        while time.monotonic() < end:
            state = await server.probe(name)
            count += 1
            if state != "absent":
                bad[name] = f"probe said {state}"
                return
            await asyncio.sleep(0.05)
        status = await server.create(name)
        if status != 201:
            bad[name] = f"create answered {status}"
            return
        await server.remove_quietly(name)
        if not await server.absent_within(name, 60.0):  # v2: held a while after its delete
            slow.append(name)

    await asyncio.gather(*(one(n) for n in names))
    return Verdict(list(names), bad, count, slow)


async def left_reserved(server: RealServer, names: list[str]) -> list[str]:
    """Names the server still holds without listing them (reserved: only a restart frees)."""
    states = await asyncio.gather(*(server.probe(n) for n in names))
    return [n for n, s in zip(names, states) if s == "reserved"]


async def clean_up(server: RealServer, names: list[str]) -> None:
    await asyncio.gather(*(server.remove_quietly(n) for n in names), return_exceptions=True)
