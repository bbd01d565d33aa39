"""Requests per operation: a plan looks up just its targets, not the world.

    python -m tests.bench.bench_requests [--out tests/bench/results/requests.json]

World (simulator + nx-27017): 2,000 instances and 2,000 records over 20 resellers - 1,500
linked, 500 orphan instances, 500 orphan records (names free on the server); a third of the
instances each `open` / `connecting` / `close`. Counted with the simulator's `/_sim/stats`
(every request the server received, all routes), per case:

* one-name `delete` (plan + run) of an `open` instance, a `close` one, an orphan record whose
  name is free, and a name that exists nowhere;
* a reseller-scoped `clear-all` plan (and run) for resellers owning 10, 50 and 200 names, and
  the admin plan (its scope is the world);
* one dashboard refresh (observe + the orphan records' probes) in a reseller's session and in
  the admin session.
Targets (issue 10): a one-name delete makes at most 8 requests; a reseller clear-all grows
with its scope, not the world; a reseller-scoped dashboard probes only names in its scope.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from pathlib import Path

import httpx
from pymongo import MongoClient

from tui.evolution.client import EvolutionClient
from tui.lifecycle.removal import DeletePolicy
from tui.lifecycle.plans import ClearAllRequest, DeleteRequest
from tui.lifecycle.scope import Scope
from tui.lifecycle.service import LifecycleService
from tui.simulator.server import ThreadedSimulator
from tui.store.mongo import ConnectionStore
from tui.store.wire_server import MongoWireServer

RESULTS = Path(__file__).parent / "results" / "requests.json"
KEY = "bench-requests-key-0123456789"
DB = "bench_requests"
SIZES = [10, 50, 200]  # names owned by the three measured resellers


class Mongo:
    def __init__(self, uri: str):
        self.uri = uri
        self.database = DB
        self.connections_collection = "whatsapp_connections"
        self.resellers_collection = "resellers"


def build_world(sim_url: str, mongo_uri: str) -> dict[str, list[str]]:
    rng = random.Random(7)
    owners = [(f"rb{size}", size) for size in SIZES]
    rest = 1500 + 500 - sum(SIZES)
    owners += [(f"rx{i}", rest // 17 + (1 if i < rest % 17 else 0)) for i in range(17)]
    resellers = [{"id": rid, "name": f"Bench {rid}"} for rid, _ in owners]
    records, instances, kinds = [], [], {"open": [], "close": [], "absent": []}
    n = 0
    for rid, count in owners:
        for _ in range(count):
            n += 1
            name = f"bench_{rid}_{n}"
            orphan_record = n % 4 == 0  # 500 of 2000
            records.append({"id": f"rec{n}", "reseller_id": rid, "instance_name": name})
            if orphan_record:
                kinds["absent"].append(name)
                continue
            state = ("open", "connecting", "close")[n % 3]
            instances.append({"name": name, "state": state})
            kinds.setdefault(state, []).append(name)
    for i in range(500):  # orphan instances
        instances.append({"name": f"stray_{i}", "state": ("open", "connecting", "close")[i % 3]})
    rng.shuffle(instances)
    with httpx.Client(base_url=sim_url, timeout=60) as http:
        http.post("/_sim/reset").raise_for_status()
        http.post("/_sim/instances", json=instances).raise_for_status()
    client = MongoClient(mongo_uri)
    client.drop_database(DB)
    client[DB]["resellers"].insert_many(resellers)
    client[DB]["whatsapp_connections"].insert_many(records)
    client.close()
    assert len(instances) == 2000 and len(records) == 2000
    return kinds


async def counted(sim_url: str, coro) -> tuple[int, dict]:
    async with httpx.AsyncClient(base_url=sim_url) as http:
        before = (await http.get("/_sim/stats")).json()["requests"]
        result = await coro
        after = (await http.get("/_sim/stats")).json()["requests"]
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    return sum(delta.values()), {k: v for k, v in delta.items() if v} | {"_result": result}


def service_for(client, store, scope: Scope) -> LifecycleService:
    return LifecycleService(client, store, scope=scope, concurrency=16,
                            policy=DeletePolicy(free_hold_s=0.3))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.bench_requests")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows: list[dict] = []
    with ThreadedSimulator(api_key=KEY, seed=3) as sim, MongoWireServer() as mongo:
        kinds = build_world(sim.url, mongo.uri)
        async with EvolutionClient(sim.url, KEY, timeout_s=30) as client, \
                ConnectionStore.from_settings(Mongo(mongo.uri)) as store:
            admin = service_for(client, store, Scope.all())

            async def delete_one(name: str) -> str:
                plan = await admin.plan(DeleteRequest((name,)))
                summary = await admin.run(plan)
                return summary.targets[0].outcome.value

            for label, name in (("open instance", kinds["open"][0]),
                                ("close instance (quiet)", kinds["close"][0]),
                                ("orphan record, name free", kinds["absent"][0]),
                                ("name that exists nowhere", "no_such_name_anywhere")):
                plan_n, plan_by = await counted(sim.url, admin.plan(DeleteRequest((name,))))
                total, by = await counted(sim.url, delete_one(name))
                rows.append({"case": f"delete one: {label}", "plan_requests": plan_n,
                             "requests": total, "outcome": by.pop("_result"), "by_route": by})
            for size in SIZES:
                scoped = service_for(client, store, Scope.reseller(f"rb{size}"))
                request = ClearAllRequest(Scope.reseller(f"rb{size}"))
                plan_n, plan_by = await counted(sim.url, scoped.plan(request))
                plan = plan_by.pop("_result")
                run_n, run_by = await counted(sim.url, scoped.run(plan))
                run_by.pop("_result")
                rows.append({"case": f"clear-all reseller with {size} names", "names": size,
                             "plan_requests": plan_n, "plan_by_route": plan_by,
                             "run_requests": run_n, "run_by_route": run_by})
            plan_n, plan_by = await counted(sim.url, admin.plan(ClearAllRequest(Scope.all())))
            plan_by.pop("_result")
            rows.append({"case": "clear-all admin plan (scope = the world)",
                         "plan_requests": plan_n, "plan_by_route": plan_by})
            for label, scope in (("reseller rx0 (~115 names, ~29 orphan records)", Scope.reseller("rx0")),
                                 ("admin", Scope.all())):
                session = service_for(client, store, scope)
                n_req, by = await counted(sim.url, session.observe())
                by.pop("_result")
                rows.append({"case": f"dashboard refresh: {label}", "requests": n_req,
                             "by_route": by})
    for row in rows:
        print(json.dumps(row))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
