"""Clear-all throughput: evodash's verified clear-all vs the platform's original algorithm.

    /work/venv/bin/python -m tests.bench.bench_clear_all [--sizes 100,500,2000]
        [--concurrency 1,4,16] [--skip-baseline-above 500] [--di-sizes 10,30]
        [--first-poll-s S --poll-factor F --max-poll-s S] [--sim-mode process|thread]
        [--dialect v1.8|v2] [--cleanup-lag-ms 200]
        [--out tests/bench/results/clear_all.json]

Setup (identical for every run): an Evolution v1.8 simulator (`--dialect v2`: the v2 one,
see "v2" below) with latency_ms=20 and
cleanup_lag_ms=200 (`/_sim/reset`, `/_sim/faults`, `/_sim/instances`), N instances (exact
thirds close / connecting / open, seeded shuffle, 3 resellers) and one matching record per
instance in a real MongoDB-wire server (nx-27017; collections dropped and re-seeded).
The simulator runs in its own process by default (like a real Evolution server), so its CPU
is not charged to the client's GIL; `--sim-mode thread` uses `ThreadedSimulator` instead.

Variants (the clock covers only the operation itself, services are built before it):
  * baseline     `cleanup_all_instances()` of tests/bench/baseline_original.py (the original,
                 re-implemented): N <= --skip-baseline-above is measured, larger N is a
                 linear extrapolation from the measured sizes, marked `estimate`;
  * baseline-di  the same clear-all with every instance through the original
                 `delete_instance` (full `fetchInstances` scan per instance), measured at
                 --di-sizes only (2 s of sleeps per instance), extrapolated elsewhere;
  * evodash      `plan(ClearAllRequest(Scope.all()))` + `run` of a `LifecycleService` built by `build_services` (policy
                 from the default settings, concurrency C), at each C of --concurrency.

Lower bound (per run): LB = max(ceil(N / C) * t_mean, max_i t_i, quiet_logout_s + t_close)
+ free_hold_s, t_mean = the mean over the instance mix of the minimum time one instance needs
on this simulator with the verification that holds on the real server (issue 9):
  close              3 logouts (400: quiet) + delete + probe = 5 * latency + lag
  open / connecting  logout + delete + probe                 = 3 * latency + lag_after_logout
plus, once per operation, the `quiet_logout_s` a quiet instance must be watched and the
`free_hold_s` the last freed name must stay absent (holds run outside the slots).
where lag_after_logout = 0 on the v1.8 simulator (logout removes the auth state, so the delete
frees the name at once; checked by every run: evodash finds those names absent on the first
probe). `lb_brief_s` also reports the literal brief formula (lag on every instance).

Per run: wall time, requests / instance and server->client body bytes / instance (deltas of
`/_sim/stats`), client->server request bytes / instance (request line + headers + body,
counted by an httpx request hook), and correctness measured right after the operation
returns: names still in memory or reserved (`/_sim/state`), names whose probe is not absent,
records left; for the baseline also records deleted while their name was still known to the
server (snapshot taken just before its `delete_many`). System load average is recorded.

v2 (`--dialect v2`, results default to `results/clear_all_v2.json`): the same fixture and
faults on the simulator's v2 personality (`dialect="v2"`, version 2.3.6: the list is the
database rows, a deleted name stays held - in memory for the first 3-15 % of the window,
then a row without a live instance, `reserved` - for its delete window
W = U(delete_window_ms = 55..115 ms) + window_cost_ms x flapping sockets x crowding +
cleanup_lag_ms; nothing flaps here, so W = U(55, 115) ms + lag, mean 85 ms + lag). The
baseline is the original's v2 form (`OriginalWhatsAppServiceV2`). evodash follows v2's
removal profile: no logout, no census; per target a probe re-checks the name and the
delete is sent, in the target's slot; once the delete is answered the slot goes to the next
target, and the probes through the window and the 0.5 s hold run outside it. So the bound
charges to the slots what evodash's slots cover, and the rest once, for the last target:
  LB = ceil(N / C) * 2 * latency + mean W + latency + free_hold_s(v2) = 0.5 s
with mean W = 85 ms + lag; N=500, C=16, latency 20 ms, lag 200 ms: 32 * 40 ms + 285 ms +
20 ms + 0.5 s = 2.09 s (`lb_strict_s`: the last probe overlapping the window, 2.07 s).
It assumes free CPU: on this 2-core machine the client's own CPU (HTTP stack, audit lines
synced to disk, records) is what bounds evodash here. `lb_slot_held_s` keeps the previous
rule's bound (each slot held through its window, as v1.8's through its lag:
max(ceil(N/C) * mean(3 * latency + W), max t_i) + 0.5 s = 11.54 s), for the earlier figures.
The floor (`--floor`, default with v2) is measured as on the real servers: every name deleted
raw at once by a minimal aiohttp client, each probed 20 ms apart until its first 404, + hold.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import MongoClient

from tests import ops
from tests.bench.baseline_original import original_service
from tui.evolution.dialect import Dialect
from tui.evolution.v2.wire import V2Wire
from tui.evolution.v18.wire import V18Wire
from tui.lifecycle.removal import DeletePolicy
from tui.cli.wiring import build_services
from tui.lifecycle.scope import Scope
from tui.settings import Settings
from tui.simulator.v2 import DELETE_WINDOW_MS
from tui.store.wire_server import MongoWireServer

RESULTS = Path(__file__).parent / "results" / "clear_all.json"
RESULTS_V2 = Path(__file__).parent / "results" / "clear_all_v2.json"
API_KEY = "bench-global-key-0123456789"
DATABASE = "evodash_bench"
LATENCY_MS = 20
CLEANUP_LAG_MS = 200
SEED = 11
TS0 = 1_761_316_665
RESELLERS = (("r-fabio", "fabio"), ("r-maria", "maria"), ("r-zap", "zaplink"))
STATES = ("close", "connecting", "open")
# close: the logouts that take a quiet instance as quiet (DeletePolicy.quiet_logouts; the
# operation's census supplies the other samples) + delete + probe; open / connecting: one
# logout (it lands) + delete + probe
REQS_MIN = {"close": DeletePolicy().quiet_logouts + 2, "connecting": 3, "open": 3}
LAG_APPLIES = {"close": True, "connecting": False, "open": False}
# v2: no logout, no census: probe (re-check), delete, probe (absent after the window) - for
# every state, as v2's delete logs a connected instance out itself; the window applies to all
REQS_MIN_V2 = {"close": 3, "connecting": 3, "open": 3}
_NS = uuid.UUID("0b6c5c0e-6a43-4c3a-9d1e-4f0e2a7d9b11")


# ---------------------------------------------------------------------- fixture data
@dataclasses.dataclass
class Fixture:
    n: int
    instances: list[dict]
    records: list[dict]
    resellers: list[dict]

    @property
    def names(self) -> list[str]:
        return [i["name"] for i in self.instances]

    def mix(self) -> dict[str, int]:
        out = {s: 0 for s in STATES}
        for inst in self.instances:
            out[inst["state"]] += 1
        return out


def build_fixture(n: int, seed: int = SEED) -> Fixture:
    """Deterministic: exact thirds of states, shuffled with `seed`; one record per instance."""
    rnd = random.Random(f"clear-all-{seed}-{n}")
    states = [STATES[i % 3] for i in range(n)]
    rnd.shuffle(states)
    created = datetime(2025, 10, 24, 14, 37, 45, tzinfo=UTC)
    instances, records = [], []
    for i, state in enumerate(states):
        rid, base = RESELLERS[i % len(RESELLERS)]
        name = f"{base}_{i // len(RESELLERS) + 1}_{TS0 + i}"
        phone = f"5511{9_0000_0000 + i}"
        spec = {"name": name, "state": state, "token": f"TOK-{uuid.uuid5(_NS, name).hex[:12].upper()}",
                "instanceId": str(uuid.uuid5(_NS, "id:" + name))}
        if state == "open":
            spec |= {"owner": f"{phone}@s.whatsapp.net", "profileName": "Loja", "profileStatus": ""}
        instances.append(spec)
        records.append({"id": str(uuid.uuid5(_NS, "rec:" + name)), "reseller_id": rid,
                        "instance_name": name, "phone_number": phone,
                        "status": "connected" if state == "open" else "disconnected",
                        "daily_limit": 200, "created_at": created})
    resellers = [{"id": rid, "name": base.title(), "email": f"{rid}@example.com"}
                 for rid, base in RESELLERS]
    return Fixture(n, instances, records, resellers)


# ---------------------------------------------------------------------- lower bound
def per_instance_min_s(state: str, latency_s: float, lag_s: float, *, brief: bool = False) -> float:
    lag = lag_s if (brief or LAG_APPLIES[state]) else 0.0
    return REQS_MIN[state] * latency_s + lag


def v2_window_s(lag_s: float) -> tuple[float, float]:
    """(mean, max) of the v2 simulator's delete window with nothing flapping: U(55, 115) ms
    + the cleanup lag (`V2State._window_s`)."""
    low, high = DELETE_WINDOW_MS
    return (low + high) / 2000 + lag_s, high / 1000 + lag_s


def lower_bound_v2_s(fx: Fixture, c: int, latency_s: float, lag_s: float, *,
                     strict: bool = False) -> float:
    """v2, with evodash's v2 slot rule (a slot covers the re-check probe and the delete; the
    window, the probes through it and the hold come after the slot is given up):
    ceil(N/C) * 2 * latency (the last target's delete answered) + mean W + latency (its
    probe after the window) + v2's hold. `strict`: that probe overlaps the window."""
    hold = DeletePolicy().for_server(V2Wire.removal).hold_s
    mean_w, _max_w = v2_window_s(lag_s)
    in_slot = 2 * latency_s
    after = mean_w + (0.0 if strict else latency_s)
    return math.ceil(fx.n / c) * in_slot + after + hold


