"""The real-server suite: evodash's verified delete and clear-all against a real Evolution
API server, v1.8 or v2 (evodash detects which; so does the suite, from `GET /`), through the
CLI as an operator runs it. Not part of the default run (see README "Against a real Evolution
server"); needs REAL_EVOLUTION_URL / _KEY (and _RESTART for the restart case, and on v2
_OTHER_URL: a second server on the same database, for the other-clientName case).

Each case asserts the promise: **0 records removed whose name is still present or
reserved** - every name whose record evodash removed is probed for at least 3 s afterwards
(it must stay absent) and must take a create (201, then deleted again). It also asserts that
records are kept exactly for the names evodash did not report free, and prints its figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures.mongo import CONNECTIONS
from tests.real.support import (
    RealServer,
    World,
    build_world,
    check_removed_names,
    clean_up,
    left_reserved,
    real_env,
    run_command,
    seed_records,
)

from tui.evolution.client import EvolutionClient
from tui.evolution.dialect import Dialect

REPO = Path(__file__).resolve().parents[2]
FREED = ("removed", "already_absent")


@pytest.fixture
async def server():
    env = real_env()
    real = RealServer(env["URL"], env["KEY"])
    await real.wait_up()
    yield real
    await real.aclose()


def run_cli(tmp_path: Path, mongo_uri: str, database: str, *args: str) -> tuple[int, dict]:
    env = real_env()
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({
        "evolution": {"url": env["URL"], "timeout_s": 30},
        "mongo": {"uri": mongo_uri, "database": database},
        "cleanup": {"concurrency": 16},
        "audit_log": str(tmp_path / "audit.jsonl"),
    }))
    settings.chmod(0o600)
    proc_env = {k: v for k, v in os.environ.items() if not k.startswith("EVODASH_")}
    proc_env.update(PYTHONPATH=str(REPO), EVODASH_EVOLUTION__API_KEY=env["KEY"])
    done = subprocess.run([sys.executable, "-m", "tui", "--settings", str(settings), *args,
                           "--yes", "--json"], capture_output=True, text=True, timeout=600,
                          env=proc_env, stdin=subprocess.DEVNULL)
    assert "Traceback" not in done.stderr, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert lines and lines[-1]["type"] == "summary", done.stdout[-2000:] + done.stderr
    return done.returncode, lines[-1]


async def check(server: RealServer, mongo_db, world: World, summary: dict, label: str,
                elapsed: float) -> None:
    outcomes = {t["name"]: t["outcome"] for t in summary["targets"]}
    assert sorted(outcomes) == sorted(world.names)
    gone = [n for n in world.names
            if mongo_db[CONNECTIONS].count_documents({"instance_name": n}) == 0]
    # records removed exactly for the names evodash reported free; the others kept + marked
    assert sorted(gone) == sorted(n for n, o in outcomes.items() if o in FREED)
    for name in set(world.names) - set(gone):
        doc = mongo_db[CONNECTIONS].find_one({"instance_name": name})
        assert doc is not None and doc.get("evodash_last_error"), name
    reserved = await left_reserved(server, world.names)  # before the check re-creates them
    verdict = await check_removed_names(server, gone)
    counts = {o: list(outcomes.values()).count(o) for o in sorted(set(outcomes.values()))}
    slow = (f"; the check's own clean-up still held after 60 s: "
            f"{len(verdict.check_cleanup_slow)}" if verdict.check_cleanup_slow else "")
    print(f"\nREAL {label} ({server.version}): {len(world.names)} names "
          f"({len(world.dialing)} dialing) in {elapsed:.1f} s; outcomes {counts}; records "
          f"removed {len(gone)}; records lost {verdict.records_lost} "
          f"{verdict.still_on_server or ''}; names left reserved {len(reserved)}; "
          f"{verdict.probes} check probes over >= 3 s per removed name{slow}")
    assert verdict.records_lost == 0, verdict.still_on_server


def tag() -> str:
    return f"x{int(time.time()) % 100000}"


async def run_case(server: RealServer, mongo_db, mongo_server, database: str, tmp_path: Path,
                   world: World, label: str, args: list[str], before=None) -> None:
    """Records for `world`, `before()` (dialing for a while, or a restart), then the CLI
    command and the checks; the world is cleaned up whatever happens."""
    try:
        seed_records(mongo_db, world)
        await (before() if before else asyncio.sleep(1.0))  # dialing a while, as in production
        started = time.monotonic()
        _, summary = await asyncio.to_thread(run_cli, tmp_path, mongo_server.uri, database, *args)
        await check(server, mongo_db, world, summary, label, time.monotonic() - started)
    finally:
        await clean_up(server, world.names)


async def test_20_deletes_of_dialing_instances(server, mongo_db, mongo_server, mongo_database,
                                               tmp_path):
    world = await build_world(server, f"{tag()}del", quiet=0, dialing=20)
    await run_case(server, mongo_db, mongo_server, mongo_database, tmp_path, world,
                   "delete x20 dialing", ["delete", *world.names])


async def test_clear_all_of_30_a_third_dialing(server, mongo_db, mongo_server, mongo_database,
                                               tmp_path):
    world = await build_world(server, f"{tag()}ca", quiet=20, dialing=10)
    await run_case(server, mongo_db, mongo_server, mongo_database, tmp_path, world,
                   "clear-all 30, 10 dialing", ["clear-all", "--reseller", world.reseller_id])


async def test_clear_all_right_after_a_restart(server, mongo_db, mongo_server, mongo_database,
                                               tmp_path):
    """A restart makes every persisted instance dial (§11.5): the clear-all right after it
    meets only dialing instances."""
    restart = real_env("RESTART")["RESTART"]
    world = await build_world(server, f"{tag()}rs", quiet=12, dialing=6)

    async def restart_now() -> None:
        await asyncio.to_thread(run_command, restart)
        await server.wait_up()

    await run_case(server, mongo_db, mongo_server, mongo_database, tmp_path, world,
                   "clear-all 18 right after a restart",
                   ["clear-all", "--reseller", world.reseller_id], before=restart_now)


async def test_deletes_of_logged_out_dialing_instances(server, mongo_db, mongo_server,
                                                       mongo_database, tmp_path):
    """"Zombies": dialing instances logged out by someone else first (raw logouts until one
    lands). On v1.8 a landed logout stops the dialing; on v2 2.3.6 it does not (recorded):
    the instance keeps reconnecting after its logout and after its delete."""
    world = await build_world(server, f"{tag()}zo", quiet=0, dialing=8)

    async def log_out_each() -> None:
        await asyncio.sleep(1.0)
        for name in world.names:
            for _ in range(200):
                r = await server.http.delete(f"/instance/logout/{name}")
                if r.status_code in (200, 404):
                    break
                await asyncio.sleep(0.01)

    await run_case(server, mongo_db, mongo_server, mongo_database, tmp_path, world,
                   "delete x8 logged out while dialing", ["delete", *world.names],
                   before=log_out_each)


async def test_another_servers_name_is_never_deleted(server, mongo_db, mongo_server,
                                                     mongo_database, tmp_path):
    """v2, two servers on one database: a record whose name belongs to the other server
    (another clientName) is never deleted through this one - neither by a delete of that
    name nor by the reseller's clear-all - and its record is kept; the rest of the clear-all
    is done as usual. On v1.8, which has no database shared by several servers, it checks
    what stands in its place: the server names no client, and evodash detects v1.8 with no
    client name, so it has no name to call another server's."""
    if not server.v2:
        async with EvolutionClient(server.url, real_env()["KEY"]) as client:
            profile = await client.profile()
        assert server.client_name == "" and profile.client_name is None, profile
        assert profile.dialect is Dialect.V1_8, profile
        print(f"\nREAL another server's name on {server.version}: no client name, "
              f"detected {profile.label}: nothing is anyone else's")
        return
    other = RealServer(real_env("OTHER_URL")["OTHER_URL"], real_env()["KEY"])
    await other.wait_up()
    assert other.client_name != server.client_name, "the other server needs its own clientName"
    theirs = f"{tag()}theirs"
    world = await build_world(server, f"{tag()}os", quiet=4, dialing=2)
    try:
        assert await other.create(theirs) == 201
        seed_records(mongo_db, world)
        mongo_db[CONNECTIONS].insert_one({"id": f"rec-{theirs}", "reseller_id": world.reseller_id,
                                          "instance_name": theirs, "status": "connected"})
        await asyncio.sleep(1.0)
        for args in (["delete", theirs], ["clear-all", "--reseller", world.reseller_id]):
            started = time.monotonic()
            _, summary = await asyncio.to_thread(run_cli, tmp_path, mongo_server.uri,
                                                 mongo_database, *args)
            mine = {t["name"]: t for t in summary["targets"]}
            assert mine[theirs]["outcome"] == "skipped", mine[theirs]
            assert mine[theirs]["cause"] == "other_server", mine[theirs]
            assert mongo_db[CONNECTIONS].count_documents({"instance_name": theirs}) == 1
            assert theirs in [i["instanceName"] for i in await other.listed()]
            assert await other.probe(theirs) in ("open", "close", "connecting")
            print(f"\nREAL {args[0]} of another server's name ({other.client_name}): skipped "
                  f"(other_server), record kept, its row intact, "
                  f"{time.monotonic() - started:.1f} s")
        summary_world = {**summary, "targets": [t for t in summary["targets"]
                                                if t["name"] != theirs]}
        await check(server, mongo_db, world, summary_world, "clear-all beside another "
                    "server's name", time.monotonic() - started)
    finally:
        await clean_up(server, world.names)
        await other.remove_quietly(theirs)
        await other.aclose()


