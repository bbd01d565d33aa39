"""`evodash` without a command: builds the services (from the settings, or the embedded demo
with `--demo`) and runs the Textual dashboard on them; closes the client and the store at exit.

Known failures (settings, unusable URI, a scope that cannot be) end as one line on stderr and
exit code 2; so does anything unexpected while the services are built.
"""

from __future__ import annotations

import asyncio
import os
import traceback
from urllib.parse import urlsplit

from tui.cli.exits import EXIT_ERROR
from tui.settings import Settings, SettingsError


def dashboard_info(settings: Settings, reseller: str | None, read_only: bool):
    from tui.app.info import DashboardInfo

    parts = urlsplit(settings.evolution.url)
    host = parts.hostname or "?"
    if parts.port:
        host = f"{host}:{parts.port}"
    return DashboardInfo(
        evolution_host=host,
        database=settings.mongo.database,
        scope_label="all resellers" if reseller is None else reseller,
        refresh_s=settings.refresh_s,
        read_only=settings.read_only or read_only,
        admin=reseller is None,
    )


def check_keymap(keymap: dict[str, str]) -> None:
    """Reject unknown binding ids in `settings.keymap` with one line naming them."""
    from tui.app.bindings import help_rows

    known = {binding_id for binding_id, _key, _what in help_rows()}
    unknown = sorted(set(keymap) - known)
    if unknown:
        raise SettingsError(f"keymap: unknown binding id(s) {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(known))})")
    empty = sorted(k for k, v in keymap.items() if not v.strip())
    if empty:
        raise SettingsError(f"keymap: no key given for {', '.join(empty)}")


async def _run(settings: Settings, args) -> int:
    from tui.app.app import EvodashApp
    from tui.app.app import EXIT_GRACE_S
    from tui.cli.wiring import build_services, emergency_exit_after
    from tui.store.watch import RecordWatcher

    reseller = getattr(args, "reseller", None)
    read_only = bool(getattr(args, "read_only", False))

    def _watchdog_after_hangup() -> None:
        emergency_exit_after(EXIT_GRACE_S + 5)
    services = build_services(settings, reseller=reseller, read_only=read_only)
    try:
        app = EvodashApp(
            services.service,
            dashboard_info(settings, reseller, read_only),
            watcher_factory=lambda: RecordWatcher(services.store, reseller_id=reseller,
                                                  poll_s=max(1.0, settings.refresh_s)),
            # running operations get EXIT_GRACE_S to finish their step and audit line
            on_hangup=_watchdog_after_hangup,
        )
        if settings.keymap:
            app.set_keymap(settings.keymap)
        result = await app.run_async()
        return int(result or 0)
    finally:
        await services.aclose()


def run_dashboard(args) -> int:
    from tui.cli.output import error_line
    from tui.cli.wiring import settings_for
    from tui.evolution.errors import EvolutionError
    from tui.lifecycle.scope import LifecycleError
    from tui.store.errors import StoreError

    try:
        with settings_for(args) as settings:
            check_keymap(settings.keymap)
            return asyncio.run(_run(settings, args))
    except (SettingsError, StoreError, EvolutionError, LifecycleError, ValueError) as exc:
        error_line(exc)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        if os.environ.get("EVODASH_DEBUG"):
            traceback.print_exc()
        error_line(f"unexpected error: {exc.__class__.__name__}: {exc}")
        return EXIT_ERROR