def lower_bound_v2_slot_held_s(fx: Fixture, c: int, latency_s: float, lag_s: float) -> float:
    """The v2 bound of the previous rule (each slot held through its target's window, as
    v1.8's is through its lag): max(ceil(N/C) * mean t_i, max t_i) + hold, t_i = 3 * latency
    + W. Kept for comparison with earlier figures; evodash no longer works that way."""
    hold = DeletePolicy().for_server(V2Wire.removal).hold_s
    mean_w, max_w = v2_window_s(lag_s)
    mix = fx.mix()
    mean = sum(n * (REQS_MIN_V2[s] * latency_s + mean_w) for s, n in mix.items()) / fx.n
    longest = max(REQS_MIN_V2[s] * latency_s + max_w for s, n in mix.items() if n)
    return max(math.ceil(fx.n / c) * mean, longest) + hold


def lower_bound_s(fx: Fixture, c: int, latency_s: float, lag_s: float, *, brief: bool = False,
                  dialect: str = "v1.8") -> float:
    """max(ceil(N/C) * mean t_i, max t_i, quiet span + t_close) + free hold: the verification
    that holds on the real server adds, per close instance, the logouts that find it quiet
    (and at least `quiet_logout_s` of watching, once per operation) and, once per operation,
    the absence hold of the last target (holds run outside the concurrency slots).
    `dialect="v2"`: `lower_bound_v2_s` (`brief` = its strict form)."""
    if dialect == Dialect.V2:
        return lower_bound_v2_s(fx, c, latency_s, lag_s, strict=brief)
    policy = DeletePolicy().for_server(V18Wire.removal)
    mix = fx.mix()
    mean = sum(k * per_instance_min_s(s, latency_s, lag_s, brief=brief) for s, k in mix.items()) / fx.n
    longest = max(per_instance_min_s(s, latency_s, lag_s, brief=brief) for s, k in mix.items() if k)
    quiet = (policy.quiet_logout_s + per_instance_min_s("close", latency_s, lag_s, brief=brief)
             if mix.get("close") else 0.0)
    return max(math.ceil(fx.n / c) * mean, longest, quiet) + policy.hold_s