async def test_create_pair_and_delete_through_the_cli(server, mongo_db, mongo_server,
                                                      mongo_database, tmp_path):
    """`evodash create --qr` makes an instance the server lists and a record of the reseller
    (v2: with the integration v2 requires), `evodash pair` asks it for a QR code, and
    `evodash delete` removes both, verified."""
    reseller = f"{tag()}cr"
    mongo_db["resellers"].insert_one({"id": reseller, "name": f"Create {reseller}"})
    _, created = await asyncio.to_thread(run_cli, tmp_path, mongo_server.uri, mongo_database,
                                         "create", "--qr", "--reseller", reseller)
    (target,) = created["targets"]
    name = target["name"]
    try:
        assert target["outcome"] == "created", target
        assert name in [i["instanceName"] for i in await server.listed()]
        assert mongo_db[CONNECTIONS].count_documents({"instance_name": name,
                                                      "reseller_id": reseller}) == 1
        _, paired = await asyncio.to_thread(run_cli, tmp_path, mongo_server.uri,
                                            mongo_database, "pair", name, "--once")
        assert paired["targets"][0]["outcome"] == "pairing", paired
        _, deleted = await asyncio.to_thread(run_cli, tmp_path, mongo_server.uri,
                                             mongo_database, "delete", name)
        assert deleted["targets"][0]["outcome"] == "removed", deleted
        assert mongo_db[CONNECTIONS].count_documents({"instance_name": name}) == 0
        verdict = await check_removed_names(server, [name])
        print(f"\nREAL create --qr / pair / delete of {name} on {server.version}: "
              f"records lost {verdict.records_lost}")
        assert verdict.records_lost == 0, verdict.still_on_server
    finally:
        await clean_up(server, [name])
