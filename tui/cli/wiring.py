"""Builds the service graph (client, store, lifecycle service) from settings and the global
command-line options. Shared by the headless commands and the dashboard so both run the exact
same guards (scope, read-only) and the same policies.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from tui.cli.output import error_line
from tui.evolution.dialect import Dialect
from tui.evolution.client import EvolutionClient
from tui.lifecycle.audit import AuditLog
from tui.lifecycle.removal import DeletePolicy
from tui.lifecycle.seen import FirstSeen
from tui.lifecycle.scope import Scope
from tui.lifecycle.service import LifecycleService
from tui.lifecycle.ports import StorePort
from tui.lifecycle.resellers import UnknownResellerNameError, resolve
from tui.settings import Settings, load_settings_from
from tui.store.models import Reseller
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


_EMERGENCY_CLEANUPS: list[Callable[[], None]] = []


def emergency_exit_after(seconds: float, code: int = 0) -> threading.Thread:
    """Start a watchdog: if the process still runs after `seconds`, run the registered
    cleanups (stop the demo's servers) and leave with `os._exit`. Used when the terminal
    went away: writing to a hung-up terminal can block Textual's own shutdown forever."""

    def watchdog() -> None:
        time.sleep(seconds)
        for cleanup in reversed(_EMERGENCY_CLEANUPS):
            try:
                cleanup()
            except Exception:  # noqa: BLE001 - best effort, we are leaving anyway
                pass
        os._exit(code)

    thread = threading.Thread(target=watchdog, name="evodash-exit-watchdog", daemon=True)
    thread.start()
    return thread


@contextmanager
def settings_for(args) -> Iterator[Settings]:
    """The settings of this run: the embedded demo's with `--demo`, else the settings file
    (warnings go to stderr). Raises `SettingsError` as one line."""
    with loaded_settings_for(args) as (settings, _source):
        yield settings


def demo_dialect(args) -> Dialect:
    """The dialect of the demo's simulator: `--dialect`, v1.8 by default."""
    return Dialect(getattr(args, "dialect", None) or Dialect.V1_8.value)


def with_dialect(settings: Settings, dialect: str | None) -> Settings:
    """`settings` with `evolution.dialect` set to `dialect` (`--dialect`; None: as is)."""
    if dialect is None:
        return settings
    evolution = settings.evolution.model_copy(update={"dialect": dialect})
    return settings.model_copy(update={"evolution": evolution})


@contextmanager
def loaded_settings_for(args) -> Iterator[tuple[Settings, str]]:
    """`settings_for`, with where the settings came from in words (`doctor` says it).
    `--dialect` picks the demo's simulator, or overrides `evolution.dialect`."""
    if getattr(args, "demo", False):
        from tui.demo.runtime import DemoEnvironment
        from tui.demo.world import DemoWorld, shown_path

        dialect = demo_dialect(args)
        # kept between commands, one per dialect; one command at a time (DemoBusy)
        world = DemoWorld(dialect=dialect)
        with DemoEnvironment(world=world, reset=getattr(args, "demo_reset", False),
                             dialect=dialect) as demo:
            assert demo.settings is not None
            if demo.fresh:
                what = "world" if dialect is Dialect.V1_8 else f"{dialect.value} world"
                error_line(f"demo: a new {what} in {shown_path(world.path)}, kept between "
                           "--demo commands until --demo-reset")
            _EMERGENCY_CLEANUPS.append(demo.stop)
            try:
                yield demo.settings, "embedded demo"
            finally:
                _EMERGENCY_CLEANUPS.remove(demo.stop)
        return
    loaded = load_settings_from(getattr(args, "settings", None))
    for warning in loaded.warnings:
        error_line(warning)
    yield with_dialect(loaded.settings, getattr(args, "dialect", None)), loaded.source


async def resolve_reseller(store: StorePort, text: str) -> Reseller:
    """The reseller an operator's `--reseller` names: its id or its name, case and accents
    ignored (`tui.lifecycle.resellers`). Raises one-line `LifecycleError`s (unknown, with
    the nearest one; ambiguous) or the store's `StoreError`."""
    try:
        return resolve(text, await store.list_resellers())
    except UnknownResellerNameError:
        # an id stored as a number or an ObjectId lists under another spelling: the store's
        # own lookup of the id as typed (the scope then matches it as before)
        found = await store.get_reseller(text)
        if found is None:
            raise
        return Reseller(id=text, name=found.name)


async def open_services(settings: Settings, *, reseller: str | None = None,
                        read_only: bool = False, concurrency: int | None = None) -> Services:
    """`build_services` for a `--reseller` as typed (an id or a name): resolved first, so
    the session's scope is the reseller's id."""
    store = ConnectionStore.from_settings(settings.mongo)
    try:
        rid = (await resolve_reseller(store, reseller)).id if reseller is not None else None
    except BaseException:
        store.close()
        raise
    return build_services(settings, reseller=rid, read_only=read_only,
                          concurrency=concurrency, store=store)


def build_services(settings: Settings, *, reseller: str | None = None,
                   read_only: bool = False, concurrency: int | None = None,
                   store: ConnectionStore | None = None) -> Services:
    """The services of a session scoped to the reseller id `reseller` (None: all)."""
    store = store if store is not None else ConnectionStore.from_settings(settings.mongo)
    try:
        client = EvolutionClient.from_settings(settings.evolution)
    except BaseException:
        store.close()
        raise
    service = LifecycleService(
        client,
        store,
        scope=Scope(reseller),
        policy=DeletePolicy(verify_timeout_s=settings.cleanup.verify_timeout_s,
                            max_attempts=settings.cleanup.max_delete_attempts,
                            free_hold_s=settings.cleanup.free_hold_s,
                            dialing_logout_s=settings.cleanup.stop_dialing_s),
        concurrency=concurrency or settings.cleanup.concurrency,
        read_only=settings.read_only or read_only,
        first_seen=FirstSeen(settings.audit_log_path.parent / "first-seen.json"),
        orphan_grace_s=settings.cleanup.orphan_grace_s,
        audit=AuditLog(settings.audit_log_path,
                       secrets=[settings.evolution.api_key.get_secret_value(),
                                settings.mongo.uri.get_secret_value()]),
    )
    return Services(settings, client, store, service)