# ---------------------------------------------------------------------- request byte counter
class RequestBytes:
    """httpx request hook: bytes of request line + headers + body (what the client sends)."""

    def __init__(self) -> None:
        self.total = 0
        self.count = 0

    async def __call__(self, request: httpx.Request) -> None:
        head = len(request.method) + len(request.url.raw_path) + 12  # "M P HTTP/1.1\r\n"
        head += sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2
        body = request.headers.get("content-length")
        self.total += head + (int(body) if body else 0)
        self.count += 1


class _Counted(httpx.AsyncBaseTransport):
    """A transport that counts what passes through it (`RequestBytes`), then sends it."""

    def __init__(self, inner: httpx.AsyncBaseTransport, counter: RequestBytes) -> None:
        self.inner = inner
        self.counter = counter

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.counter(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# ---------------------------------------------------------------------- environment
class SimProcess:
    """The simulator in a child process (`python -m tui.simulator.cli --port 0`)."""

    def __init__(self, seed: int, dialect: str = "v1.8"):
        self.seed = seed
        self.dialect = dialect
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> "SimProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui.simulator.cli", "--port", "0", "--api-key", API_KEY,
             "--latency-ms", str(LATENCY_MS), "--seed", str(self.seed),
             "--dialect", str(self.dialect)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=Path(__file__).resolve().parents[2])
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"(http://\S+)", line)
        if not found:
            self.stop()
            raise RuntimeError(f"simulator did not start: {line!r}")
        self.url = found.group(1)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


class SimThread:
    def __init__(self, seed: int, dialect: str = "v1.8"):
        from tui.simulator.server import ThreadedSimulator

        self.sim = ThreadedSimulator(api_key=API_KEY, latency_ms=LATENCY_MS, seed=seed,
                                     dialect=dialect)
        self.url = ""

    def start(self) -> "SimThread":
        self.sim.start()
        self.url = self.sim.url
        return self

    def stop(self) -> None:
        self.sim.stop()


