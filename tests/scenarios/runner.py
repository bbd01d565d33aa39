"""The recording machinery of the server scenarios: raw HTTP against any Evolution server,
v1.8 or v2 (the real one or the simulator), every answer written down over time.

Owns: `Recorder` (one scenario's requests, each an event with its time, route, status, body
shape, state and latency; continuous probe sampling kept as runs of equal states; free-form
`marks`), the body-shape rule, name placeholders (the random names a run uses are written as
the scenario's own labels, so two recordings compare), and the restart hook. Raw httpx on
purpose: what is recorded is what the server says, not what evodash makes of it.

On evodash's simulator (`sim_control`) the v2 extras come from its control API instead: a row
behind the server's back (`/_sim/instances` with `live: false`), the rows of the database
(`/_sim/state`), the connection attempts (`/_sim/attempts`); the "other server" is a second
simulator sharing the first one's database (`other_url`).

Dialects (contract `v2-contract.md` §1): the v1.8 requests are exactly what they always were.
On v2 a create without `integration` is refused (`400 Invalid integration`), so Baileys is
named; an instance restart is `POST` (v1.8 `PUT`); fetchInstances rows are flat (`name`,
`connectionStatus`, `clientName`) instead of `{"instance": {...}}`. Only what v2 alone has
(a second server on the same database, `/metrics`, direct database rows, the server log)
is optional and used by the v2 scenarios; none of it is asked of a v1.8 server.

Never written: the api key, instance tokens (v2's `hash` is the token string and every
fetchInstances row carries `token`): bodies are kept as shapes, only `LITERAL_KEYS` values.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import shlex
import statistics
import string
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

LITERAL_KEYS = {"state", "status", "error", "count"}  # values kept in a shape, not just types
DIALECTS = ("v1.8", "v2")
V2_BAILEYS = "WHATSAPP-BAILEYS"  # what v2 must be told to make the instance v1.8 makes by default
_METRIC_STATE = re.compile(r'^evolution_instance_state\{instance="([^"]*)",integration="[^"]*",'
                           r'state="([^"]*)"\} 1')


def dialect_of(root: dict) -> str:
    """The dialect of a server from its `GET /` body: `version` 2.x is v2, anything else
    (1.8.x, or no version at all, as the v1.8 recorder always assumed) v1.8."""
    version = str(root.get("version") or "")
    return "v2" if version.split(".")[0] == "2" else "v1.8"


async def detect_dialect(url: str, timeout_s: float = 60.0) -> tuple[str, dict]:
    """`GET /` (no key) once: the dialect and the root body (v2's `GET /` can be slow: it
    asks WhatsApp for its web version, hence the generous timeout)."""
    async with httpx.AsyncClient(timeout=timeout_s) as http:
        response = await http.get(url.rstrip("/") + "/")
    try:
        body = response.json()
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    return dialect_of(body), body


def shape(value: Any, key: str | None = None) -> Any:
    """The JSON shape of an answer body: types instead of values, except for the keys whose
    value *is* the behaviour (`state`, `status`, `error`, `count`)."""
    if key in LITERAL_KEYS and not isinstance(value, (dict, list)):
        return value
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return ["list", shape(value[0])] if value else ["list"]
    if value is None:
        return "null"
    return type(value).__name__


def probe_state(status: int, body: Any) -> str:
    """What a `connectionState` answer says of a name: absent / reserved / the state."""
    if status == 404:
        return "absent"
    if status == 200 and isinstance(body, dict):
        inner = body.get("instance")
        if isinstance(inner, dict):
            return str(inner.get("state") or "reserved")
    return f"http-{status}"


@dataclass
class Sample:
    """Continuous probes of one name: states over time, kept as runs."""

    runs: list[list[Any]] = field(default_factory=list)  # [t_first, t_last, count, state]
    latencies: list[float] = field(default_factory=list)

    def add(self, t: float, state: str, ms: float) -> None:
        self.latencies.append(ms)
        if self.runs and self.runs[-1][3] == state:
            self.runs[-1][1] = t
            self.runs[-1][2] += 1
        else:
            self.runs.append([t, t, 1, state])

    @property
    def states(self) -> list[str]:
        return [r[3] for r in self.runs]


class Recorder:
    """One scenario's conversation with a server."""

    def __init__(self, url: str, api_key: str, *, restart_cmd: str | None = None,
                 sim_control: bool = False, run_id: str | None = None,
                 timeout_s: float = 60.0, dialect: str = "v1.8",
                 other_url: str | None = None, other_start_cmd: str | None = None,
                 other_stop_cmd: str | None = None, db_cmd: str | None = None,
                 server_log: str | None = None) -> None:
        if dialect not in DIALECTS:
            raise ValueError(f"dialect {dialect!r} is not one of {DIALECTS}")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.restart_cmd = restart_cmd
        self.sim_control = sim_control
        self.dialect = dialect
        self.client_name: str | None = None  # v2's `clientName` from `GET /`
        self.client_names: dict[str, str | None] = {}  # per server (`via`), once asked
        # v2 only, optional: a second server on the same database (another clientName), a
        # command that runs SQL from stdin against that database, the server's log file.
        self.other_url = other_url.rstrip("/") if other_url else None
        self.other_start_cmd = other_start_cmd
        self.other_stop_cmd = other_stop_cmd
        self.db_cmd = db_cmd
        self.server_log = server_log
        letters = string.ascii_lowercase + string.digits
        self.run_id = run_id or "".join(random.choice(letters) for _ in range(5))
        self.events: list[dict[str, Any]] = []
        self.marks: dict[str, Any] = {}
        self._names: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._t0 = time.monotonic()
        self.http = httpx.AsyncClient(base_url=self.url, headers={"apikey": api_key},
                                      timeout=timeout_s,
                                      limits=httpx.Limits(max_connections=64))
        self._clients = {"this": self.http}
        if self.other_url:
            self._clients["other"] = httpx.AsyncClient(
                base_url=self.other_url, headers={"apikey": api_key}, timeout=timeout_s)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    # ------------------------------------------------------------------ names
    def name(self, label: str) -> str:
        """The real instance name of a scenario label (unique per run)."""
        if label not in self._names:
            real = f"sc{self.run_id}{label}"
            self._names[label], self._labels[real] = real, label
        return self._names[label]

    def _label_text(self, text: str) -> str:
        for real, label in self._labels.items():
            text = text.replace(real, "{" + label + "}")
        return text

    def reset_clock(self) -> None:
        """Event times count from here (after a fresh start of the server)."""
        self._t0 = time.monotonic()

    def now(self) -> float:
        return round(time.monotonic() - self._t0, 4)

    def mark(self, key: str, value: Any) -> None:
        self.marks[key] = value

    # ------------------------------------------------------------------ requests
    async def request(self, op: str, method: str, path: str, label: str | None = None, *,
                      body: Any = None, params: dict | None = None,
                      record: bool = True, via: str = "this",
                      headers: dict | None = None) -> tuple[int, Any, float]:
        """One request; returns (status, parsed body or None, latency ms). `via="other"`:
        the second server (v2, same database, another clientName); `headers` replace the
        defaults (e.g. an instance token as `apikey`: never recorded)."""
        started = time.monotonic()
        t = self.now()
        response = await self._clients[via].request(method, path, json=body, params=params,
                                                    headers=headers)
        ms = (time.monotonic() - started) * 1000
        try:
            parsed = response.json() if response.content else None
        except ValueError:
            parsed = None
        if record:
            event: dict[str, Any] = {"t": t, "op": op, "status": response.status_code,
                                     "ms": round(ms, 1)}
            if label is not None:
                event["name"] = label
            if via != "this":
                event["via"] = via
            event["shape"] = "empty" if not response.content else shape(parsed)
            message = _message(parsed)
            if message is not None:
                event["message"] = self._label_text(message)
            if op == "probe":
                event["state"] = probe_state(response.status_code, parsed)
            self.events.append(event)
        return response.status_code, parsed, ms

    async def root(self, *, via: str = "this") -> dict:
        _, body, _ = await self.request("root", "GET", "/", via=via)
        root = body if isinstance(body, dict) else {}
        self.client_names[via] = root.get("clientName")
        if via == "this":
            self.client_name = root.get("clientName")
        return root

    def create_body(self, label: str, extra: dict[str, Any]) -> dict[str, Any]:
        """v1.8: the name and the extras, as always. v2: Baileys unless the extras name
        another integration (v2 refuses a create without one)."""
        if self.dialect == "v2":
            return {"instanceName": self.name(label), "integration": V2_BAILEYS, **extra}
        return {"instanceName": self.name(label), **extra}

    async def create_answer(self, label: str, *, via: str = "this",
                            **extra: Any) -> tuple[int, Any, float]:
        """A create, with the parsed answer (v2 callers take the token from `hash` to use
        it, never to write it down)."""
        return await self.request("create", "POST", "/instance/create", label,
                                  body=self.create_body(label, extra), via=via)

    async def create(self, label: str, *, via: str = "this", **extra: Any) -> int:
        status, _, _ = await self.create_answer(label, via=via, **extra)
        return status

    async def probe(self, label: str, *, record: bool = True, via: str = "this") -> str:
        status, body, _ = await self.request(
            "probe", "GET", f"/instance/connectionState/{self.name(label)}", label, record=record,
            via=via)
        return probe_state(status, body)

    async def logout(self, label: str, *, via: str = "this") -> int:
        status, _, _ = await self.request("logout", "DELETE",
                                          f"/instance/logout/{self.name(label)}", label, via=via)
        return status

    async def delete(self, label: str, *, via: str = "this") -> int:
        status, _, _ = await self.request("delete", "DELETE",
                                          f"/instance/delete/{self.name(label)}", label, via=via)
        return status

    async def connect(self, label: str, *, via: str = "this") -> int:
        status, _, _ = await self.request("connect", "GET",
                                          f"/instance/connect/{self.name(label)}", label, via=via)
        return status

    async def restart_instance(self, label: str, *, via: str = "this") -> int:
        """The instance restart route: v1.8 `PUT`, v2 `POST`."""
        method = "POST" if self.dialect == "v2" else "PUT"
        status, _, _ = await self.request("restart_instance", method,
                                          f"/instance/restart/{self.name(label)}", label, via=via)
        return status

    async def fetch_one(self, label: str, *, via: str = "this") -> int:
        status, _, _ = await self.request("fetch_one", "GET", "/instance/fetchInstances", label,
                                          params={"instanceName": self.name(label)}, via=via)
        return status

    async def rows(self, *, via: str = "this", apikey: str | None = None) -> dict[str, dict]:
        """The full fetchInstances, as {label: facts} for this run's names: v1.8 `{status}`
        from the `instance` wrapper, v2 `{connectionStatus, own_client}` from the flat row
        (`own_client`: the row's clientName is that of the server asked). `apikey`: ask with an
        instance token instead of the global key (its value is never recorded)."""
        headers = {"apikey": apikey} if apikey else None
        status, body, _ = await self.request("fetch_all", "GET", "/instance/fetchInstances",
                                             via=via, headers=headers)
        out: dict[str, dict] = {}
        if status == 200 and isinstance(body, list):
            for item in body:
                if not isinstance(item, dict):
                    continue
                if self.dialect == "v2":
                    name = item.get("name")
                    facts = {"connectionStatus": item.get("connectionStatus"),
                             "own_client": item.get("clientName") == self.client_names.get(via)}
                else:
                    inner = item.get("instance") or {}
                    name = inner.get("instanceName") if isinstance(inner, dict) else None
                    facts = {"status": inner.get("status") if isinstance(inner, dict) else None}
                if name in self._labels:
                    out[self._labels[name]] = facts
        return out

    async def listed(self, *, via: str = "this") -> set[str]:
        """The labels of this run's names that the full fetchInstances lists."""
        return set(await self.rows(via=via))

    # ------------------------------------------------------------------ v2 only, optional
    async def metrics(self, *, via: str = "this") -> dict[str, str]:
        """v2 `/metrics` (Prometheus, memory side): {label: state} of this run's names in
        `evolution_instance_state`; recorded with the instance total."""
        t = self.now()
        response = await self._clients[via].get("/metrics")
        states: dict[str, str] = {}
        total = None
        for line in response.text.splitlines():
            match = _METRIC_STATE.match(line)
            if match and match.group(1) in self._labels:
                states[self._labels[match.group(1)]] = match.group(2)
            elif line.startswith("evolution_instances_total "):
                total = int(float(line.split()[1]))
        event: dict[str, Any] = {"t": t, "op": "metrics", "status": response.status_code,
                                 "states": states, "instances_total": total}
        if via != "this":
            event["via"] = via
        self.events.append(event)
        return states

    @property
    def has_db(self) -> bool:
        """Rows can be written behind the server's back: `db_cmd` (SQL) on a real server,
        the control API (`/_sim/instances` with `live: false`) on the simulator."""
        return bool(self.db_cmd) or self.sim_control

    async def sql(self, tag: str, query: str) -> str | None:
        """Run SQL (stdin of `db_cmd`) against the server's database; the output, names
        written as labels, is recorded under `tag` (the query is not). None without db_cmd."""
        if not self.db_cmd:
            return None
        proc = await asyncio.create_subprocess_exec(
            *shlex.split(self.db_cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        out, err = await proc.communicate(query.encode())
        if proc.returncode != 0:
            raise RuntimeError(f"db command failed: {err.decode(errors='replace')[-300:]}")
        return self._db_event(tag, out.decode().strip())

    def _db_event(self, tag: str, text: str) -> str:
        text = self._label_text(text)
        self.events.append({"t": self.now(), "op": "db", "tag": tag, "result": text})
        return text

    async def insert_row(self, label: str, status: str, *, with_status: bool = False) -> str | None:
        """A row in `Instance` with no live instance (this server's clientName, Baileys,
        `connectionStatus` = `status`), recorded as `insert` with the row's name (and status).
        None when neither a database command nor the simulator's control API is there."""
        name, client = self.name(label), (self.client_name or "").replace("'", "''")
        if self.db_cmd:
            returning = 'name, "connectionStatus"' if with_status else "name"
            return await self.sql("insert", f"""INSERT INTO "Instance" (id, name, "connectionStatus",
                integration, token, "clientName", "updatedAt") VALUES ('ghost-{self.run_id}', '{name}',
                '{status}', '{V2_BAILEYS}', 'ghost-{self.run_id}', '{client}', now()) RETURNING {returning};""")
        if not self.sim_control:
            return None
        spec = {"name": name, "state": status, "live": False, "integration": V2_BAILEYS,
                "token": f"ghost-{self.run_id}", "instanceId": f"ghost-{self.run_id}"}
        if self.client_name:
            spec["client_name"] = self.client_name
        response = await self.http.post("/_sim/instances", json=[spec])
        response.raise_for_status()
        return self._db_event("insert", f"{name}|{status}" if with_status else name)

    async def count_rows(self, label: str) -> str | None:
        """How many `Instance` rows (of any clientName) have the label's name, recorded as
        `count` (as psql prints it: "0")."""
        name = self.name(label)
        if self.db_cmd:
            return await self.sql("count", f"""SELECT count(*) FROM "Instance" WHERE name = '{name}';""")
        if not self.sim_control:
            return None
        response = await self.http.get("/_sim/state")
        response.raise_for_status()
        rows = [r for r in response.json().get("rows", []) if r.get("name") == name]
        return self._db_event("count", str(len(rows)))

    async def log_mark(self) -> Any:
        """Where the connection attempts are counted from (pass it to `log_attempts`): the
        server log's size, or on the v2 simulator its attempts so far; None without either."""
        if self.server_log:
            return os.path.getsize(self.server_log)
        if self.sim_control and self.dialect == "v2":
            response = await self.http.get("/_sim/attempts")
            response.raise_for_status()
            return dict(response.json())
        return None

    async def log_attempts(self, since: Any, labels: list[str], tag: str = "") -> dict[str, int] | None:
        """Connection attempts per label since `since` (a `log_mark`): v2 logs
        `[<instance name>] ... Browser:` once per Baileys socket it opens (the simulator
        counts them in `/_sim/attempts`). The one view of a socket nobody can reach any more
        (an orphan after a delete)."""
        if since is None:
            return None
        counts = {label: 0 for label in labels}
        if isinstance(since, dict):
            response = await self.http.get("/_sim/attempts")
            response.raise_for_status()
            now = response.json()
            for label in labels:
                name = self.name(label)
                counts[label] = int(now.get(name, 0)) - int(since.get(name, 0))
        else:
            if not self.server_log:
                return None
            with open(self.server_log, "rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
            for line in text.splitlines():
                if "Browser:" not in line:
                    continue
                for label in labels:
                    if f"[{self.name(label)}]" in line:
                        counts[label] += 1
        self.events.append({"t": self.now(), "op": "log", "tag": tag, "attempts": counts})
        return counts

    async def run_cmd(self, cmd: str) -> None:
        proc = await asyncio.create_subprocess_exec(
            *shlex.split(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, err = await proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"command failed: {err.decode(errors='replace')[-300:]}")

    async def sample(self, label: str, seconds: float, *, tag: str = "") -> Sample:
        """Probe `label` back to back for `seconds`; recorded as one `sample` event."""
        sample = Sample()
        t_start = self.now()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.monotonic()
            status, body, _ = await self.request(
                "probe", "GET", f"/instance/connectionState/{self.name(label)}", label,
                record=False)
            ms = (time.monotonic() - started) * 1000
            sample.add(self.now(), probe_state(status, body), ms)
        self.events.append({
            "t": t_start, "op": "sample", "name": label, "tag": tag, "seconds": seconds,
            "probes": len(sample.latencies), "runs": sample.runs,
            "ms_median": round(statistics.median(sample.latencies), 1) if sample.latencies else None,
        })
        return sample

    async def wait_for(self, label: str, state: str, limit_s: float = 10.0) -> bool:
        """Probe (unrecorded) until `label` shows `state`; False after `limit_s`."""
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            if await self.probe(label, record=False) == state:
                return True
        return False

    async def logout_until_ok(self, label: str, max_tries: int = 400) -> tuple[int, list[int]]:
        """Logout retried until a 200 (or a 404): what stops a dialing instance (§11.2)."""
        statuses: list[int] = []
        for _ in range(max_tries):
            status = await self.logout(label)
            statuses.append(status)
            if status in (200, 404):
                break
            await asyncio.sleep(random.uniform(0, 0.01))
        return len(statuses), statuses

    # ------------------------------------------------------------------ restart
    async def restart(self) -> float:
        """Restart the server process (real: `restart_cmd`; simulator: `/_sim/restart`);
        returns the seconds until it answered `GET /` again."""
        started = time.monotonic()
        if self.sim_control:
            response = await self.http.post("/_sim/restart")
            response.raise_for_status()
        elif self.restart_cmd:
            proc = await asyncio.create_subprocess_exec(
                *shlex.split(self.restart_cmd), stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"restart command failed: {err.decode(errors='replace')[-300:]}")
        else:
            raise RuntimeError("this scenario needs a restart: pass --restart-cmd")
        await self.wait_up()
        seconds = time.monotonic() - started
        self.events.append({"t": self.now(), "op": "restart", "seconds": round(seconds, 2)})
        return seconds

    async def wait_up(self, via: str = "this") -> bool:
        """Until `GET /` answers 200 (60 s at most)."""
        for _ in range(600):
            try:
                if (await self._clients[via].get("/", timeout=2)).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        return False

    async def cleanup(self, labels: list[str], *, via: str = "this") -> None:
        """Leave the server as found: stop any dialing, delete (unrecorded). A reserved
        name stays reserved until the next restart (nothing else frees it). v2: delete,
        then wait (3 s at most) until the name probes absent, deleting again if it stays;
        a deleted instance's socket may go on reconnecting (only a restart stops it)."""
        if self.dialect == "v2":
            client = self._clients[via]
            for label in labels:
                name = self.name(label)
                end = time.monotonic() + 3.0
                while time.monotonic() < end:
                    r = await client.get(f"/instance/connectionState/{name}")
                    if r.status_code == 404:
                        break
                    await client.delete(f"/instance/delete/{name}")
                    await asyncio.sleep(0.05)
            return
        for label in labels:
            name = self.name(label)
            for _ in range(30):
                r = await self.http.delete(f"/instance/logout/{name}")
                if r.status_code in (200, 404):
                    break
            await self.http.delete(f"/instance/delete/{name}")


def _message(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    response = body.get("response")
    if isinstance(response, dict) and "message" in response:
        return str(response["message"])
    if body.get("error") is True and "message" in body:
        return str(body["message"])
    return None
