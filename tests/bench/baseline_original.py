"""BASELINE ONLY — a re-implementation of the platform's ORIGINAL clean-up code, for benchmarks.

This is NOT evodash code and must never be used outside `tests/bench/`. It re-implements, from
the description in `shared/seed/whatsapp-cleanup-fix.md` ("WhatsApp Cleanup Fix"), the
behaviour of the original `WhatsAppService.cleanup_all_instances(reseller_id)` and
`WhatsAppService.delete_instance(name)` (httpx + motor), so `bench_clear_all` can measure
evodash's verified clear-all side by side with what it replaces. It reproduces, on purpose,
the original's cost model and its flaws:

`cleanup_all_instances` (the "Limpar Tudo" button):
  * one `GET /instance/fetchInstances`; names limited to a reseller's records when
    `reseller_id` is given (records read with `to_list(length=1000)`; an empty set is falsy, so
    a reseller without records ends up clearing *every* instance — kept as in the original);
  * strictly sequential: per instance `DELETE /instance/logout/{name}` (any error or non-2xx
    ignored), `sleep(0.5)`, `DELETE /instance/delete/{name}`; 200/201/404 counts as deleted,
    anything else goes to `errors`; names are put into the URL unencoded, as the original did;
  * NO verification at all (it does not call `delete_instance`);
  * finally `delete_many` on the connections collection (one reseller's, or `{}`) regardless
    of errors and of whether a name is still reserved on the server.

`delete_instance` (the per-row delete; also called by the original `create_instance`):
  * logout (errors ignored), `sleep(1)`, delete; on 200/201/404: `sleep(1)`, then
    verification by scanning the FULL `fetchInstances` list for the name (O(N) bytes per
    instance; it cannot see names the server still reserves), and one more delete if listed;
  * returns `{"success": True}` without checking the outcome of that retry.

Parts the seed document cuts off (the `except` of the outer `try`, the non-200 branch of the
first `fetchInstances`) are filled in minimally: `{"success": False, "error": ...}`.
`cleanup_via_delete_instance` is a benchmark-only composition (the same clear-all, but each
instance through `delete_instance`) used to show the O(N)-per-instance verification cost.

`sleep` is injectable only so tests of the harness can run fast; the benchmark uses the real
`asyncio.sleep`.

The v2 form (`OriginalWhatsAppServiceV2`, BASELINE ONLY as well): the same logic, word for
word - logout, sleep 0.5, delete, no verification in the clear-all; logout, sleep 1, delete,
sleep 1, a scan of the full list and one more delete in `delete_instance` - with the only
changes Evolution API v2 forces on it (v2 contract §1): fetchInstances items are flat rows
whose name is `name` (v1.8: `instance.instanceName`), and a create needs `integration:
WHATSAPP-BAILEYS` (`create_body`; the original's create is not re-implemented, the seed
document cuts it off, but any create a v2 benchmark makes on the original's behalf uses this
body). `original_service(dialect, ...)` picks the form.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

import httpx

log = logging.getLogger("baseline_original")

Sleep = Callable[[float], Awaitable[Any]]


class OriginalWhatsAppService:
    """The original service's two clean-up methods (re-implemented; see the module docstring)."""

    def __init__(self, evolution_url: str, api_key: str, connections_col: Any, *,
                 sleep: Sleep = asyncio.sleep, event_hooks: dict | None = None):
        self.evolution_url = evolution_url.rstrip("/")
        self.api_key = api_key
        self.connections_col = connections_col
        self.sleep = sleep
        self.event_hooks = event_hooks or {}

    def _client(self, timeout: float) -> httpx.AsyncClient:
        # a new AsyncClient per call, as the original's `async with httpx.AsyncClient(...)`
        return httpx.AsyncClient(timeout=timeout, event_hooks=self.event_hooks, trust_env=False)

    def _headers(self) -> dict[str, str]:
        return {"apikey": self.api_key}

    @staticmethod
    def _name_of(inst: dict) -> str | None:
        """The name of one fetchInstances item: v1.8 wraps it, `{"instance": {"instanceName"}}`."""
        return inst.get("instance", {}).get("instanceName")

    @staticmethod
    def create_body(name: str, **extra: object) -> dict:
        """The body of a create as the original sends it on v1.8 (`instanceName` + options)."""
        return {"instanceName": name, **extra}

    # ------------------------------------------------------------------ delete_instance
    async def delete_instance(self, instance_name: str) -> dict:
        """Logout, 1 s, delete, 1 s, scan the whole instance list, delete again if listed."""
        try:
            async with self._client(30.0) as client:
                return await self._delete_instance(client, instance_name)
        except Exception as exc:  # (cut off in the seed document)
            return {"success": False, "error": str(exc)}

    async def _delete_instance(self, client: httpx.AsyncClient, instance_name: str) -> dict:
        url = self.evolution_url
        try:
            resp = await client.delete(f"{url}/instance/logout/{instance_name}",
                                       headers=self._headers())
            log.info("Logout attempt for %s: %s", instance_name, resp.status_code)
        except Exception as exc:
            log.warning("Logout error (ignoring): %s", exc)
        await self.sleep(1)
        response = await client.delete(f"{url}/instance/delete/{instance_name}",
                                       headers=self._headers())
        if response.status_code in (200, 201, 404):
            await self.sleep(1)
            try:
                check = await client.get(f"{url}/instance/fetchInstances",
                                         headers=self._headers())
                instances = check.json()
                if any(self._name_of(inst) == instance_name for inst in instances):
                    await client.delete(f"{url}/instance/delete/{instance_name}",
                                        headers=self._headers())
            except Exception as exc:
                log.warning("Could not verify deletion: %s", exc)
            return {"success": True}
        return {"success": False, "error": f"delete answered {response.status_code}"}

    # ------------------------------------------------------------------ cleanup_all_instances
    async def cleanup_all_instances(self, reseller_id: str | None = None) -> dict:
        """The original "Limpar Tudo": sequential logout / 0.5 s / delete, then delete_many."""
        try:
            deleted_count = 0
            errors: list[str] = []
            async with self._client(30.0) as client:
                response = await client.get(f"{self.evolution_url}/instance/fetchInstances",
                                            headers=self._headers())
                if response.status_code != 200:  # (cut off in the seed document)
                    return {"success": False, "error": f"fetchInstances {response.status_code}"}
                instances = response.json()
                names = await self._reseller_names(reseller_id)
                for inst_data in instances:
                    inst_name = self._name_of(inst_data)
                    if not inst_name:
                        continue
                    if names and inst_name not in names:
                        continue
                    try:
                        await client.delete(f"{self.evolution_url}/instance/logout/{inst_name}",
                                            headers=self._headers())
                    except Exception:
                        pass
                    await self.sleep(0.5)
                    del_response = await client.delete(
                        f"{self.evolution_url}/instance/delete/{inst_name}",
                        headers=self._headers())
                    if del_response.status_code in (200, 201, 404):
                        deleted_count += 1
                    else:
                        errors.append(f"{inst_name}: {del_response.status_code}")
                db_result = await self._delete_records(reseller_id)
                return {"success": True, "deleted_from_evolution": deleted_count,
                        "deleted_from_db": db_result.deleted_count, "errors": errors}
        except Exception as exc:  # (cut off in the seed document)
            return {"success": False, "error": str(exc)}

    async def _reseller_names(self, reseller_id: str | None) -> set[str] | None:
        if not reseller_id:
            return None
        docs = await self.connections_col.find(
            {"reseller_id": reseller_id}, {"instance_name": 1}).to_list(length=1000)
        return {doc["instance_name"] for doc in docs}

    async def _delete_records(self, reseller_id: str | None):
        if reseller_id:
            return await self.connections_col.delete_many({"reseller_id": reseller_id})
        return await self.connections_col.delete_many({})

    # ------------------------------------------------------------------ benchmark-only variant
    async def cleanup_via_delete_instance(self, reseller_id: str | None = None) -> dict:
        """Benchmark-only composition: the same clear-all, each instance via `delete_instance`
        (so each pays the full-list verification scan), then the same `delete_many`."""
        try:
            async with self._client(30.0) as client:
                response = await client.get(f"{self.evolution_url}/instance/fetchInstances",
                                            headers=self._headers())
                instances = response.json()
                names = await self._reseller_names(reseller_id)
                deleted, errors = 0, []
                for inst_data in instances:
                    inst_name = self._name_of(inst_data)
                    if not inst_name or (names and inst_name not in names):
                        continue
                    result = await self.delete_instance(inst_name)  # its own AsyncClient
                    if result.get("success"):
                        deleted += 1
                    else:
                        errors.append(f"{inst_name}: {result.get('error')}")
                db_result = await self._delete_records(reseller_id)
                return {"success": True, "deleted_from_evolution": deleted,
                        "deleted_from_db": db_result.deleted_count, "errors": errors}
        except Exception as exc:
            return {"success": False, "error": str(exc)}