class Env:
    def __init__(self, sim_url: str, mongo_uri: str, sim_pid: int | None = None,
                 mongo_pid: int | None = None,
                 dialect: str = "v1.8", lag_ms: float = CLEANUP_LAG_MS):
        self.dialect = dialect
        self.lag_ms = lag_ms
        self.sim_url = sim_url
        self.sim_pid = sim_pid
        self.mongo_pid = mongo_pid
        self.mongo_uri = mongo_uri
        self.control = httpx.AsyncClient(base_url=sim_url, timeout=60, trust_env=False)

    async def reset(self, fx: Fixture) -> None:
        """Fresh identical state: simulator reset + faults + seed, Mongo dropped + re-seeded."""
        (await self.control.post("/_sim/reset")).raise_for_status()
        (await self.control.post("/_sim/faults", json={
            "latency_ms": LATENCY_MS, "cleanup_lag_ms": self.lag_ms})).raise_for_status()
        (await self.control.post("/_sim/instances", json=fx.instances)).raise_for_status()
        await asyncio.to_thread(self._seed_mongo, fx)

    def _seed_mongo(self, fx: Fixture) -> None:
        client: MongoClient = MongoClient(self.mongo_uri, serverSelectionTimeoutMS=5000)
        try:
            db = client[DATABASE]
            db["whatsapp_connections"].drop()
            db["resellers"].drop()
            db["resellers"].insert_many([dict(r) for r in fx.resellers])
            db["whatsapp_connections"].insert_many([dict(r) for r in fx.records])
        finally:
            client.close()

    def count_records(self) -> int:
        client: MongoClient = MongoClient(self.mongo_uri, serverSelectionTimeoutMS=5000)
        try:
            return client[DATABASE]["whatsapp_connections"].count_documents({})
        finally:
            client.close()

    def cpu(self) -> tuple[float, float | None, float | None]:
        """(this process' CPU seconds, the simulator process' CPU seconds when it has its own,
        the MongoDB-wire server's)."""
        return time.process_time(), _proc_cpu(self.sim_pid), _proc_cpu(self.mongo_pid)

    async def stats(self) -> dict:
        return (await self.control.get("/_sim/stats")).json()

    async def state(self) -> dict:
        return (await self.control.get("/_sim/state")).json()

    async def check(self, fx: Fixture) -> dict:
        """Correctness right after a run: state dump first (no time passes), then probes."""
        dump = await self.state()
        names = set(fx.names)
        # v1.8: `instances` flags what is in memory; v2: `instances` is the memory, a row
        # without a live instance is `reserved` (and so is a row whose delete is pending)
        in_memory = [i["name"] for i in dump["instances"]
                     if i.get("in_memory", True) and i["name"] in names]
        reserved = [n for n in dump["reserved"] if n in names]
        records_left = await asyncio.to_thread(self.count_records)
        sem = asyncio.Semaphore(32)
        not_absent: list[str] = []

        async def probe(name: str) -> None:
            async with sem:
                r = await self.control.get(f"/instance/connectionState/{name}",
                                           headers={"apikey": API_KEY})
                if r.status_code != 404:
                    not_absent.append(name)

        await asyncio.gather(*(probe(n) for n in fx.names))
        return {"left_in_memory": len(in_memory), "reserved_at_end": len(reserved),
                "probe_not_absent_after": len(not_absent), "records_left": records_left,
                "correct": not in_memory and not reserved and not not_absent and records_left == 0}

    async def aclose(self) -> None:
        await self.control.aclose()


class SnapshotBeforeDeleteMany:
    """Wraps the motor collection given to the baseline: just before `delete_many` it records
    which record names the simulator still knows (in memory or reserved)."""

    def __init__(self, col: Any, env: Env, names: set[str]):
        self._col, self._env, self._names = col, env, names
        self.known_at_delete: list[str] = []

    def find(self, *args: Any, **kwargs: Any) -> Any:
        return self._col.find(*args, **kwargs)

    async def delete_many(self, query: dict) -> Any:
        dump = await self._env.state()
        # v2: a name is known while in memory or while it has a row (any clientName)
        known = [i["name"] for i in dump["instances"]] + [r["name"] for r in dump.get("rows", [])]
        self.known_at_delete = sorted({n for n in known if n in self._names})
        return await self._col.delete_many(query)


# ---------------------------------------------------------------------- runs
def load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


