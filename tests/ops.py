"""Tests run operations the way the CLI and the dashboard do: `service.plan(request)`, then
`service.run(plan, ...)`. These helpers spell the two calls for the common requests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from tui.lifecycle.events import EventSink, Summary, null_sink
from tui.lifecycle.plans import (
    AdoptRequest,
    ClearAllRequest,
    CreateRequest,
    DeleteRequest,
    ForgetRequest,
    Plan,
    ReprovisionRequest,
)
from tui.lifecycle.scope import Scope
from tui.lifecycle.service import LifecycleService


async def run(service: LifecycleService, plan: Plan, *, sink: EventSink = null_sink,
              cancel: asyncio.Event | None = None, concurrency: int | None = None,
              dry_run: bool = False) -> Summary:
    return await service.run(plan, sink=sink, cancel=cancel, concurrency=concurrency,
                             dry_run=dry_run)


async def delete(service: LifecycleService, names: Iterable[str], **kw: Any) -> Summary:
    return await run(service, await service.plan(DeleteRequest(tuple(names))), **kw)


async def plan_clear_all(service: LifecycleService, scope: Scope, *, orphans_only: bool = False,
                         include_attributed: bool = False, dry_run: bool = False) -> Plan:
    return await service.plan(ClearAllRequest(scope, orphans_only, include_attributed),
                              dry_run=dry_run)


async def clear_all(service: LifecycleService, scope: Scope, *, orphans_only: bool = False,
                    include_attributed: bool = False, plan: Plan | None = None,
                    **kw: Any) -> Summary:
    plan = plan or await plan_clear_all(service, scope, orphans_only=orphans_only,
                                        include_attributed=include_attributed,
                                        dry_run=kw.get("dry_run", False))
    return await run(service, plan, **kw)


async def forget(service: LifecycleService, names: Iterable[str], **kw: Any) -> Summary:
    return await run(service, await service.plan(ForgetRequest(tuple(names))), **kw)


async def adopt(service: LifecycleService, name: str, reseller_id: str, **kw: Any) -> Summary:
    return await run(service, await service.plan(AdoptRequest(name, reseller_id)), **kw)


async def reprovision(service: LifecycleService, names: str | Iterable[str],
                      **kw: Any) -> Summary:
    names = (names,) if isinstance(names, str) else tuple(names)
    return await run(service, await service.plan(ReprovisionRequest(names)), **kw)


async def create(service: LifecycleService, reseller_id: str, *, qr: bool = False,
                 **kw: Any) -> Summary:
    return await run(service, await service.plan(CreateRequest(reseller_id, qr)), **kw)