class OriginalWhatsAppServiceV2(OriginalWhatsAppService):
    """BASELINE ONLY — the original algorithm adapted to Evolution API v2, for benchmarks.

    Not evodash code. The same `cleanup_all_instances` (logout, 0.5 s, delete; no
    verification; `delete_many` at the end) and `delete_instance` (logout, 1 s, delete, 1 s,
    full-list scan, one more delete if listed) as `OriginalWhatsAppService`; only v2's shapes
    differ: a fetchInstances item is a flat row named by `name`, and a create body carries
    `integration: WHATSAPP-BAILEYS` (v2 answers 400 "Invalid integration" without it). The
    logout stays first although v2's delete logs a connected instance out itself: that is
    what the original does, and what it would keep doing on v2."""

    INTEGRATION = "WHATSAPP-BAILEYS"

    @staticmethod
    def _name_of(inst: dict) -> str | None:
        """v2: fetchInstances items are flat database rows, `{"name", "connectionStatus", ...}`."""
        name = inst.get("name") if isinstance(inst, dict) else None
        return name if isinstance(name, str) else None

    @classmethod
    def create_body(cls, name: str, **extra: object) -> dict:
        return {"instanceName": name, "integration": cls.INTEGRATION, **extra}


def original_service(dialect: str, evolution_url: str, api_key: str, connections_col: Any,
                     **kwargs: Any) -> OriginalWhatsAppService:
    """The original's form for a server of `dialect` ("v1.8" or "v2")."""
    cls = OriginalWhatsAppServiceV2 if str(dialect) == "v2" else OriginalWhatsAppService
    return cls(evolution_url, api_key, connections_col, **kwargs)