async def run_baseline(env: Env, fx: Fixture, variant: str) -> dict:
    await env.reset(fx)
    counter = RequestBytes()
    motor: AsyncIOMotorClient = AsyncIOMotorClient(env.mongo_uri, serverSelectionTimeoutMS=5000)
    col = SnapshotBeforeDeleteMany(motor[DATABASE]["whatsapp_connections"], env, set(fx.names))
    svc = original_service(env.dialect, env.sim_url, API_KEY, col,
                           event_hooks={"request": [counter]})
    before = await env.stats()
    load0 = load()
    cpu0 = env.cpu()
    started = time.perf_counter()
    if variant == "baseline":
        result = await svc.cleanup_all_instances()
    else:
        result = await svc.cleanup_via_delete_instance()
    wall = time.perf_counter() - started
    cpu1 = env.cpu()
    after = await env.stats()
    check = await env.check(fx)
    motor.close()
    check |= _cpu(cpu0, cpu1)
    check["records_deleted_while_name_known"] = len(col.known_at_delete)
    check["errors_reported"] = len(result.get("errors", [])) if isinstance(result, dict) else None
    check["reported"] = {k: v for k, v in result.items() if k != "errors"}
    return _row(variant, fx, 1, wall, before, after, counter, check, load0, env)


async def run_evodash(env: Env, fx: Fixture, c: int, policy_overrides: dict, tmp: Path) -> dict:
    await env.reset(fx)
    settings = Settings.model_validate({
        "evolution": {"url": env.sim_url, "api_key": API_KEY, "timeout_s": 10},
        "mongo": {"uri": env.mongo_uri, "database": DATABASE},
        "audit_log": str(tmp / f"audit-{fx.n}-{c}.jsonl"),
    })
    services = build_services(settings, concurrency=c)
    service = services.service
    if policy_overrides:
        service.ctx.policy = dataclasses.replace(service.policy, **policy_overrides)
    service.ctx.rng = random.Random(SEED)  # deterministic poll jitter
    counter = RequestBytes()
    services.client._transport = _Counted(services.client._transport, counter)  # bench-only
    before = await env.stats()
    load0 = load()
    cpu0 = env.cpu()
    started = time.perf_counter()
    plan = await ops.plan_clear_all(service, Scope.all())
    planned = time.perf_counter() - started
    summary = await ops.clear_all(service, Scope.all(), plan=plan, concurrency=c)
    wall = time.perf_counter() - started
    cpu1 = env.cpu()
    after = await env.stats()
    await services.aclose()
    check = await env.check(fx)
    outcomes: dict[str, int] = {}
    for t in summary.targets:
        outcomes[t.outcome.value] = outcomes.get(t.outcome.value, 0) + 1
    check["outcomes"] = outcomes
    check |= _cpu(cpu0, cpu1)
    check["client_stats"] = {"requests": services.client.stats.requests,
                             "retries": services.client.stats.retries,
                             "bytes_in": services.client.stats.bytes_in}
    row = _row("evodash", fx, c, wall, before, after, counter, check, load0, env)
    row["policy"] = dataclasses.asdict(service.policy)
    row["plan_s"] = round(planned, 3)  # (part of wall_s: listing, loading, classifying)
    return row


def _proc_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of another process, None when it cannot be read."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _cpu(cpu0: tuple, cpu1: tuple) -> dict:
    out = {"client_cpu_s": round(cpu1[0] - cpu0[0], 3)}
    if cpu0[1] is not None and cpu1[1] is not None:
        out["sim_cpu_s"] = round(cpu1[1] - cpu0[1], 3)
    if cpu0[2] is not None and cpu1[2] is not None:
        out["db_cpu_s"] = round(cpu1[2] - cpu0[2], 3)
    return out


def _row(variant: str, fx: Fixture, c: int, wall: float, before: dict, after: dict,
         counter: RequestBytes, check: dict, load0: list[float], env: Env) -> dict:
    routes = {k: after["requests"].get(k, 0) - before["requests"].get(k, 0)
              for k in after["requests"]}
    requests = after["total"] - before["total"]
    bytes_out = after["bytes_out"] - before["bytes_out"]
    lat, lag = LATENCY_MS / 1000, env.lag_ms / 1000
    lb = lower_bound_s(fx, c, lat, lag, dialect=env.dialect)
    brief = lower_bound_s(fx, c, lat, lag, brief=True, dialect=env.dialect)
    return {
        "variant": variant, "dialect": env.dialect, "n": fx.n, "c": c, "estimate": False,
        "wall_s": round(wall, 3), "lb_s": round(lb, 3),
        ("lb_strict_s" if env.dialect == Dialect.V2 else "lb_brief_s"): round(brief, 3),
        **({"lb_slot_held_s": round(lower_bound_v2_slot_held_s(fx, c, lat, lag), 3)}
           if env.dialect == Dialect.V2 else {}),
        "wall_over_lb": round(wall / lb, 3), "requests": requests,
        "requests_per_instance": round(requests / fx.n, 3),
        "routes": {k: v for k, v in routes.items() if v},
        "server_bytes_per_instance": round(bytes_out / fx.n, 1),
        "client_bytes_per_instance": round(counter.total / fx.n, 1),
        "mix": fx.mix(), "load_before": load0, "load_after": load(), **check,
    }


