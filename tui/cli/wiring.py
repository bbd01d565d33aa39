"""Builds the service graph (client, store, lifecycle service) from settings and the global
command-line options. Shared by the headless commands and the dashboard so both run the exact
same guards (scope, read-only) and the same policies.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from tui.evolution.client import EvolutionClient
from tui.lifecycle.audit import AuditLog
from tui.lifecycle.delete import DeletePolicy
from tui.lifecycle.scope import Scope
from tui.lifecycle.service import LifecycleService
from tui.settings import Settings, load_settings
from tui.store.mongo import ConnectionStore


@dataclass
class Services:
    settings: Settings
    client: EvolutionClient
    store: ConnectionStore
    service: LifecycleService

    async def aclose(self) -> None:
        await self.client.aclose()
        self.store.close()


@contextmanager
def settings_for(args) -> Iterator[Settings]:
    """The settings of this run: the embedded demo's with `--demo`, else the settings file
    (warnings go to stderr). Raises `SettingsError` as one line."""
    if getattr(args, "demo", False):
        from tui.demo.runtime import DemoEnvironment

        with DemoEnvironment() as demo:
            assert demo.settings is not None
            yield demo.settings
        return
    settings, warnings = load_settings(getattr(args, "settings", None))
    for warning in warnings:
        print(f"evodash: {warning}", file=sys.stderr)
    yield settings


def build_services(settings: Settings, *, reseller: str | None = None,
                   read_only: bool = False, concurrency: int | None = None) -> Services:
    client = EvolutionClient.from_settings(settings.evolution)
    store = ConnectionStore.from_settings(settings.mongo)
    service = LifecycleService(
        client,
        store,
        scope=Scope(reseller),
        policy=DeletePolicy(verify_timeout_s=settings.cleanup.verify_timeout_s,
                            max_attempts=settings.cleanup.max_delete_attempts),
        concurrency=concurrency or settings.cleanup.concurrency,
        read_only=settings.read_only or read_only,
        audit=AuditLog(settings.audit_log_path,
                       secrets=[settings.evolution.api_key.get_secret_value(),
                                settings.mongo.uri.get_secret_value()]),
    )
    return Services(settings, client, store, service)
