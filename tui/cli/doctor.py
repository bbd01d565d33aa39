"""`evodash doctor`: one line per check — settings, Evolution reachable, API key really
accepted (a 401-capable call: 404/403 arrive before 401, contract §1), MongoDB reachable and
its collections. Exit 0 when every check passes, 2 otherwise.
"""

from __future__ import annotations

import sys

from tui.cli.main import EXIT_ERROR, EXIT_OK
from tui.cli.output import Output
from tui.cli.wiring import build_services, settings_for
from tui.evolution.errors import EvolutionError
from tui.settings import SettingsError
from tui.store.errors import StoreError


async def run_doctor(args) -> int:
    out = Output(json_mode=getattr(args, "json", False))
    failures = 0

    def line(ok: bool, check: str, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        if out.json_mode:
            out.emit({"type": "check", "check": check, "ok": ok, "detail": detail})
        else:
            print(f"{'ok  ' if ok else 'FAIL'} {check:<10} {detail}", file=out.stream)

    try:
        with settings_for(args) as settings:
            source = "embedded demo" if args.demo else (args.settings or "found settings")
            line(True, "settings", f"{source}: valid")
            services = build_services(settings, reseller=args.reseller, read_only=args.read_only)
            try:
                await _checks(services, line)
            finally:
                await services.aclose()
    except SettingsError as exc:
        line(False, "settings", str(exc))
    if not out.json_mode and failures:
        print(f"{failures} check(s) failed", file=sys.stderr)
    return EXIT_OK if failures == 0 else EXIT_ERROR


async def _checks(services, line) -> None:
    settings, client, store = services.settings, services.client, services.store
    try:
        info = await client.server_info()
        line(True, "evolution", f"{settings.evolution.url} answers: version {info.version or '?'}")
        reachable = True
    except EvolutionError as exc:
        line(False, "evolution", str(exc))
        reachable = False
    if reachable:
        try:
            await client.check_auth()
            line(True, "api key", "accepted (fetchInstances answered 200)")
        except EvolutionError as exc:
            line(False, "api key", str(exc))
    try:
        await store.ping()
        counts = await store.count_by_reseller()
        resellers = await store.list_resellers()
        line(True, "mongodb", f"{settings.mongo.display_uri} / {settings.mongo.database}: "
                              f"{sum(counts.values())} records, {len(resellers)} resellers")
    except StoreError as exc:
        line(False, "mongodb", str(exc))
    scope = services.service.scope
    line(True, "scope", f"{scope}{' · read-only' if services.service.read_only else ''}")