def extrapolate(rows: list[dict], n: int, variant: str, fx: Fixture,
                dialect: str = "v1.8", lag_ms: float = CLEANUP_LAG_MS) -> dict | None:
    """Linear fit of wall and requests (and of bytes/instance) over the measured sizes."""
    pts = sorted((r for r in rows if r["variant"] == variant and not r["estimate"]),
                 key=lambda r: r["n"])
    if not pts:
        return None

    def fit(key: str) -> tuple[float, float]:
        if len(pts) == 1:
            return 0.0, pts[0][key] / pts[0]["n"]
        a, b = pts[0], pts[-1]
        slope = (b[key] - a[key]) / (b["n"] - a["n"])
        return a[key] - slope * a["n"], slope

    def fit_per(key: str) -> float:  # per-instance value, linear in N
        if len(pts) == 1:
            return pts[0][key]
        a, b = pts[0], pts[-1]
        slope = (b[key] - a[key]) / (b["n"] - a["n"])
        return a[key] + slope * (n - a["n"])

    w0, w1 = fit("wall_s")
    q0, q1 = fit("requests")
    lat, lag = LATENCY_MS / 1000, lag_ms / 1000
    wall = w0 + w1 * n
    lb = lower_bound_s(fx, 1, lat, lag, dialect=dialect)
    return {"variant": variant, "dialect": dialect, "n": n, "c": 1, "estimate": True,
            "wall_s": round(wall, 1), "lb_s": round(lb, 3),
            "lb_brief_s": round(lower_bound_s(fx, 1, lat, lag, brief=True, dialect=dialect), 3),
            "wall_over_lb": round(wall / lb, 3), "requests": round(q0 + q1 * n),
            "requests_per_instance": round((q0 + q1 * n) / n, 3),
            "server_bytes_per_instance": round(fit_per("server_bytes_per_instance"), 1),
            "client_bytes_per_instance": pts[-1]["client_bytes_per_instance"],  # per-request constant
            "mix": fx.mix(), "correct": None,
            "from": [r["n"] for r in pts]}


FLOOR_POLL_S = 0.02
FLOOR_LIMIT_S = 30.0


async def run_floor(env: Env, fx: Fixture) -> dict:
    """The simulator's floor, measured as on the real servers (bench_real_clear_all): every
    name deleted raw at once by a minimal aiohttp client (no logout, no re-check, no record,
    no audit log, no concurrency limit), each probed 20 ms apart until its first 404, plus the
    dialect's hold. What this server and this machine need to free the names, with nothing
    of evodash's own work; `records_lost` is not measured (it touches no record)."""
    import aiohttp

    await env.reset(fx)
    hold = DeletePolicy().for_server(
        V2Wire.removal if env.dialect == Dialect.V2 else V18Wire.removal).hold_s
    headers = {"apikey": API_KEY}
    load0 = load()
    cpu0 = env.cpu()
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(env.sim_url, connector=connector, headers=headers) as http:
        started = time.perf_counter()

        async def delete(name: str) -> int:
            async with http.delete(f"/instance/delete/{name}") as r:
                await r.read()
                return r.status

        statuses = await asyncio.gather(*(delete(n) for n in fx.names), return_exceptions=True)

        async def first_absent(name: str) -> float | None:
            end = started + FLOOR_LIMIT_S
            while time.perf_counter() < end:
                async with http.get(f"/instance/connectionState/{name}") as r:
                    await r.read()
                    if r.status == 404:
                        return time.perf_counter() - started
                await asyncio.sleep(FLOOR_POLL_S)
            return None

        freed = await asyncio.gather(*(first_absent(n) for n in fx.names))
    cpu1 = env.cpu()
    seen = [t for t in freed if t is not None]
    last = max(seen) if seen else FLOOR_LIMIT_S
    codes: dict[str, int] = {}
    for st in statuses:
        codes[str(st) if isinstance(st, int) else type(st).__name__] = (
            codes.get(str(st) if isinstance(st, int) else type(st).__name__, 0) + 1)
    return {"variant": "floor", "dialect": env.dialect, "n": fx.n, "estimate": False,
            "wall_s": round(last + hold, 3), "last_first_404_s": round(last, 3),
            "hold_s": hold, "delete_statuses": codes, "never_absent": len(fx.names) - len(seen),
            "load_before": load0, **_cpu(cpu0, cpu1)}


