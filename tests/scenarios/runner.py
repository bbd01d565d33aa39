"""The recording machinery of the server scenarios: raw HTTP against any Evolution v1.8 server
(the real one or the simulator), every answer written down over time.

Owns: `Recorder` (one scenario's requests, each an event with its time, route, status, body
shape, state and latency; continuous probe sampling kept as runs of equal states; free-form
`marks`), the body-shape rule, name placeholders (the random names a run uses are written as
the scenario's own labels, so two recordings compare), and the restart hook. Raw httpx on
purpose: what is recorded is what the server says, not what evodash makes of it.
"""

from __future__ import annotations

import asyncio
import random
import shlex
import statistics
import string
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

LITERAL_KEYS = {"state", "status", "error", "count"}  # values kept in a shape, not just types


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
                 timeout_s: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.restart_cmd = restart_cmd
        self.sim_control = sim_control
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

    async def aclose(self) -> None:
        await self.http.aclose()

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

    def now(self) -> float:
        return round(time.monotonic() - self._t0, 4)

    def mark(self, key: str, value: Any) -> None:
        self.marks[key] = value

    # ------------------------------------------------------------------ requests
    async def request(self, op: str, method: str, path: str, label: str | None = None, *,
                      body: Any = None, params: dict | None = None,
                      record: bool = True) -> tuple[int, Any, float]:
        """One request; returns (status, parsed body or None, latency ms)."""
        started = time.monotonic()
        t = self.now()
        response = await self.http.request(method, path, json=body, params=params)
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
            event["shape"] = "empty" if not response.content else shape(parsed)
            message = _message(parsed)
            if message is not None:
                event["message"] = self._label_text(message)
            if op == "probe":
                event["state"] = probe_state(response.status_code, parsed)
            self.events.append(event)
        return response.status_code, parsed, ms

    async def root(self) -> dict:
        _, body, _ = await self.request("root", "GET", "/")
        return body if isinstance(body, dict) else {}

    async def create(self, label: str, **extra: Any) -> int:
        status, _, _ = await self.request("create", "POST", "/instance/create", label,
                                          body={"instanceName": self.name(label), **extra})
        return status

    async def probe(self, label: str, *, record: bool = True) -> str:
        status, body, _ = await self.request(
            "probe", "GET", f"/instance/connectionState/{self.name(label)}", label, record=record)
        return probe_state(status, body)

    async def logout(self, label: str) -> int:
        status, _, _ = await self.request("logout", "DELETE",
                                          f"/instance/logout/{self.name(label)}", label)
        return status

    async def delete(self, label: str) -> int:
        status, _, _ = await self.request("delete", "DELETE",
                                          f"/instance/delete/{self.name(label)}", label)
        return status

    async def connect(self, label: str) -> int:
        status, _, _ = await self.request("connect", "GET",
                                          f"/instance/connect/{self.name(label)}", label)
        return status

    async def fetch_one(self, label: str) -> int:
        status, _, _ = await self.request("fetch_one", "GET", "/instance/fetchInstances", label,
                                          params={"instanceName": self.name(label)})
        return status

    async def listed(self) -> set[str]:
        """The labels of this run's names that the full fetchInstances lists."""
        status, body, _ = await self.request("fetch_all", "GET", "/instance/fetchInstances")
        out: set[str] = set()
        if status == 200 and isinstance(body, list):
            for item in body:
                name = (item.get("instance") or {}).get("instanceName") if isinstance(item, dict) else None
                if name in self._labels:
                    out.add(self._labels[name])
        return out

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
        for _ in range(600):
            try:
                if (await self.http.get("/", timeout=2)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        seconds = time.monotonic() - started
        self.events.append({"t": self.now(), "op": "restart", "seconds": round(seconds, 2)})
        return seconds

    async def cleanup(self, labels: list[str]) -> None:
        """Leave the server as found: stop any dialing, delete (unrecorded). A reserved
        name stays reserved until the next restart (nothing else frees it)."""
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
