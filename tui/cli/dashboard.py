"""`evodash` without a command: builds the services (from the settings, or the embedded demo
with `--demo`) and runs the Textual dashboard on them; closes the client and the store at exit.

Known failures (settings, unusable URI, a scope that cannot be) end as one line on stderr and
exit code 2; so does anything unexpected while the services are built.

The session's end is the app's (`EvodashApp.stop_session`: targets in progress finish, exit
0 / 1 / 128 + signal); what it must still say once the screen is gone (`exit_lines`: the
summaries of the operations it stopped) is printed here. The terminal may have gone away (an
SSH drop): Textual draws through a `HangupSafeStream`, a SIGHUP detaches a hung-up terminal
(`tui/cli/terminal.py`) and starts a watchdog - the last resort, well past the budget of any
target in progress - and nothing written on the way out can fail or change the exit code.
"""

from __future__ import annotations

import asyncio
import os
import signal
import traceback
from urllib.parse import urlsplit

from tui.cli.exits import EXIT_ERROR
from tui.settings import Settings, SettingsError


def hangup_bound_s(settings: Settings) -> float:
    """How long a session cut off by SIGHUP may still take before the watchdog ends it: well
    past any target's own budget (stop the dialing, the verification, a few requests that
    time out) - the targets in progress normally finish long before."""
    return (settings.cleanup.stop_dialing_s + settings.cleanup.verify_timeout_s
            + 6 * settings.evolution.timeout_s + 30)


def dashboard_info(settings: Settings, reseller: str | None, read_only: bool,
                   notes: tuple[str, ...] = ()):
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
        notes=notes,
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


def demo_notes(args) -> tuple[str, ...]:
    """The progress log's first line under `--demo`: where its world is kept."""
    if not getattr(args, "demo", False):
        return ()
    from tui.cli.wiring import demo_dialect
    from tui.demo.world import DemoWorld, shown_path
    from tui.evolution.dialect import Dialect

    dialect = demo_dialect(args)
    what = "demo world" if dialect is Dialect.V1_8 else f"{dialect.value} demo world"
    return (f"{what} {shown_path(DemoWorld(dialect=dialect).path)} · kept until --demo-reset",)


async def _run(settings: Settings, args) -> int:
    from tui.app.app import EvodashApp
    from tui.cli.output import say
    from tui.cli.terminal import detach_terminal, hangup_safe_output, release_input
    from tui.cli.wiring import build_services, emergency_exit_after, open_services
    from tui.lifecycle.resellers import UnknownResellerNameError
    from tui.store.watch import RecordWatcher

    reseller = getattr(args, "reseller", None)
    read_only = bool(getattr(args, "read_only", False))
    hung_up: list[bool] = []

    def _after_hangup() -> None:
        # the terminal went away: its writes must not fail (or block Textual's output), its
        # input must not spin; the in-flight targets finish, then the app exits 129; the
        # watchdog only ends a session that cannot end by itself
        detach_terminal()
        if not hung_up:
            hung_up.append(True)
            emergency_exit_after(hangup_bound_s(settings), code=128 + signal.SIGHUP)
    try:  # --reseller by id or name, as for every command
        services = await open_services(settings, reseller=reseller, read_only=read_only)
    except UnknownResellerNameError:
        # no such reseller: the dashboard still opens, says so in its header and refuses
        # every mutation (`LifecycleService.check_scope`)
        services = build_services(settings, reseller=reseller, read_only=read_only)
    reseller = services.service.scope.reseller_id
    try:
        # a terminal found gone by a failed write is a hang-up, SIGHUP or not
        with hangup_safe_output(on_gone=lambda: os.kill(os.getpid(), signal.SIGHUP)):
            app = EvodashApp(
                services.service,
                dashboard_info(settings, reseller, read_only, demo_notes(args)),
                watcher_factory=lambda: RecordWatcher(services.store, reseller_id=reseller,
                                                      poll_s=max(1.0, settings.refresh_s)),
                on_hangup=_after_hangup,
                on_exit=release_input,
            )
            if settings.keymap:
                app.set_keymap(settings.keymap)
            result = await app.run_async()
        detach_terminal()  # a terminal that went away meanwhile: the lines below go nowhere
        for line in app.exit_lines:
            say(line)
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