# ---------------------------------------------------------------------- report
def fmt_row(r: dict) -> str:
    est = "~" if r["estimate"] else " "
    corr = "n/a" if r.get("correct") is None else ("yes" if r["correct"] else "NO")
    extra = ""
    if not r["estimate"]:
        if r["variant"].startswith("baseline"):
            extra = (f"known@delete_many={r['records_deleted_while_name_known']} "
                     f"reserved@end={r['reserved_at_end']} mem@end={r['left_in_memory']}")
        else:
            extra = " ".join(f"{k}={v}" for k, v in sorted(r["outcomes"].items()))
        if "plan_s" in r:
            extra += f" plan={r['plan_s']:.2f}s"
        extra += f" cpu={r['client_cpu_s']:.1f}s"
        if "sim_cpu_s" in r or "db_cpu_s" in r:
            extra += f" sim={r.get('sim_cpu_s', '?')}s db={r.get('db_cpu_s', '?')}s"
        extra += f" load={r['load_before'][0] if r['load_before'] else '?'}"
    else:
        extra = f"ESTIMATE (linear from N={r['from']})"
    return (f"{r['variant']:<12}{r['n']:>6}{r['c']:>4} {est}{r['wall_s']:>9.2f} {r['lb_s']:>8.2f}"
            f"{r['wall_over_lb']:>8.2f} {r['requests_per_instance']:>8.2f}"
            f"{r['server_bytes_per_instance']:>11.0f}{r['client_bytes_per_instance']:>10.0f}"
            f"  {corr:<5} {extra}")


def fmt_floor(r: dict) -> str:
    return (f"{'floor':<12}{r['n']:>6}{'all':>4}  {r['wall_s']:>9.2f}  (last first 404 "
            f"{r['last_first_404_s']:.2f} s + hold {r['hold_s']:.1f} s; never absent "
            f"{r['never_absent']}; deletes {r['delete_statuses']}) cpu={r['client_cpu_s']:.1f}s"
            f" load={r['load_before'][0] if r['load_before'] else '?'}")


HEADER = (f"{'variant':<12}{'N':>6}{'C':>4}  {'wall s':>9} {'LB s':>8}{'wall/LB':>8} "
          f"{'req/inst':>8}{'srv B/inst':>11}{'cli B/inst':>10}  {'ok':<5} notes")


def targets(rows: list[dict], sizes: list[int]) -> list[tuple[str, str, str]]:
    out = []

    def get(variant: str, n: int, c: int = 1) -> dict | None:
        return next((r for r in rows if r["variant"] == variant and r["n"] == n and r["c"] == c), None)

    base, evo = get("baseline", 500), get("evodash", 500, 16)
    if base and evo:
        speed = base["wall_s"] / evo["wall_s"]
        note = " (baseline ESTIMATED)" if base["estimate"] else ""
        out.append(("evodash C=16 >= 25x faster than baseline at N=500",
                    "PASS" if speed >= 25 else "MISS", f"{speed:.1f}x{note}"))
    for n in sizes:
        r = get("evodash", n, 16)
        if r:
            out.append((f"evodash C=16 within 1.3x of lower bound, N={n}",
                        "PASS" if r["wall_over_lb"] <= 1.3 else "MISS",
                        f"{r['wall_s']:.2f} s / LB {r['lb_s']:.2f} s = {r['wall_over_lb']:.2f}x"))
        f = next((x for x in rows if x["variant"] == "floor" and x["n"] == n), None)
        if r and f:
            ratio = r["wall_s"] / f["wall_s"]
            out.append((f"evodash C=16 within 1.3x of the measured floor, N={n}",
                        "PASS" if ratio <= 1.3 else "MISS",
                        f"{r['wall_s']:.2f} s / floor {f['wall_s']:.2f} s = {ratio:.2f}x"))
    evo_rows = [r for r in rows if r["variant"] == "evodash"]
    for c in sorted({r["c"] for r in evo_rows}):
        per = {r["n"]: r["requests_per_instance"] for r in evo_rows if r["c"] == c}
        if len(per) < 2:
            continue
        text = ", ".join(f"N={n}: {v:.2f}" for n, v in sorted(per.items()))
        ok = max(per.values()) / min(per.values()) <= 1.15
        out.append((f"evodash C={c} O(1) requests/instance (max/min over N <= 1.15)",
                    "PASS" if ok else "MISS", text))
    for variant in ("baseline", "baseline-di"):
        b = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["n"])
        if b:
            text = ", ".join(f"N={r['n']}: {r['server_bytes_per_instance']:.0f} B/inst"
                             f"{' (est)' if r['estimate'] else ''}" for r in b)
            out.append((f"{variant} server bytes/instance vs N (info)", "INFO", text))
    return out


# ---------------------------------------------------------------------- main
def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


async def amain(args: argparse.Namespace) -> dict:
    sizes, concs, di_sizes = _ints(args.sizes), _ints(args.concurrency), _ints(args.di_sizes)
    overrides = {k: v for k, v in (("first_poll_s", args.first_poll_s),
                                   ("poll_factor", args.poll_factor),
                                   ("max_poll_s", args.max_poll_s)) if v is not None}
    dialect = args.dialect
    sim = (SimProcess if args.sim_mode == "process" else SimThread)(SEED, dialect).start()
    mongo = MongoWireServer().start()
    env = Env(sim.url, mongo.uri, sim.proc.pid if isinstance(sim, SimProcess) and sim.proc else None,
              mongo.pid,
              dialect=dialect, lag_ms=args.cleanup_lag_ms)
    rows: list[dict] = []
    print(HEADER, flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="evodash-bench-") as tmp:
            for n in sorted(set(di_sizes)):
                if args.no_baseline:
                    break
                fx = build_fixture(n)
                rows.append(await run_baseline(env, fx, "baseline-di"))
                print(fmt_row(rows[-1]), flush=True)
            for n in sizes:
                fx = build_fixture(n)
                if not args.no_baseline and n <= args.skip_baseline_above:
                    rows.append(await run_baseline(env, fx, "baseline"))
                    print(fmt_row(rows[-1]), flush=True)
                if args.floor:
                    floor = await run_floor(env, fx)
                    rows.append(floor)
                    print(fmt_floor(floor), flush=True)
                for c in concs:
                    rows.append(await run_evodash(env, fx, c, overrides, Path(tmp)))
                    print(fmt_row(rows[-1]), flush=True)
            for variant, measured in (("baseline", sizes), ("baseline-di", di_sizes)):
                done = {r["n"] for r in rows if r["variant"] == variant}
                for n in sizes:
                    if n not in done:
                        est = extrapolate(rows, n, variant, build_fixture(n), dialect,
                                          args.cleanup_lag_ms)
                        if est:
                            rows.append(est)
                            print(fmt_row(est), flush=True)
    finally:
        await env.aclose()
        mongo.stop()
        sim.stop()
    verdicts = targets(rows, sizes)
    print()
    for name, verdict, detail in verdicts:
        print(f"{verdict:<5} {name}: {detail}")
    bound = ("max(ceil(N/C) * mean_i(t_i), max_i t_i, quiet_logout_s + t_close) "
             "+ free_hold_s; t_close = (quiet_logouts + 2)*lat + lag; "
             "t_open = t_connecting = 3*lat (+lag in lb_brief_s)")
    if dialect == Dialect.V2:
        bound = ("ceil(N/C) * 2*lat (re-check probe + delete, in the slot) + mean W + lat "
                 "(the probe after the window) + free_hold_s(v2 = 0.5 s), W = U(55, 115) ms "
                 "+ lag (without that probe's lat in lb_strict_s; lb_slot_held_s: the "
                 "previous rule's bound, each slot held through its window)")
    return {
        "python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
        "dialect": dialect, "sim_mode": args.sim_mode, "latency_ms": LATENCY_MS,
        "cleanup_lag_ms": args.cleanup_lag_ms, "seed": SEED, "policy_overrides": overrides,
        "lower_bound": bound,
        "rows": rows, "targets": [{"target": a, "verdict": b, "detail": c} for a, b, c in verdicts],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,500,2000")
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--skip-baseline-above", type=int, default=500)
    parser.add_argument("--di-sizes", default="10,30",
                        help="sizes for the delete_instance-per-instance baseline ('' = none)")
    parser.add_argument("--no-baseline", action="store_true", help="evodash runs only")
    parser.add_argument("--first-poll-s", type=float)
    parser.add_argument("--poll-factor", type=float)
    parser.add_argument("--max-poll-s", type=float)
    parser.add_argument("--floor", action=argparse.BooleanOptionalAction, default=None,
                        help="also measure the floor (raw deletes at once until each probes "
                             "absent, + hold); default on with --dialect v2")
    parser.add_argument("--sim-mode", choices=("process", "thread"), default="process")
    parser.add_argument("--dialect", choices=[d.value for d in Dialect], default="v1.8",
                        help="the simulator's dialect (and the original's form); default v1.8")
    parser.add_argument("--cleanup-lag-ms", type=float, default=CLEANUP_LAG_MS,
                        help=f"the simulator's cleanup lag (default {CLEANUP_LAG_MS})")
    parser.add_argument("--out", default=None,
                        help=f"default {RESULTS} (v2: {RESULTS_V2})")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = str(RESULTS_V2 if args.dialect == Dialect.V2 else RESULTS)
    if args.floor is None:
        args.floor = args.dialect == Dialect.V2
    report = asyncio.run(amain(args))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
