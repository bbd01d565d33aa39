"""`evodash doctor`: one line per check — settings, Evolution reachable, API key really
accepted (a 401-capable call: 404/403 arrive before 401, contract §1), which server it is
(version, dialect and how it was found, v2's client name; a dialect set by
`evolution.dialect` or `--dialect` that the server's version contradicts fails, naming
both and the fix), MongoDB reachable and its collections, the audit log can be appended to,
the scope. Exit 0 when every check passes, 2 otherwise. With `--json`, one JSON line per check whatever fails (a malformed URI,
an unreadable settings file, an unexpected error are failed checks too).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from tui.cli.exits import EXIT_ERROR, EXIT_OK
from tui.cli.output import Output, say, server_json
from tui.cli.wiring import loaded_settings_for, resolve_reseller
from tui.evolution.dialect import Dialect
from tui.evolution.errors import EvolutionError
from tui.lifecycle.resellers import describe
from tui.lifecycle.scope import LifecycleError
from tui.lifecycle.words import (
    DIALECT_OPTION,
    DIALECT_SETTING,
    contradiction_text,
    detected_text,
)
from tui.settings import SettingsError
from tui.store.errors import StoreError

# less free space than this on the audit log's file system counts as full: one audit line
# of a large clear-all is tens of kilobytes
MIN_FREE_BYTES = 64 * 1024


async def run_doctor(args) -> int:
    out = Output(json_mode=getattr(args, "json", False))
    failures = 0

    def line(ok: bool, check: str, detail: str, extra: dict | None = None) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        if out.json_mode:
            out.emit({"type": "check", "check": check, "ok": ok, "detail": detail,
                      **(extra or {})})
        else:
            out.line(f"{'ok  ' if ok else 'FAIL'} {check:<10} {detail}")

    try:
        with loaded_settings_for(args) as (settings, source):
            source = _demo_source(args) if args.demo else source
            override = getattr(args, "dialect", None) if not args.demo else None
            line(True, "settings", f"{source}: valid" + (
                f" (evolution.dialect overridden by --dialect {override})" if override else ""))
            await _checks(settings, args, line)
    except SettingsError as exc:
        line(False, "settings", str(exc))
    except (EvolutionError, StoreError, LifecycleError) as exc:
        line(False, "doctor", str(exc))
    except Exception as exc:  # noqa: BLE001 - a failed check, never a traceback
        line(False, "doctor", f"unexpected error: {exc.__class__.__name__}: {exc}")
    if not out.json_mode and failures:
        say(f"{failures} check(s) failed", sys.stderr)
    return EXIT_OK if failures == 0 else EXIT_ERROR


def _demo_source(args) -> str:
    from tui.cli.wiring import demo_dialect
    from tui.demo.world import DemoWorld, shown_path

    dialect = demo_dialect(args)
    which = "" if dialect is Dialect.V1_8 else f" ({dialect.value})"
    return (f"embedded demo{which}, its world kept in "
            f"{shown_path(DemoWorld(dialect=dialect).path)} until --demo-reset")


async def _checks(settings, args, line) -> None:
    from tui.evolution.client import EvolutionClient
    from tui.store.mongo import ConnectionStore

    try:
        client = EvolutionClient.from_settings(settings.evolution)
    except (EvolutionError, ValueError) as exc:
        line(False, "evolution", str(exc))
        client = None
    try:
        store = ConnectionStore.from_settings(settings.mongo)
    except StoreError as exc:
        line(False, "mongodb", str(exc))
        store = None
    text = getattr(args, "reseller", None)
    scope: tuple[bool, str] = (True, "all resellers (admin)") if text is None else (
        False, f"reseller {text!r}: not checked (MongoDB is not usable)")
    try:
        if client is not None:
            await _evolution(settings, client, line, _dialect_source(args))
        if store is not None:
            await _mongodb(settings, store, line)
            scope = await _scope(store, text)
    finally:
        if client is not None:
            await client.aclose()
        if store is not None:
            store.close()
    ok, detail = audit_log_check(settings.audit_log_path)
    line(ok, "audit log", detail)
    read_only = settings.read_only or getattr(args, "read_only", False)
    line(scope[0], "scope", f"{scope[1]}{' · read-only' if read_only else ''}")


async def _scope(store, text: str | None) -> tuple[bool, str]:
    """The session's scope: `--reseller` (an id or a name) resolved, or why it cannot be."""
    if text is None:
        return True, "all resellers (admin)"
    try:
        reseller = await resolve_reseller(store, text)
    except (LifecycleError, StoreError) as exc:
        return False, str(exc)
    return True, f"reseller {describe(reseller)}"


def _dialect_source(args) -> str:
    """Where a dialect that was set comes from: `--dialect` (outside the demo, where it
    overrides the setting) or the setting."""
    if getattr(args, "dialect", None) and not getattr(args, "demo", False):
        return DIALECT_OPTION
    return DIALECT_SETTING


async def _evolution(settings, client, line, dialect_source: str) -> None:
    try:
        info = await client.server_info()
        line(True, "evolution", f"{settings.evolution.url} answers: version {info.version or '?'}")
    except EvolutionError as exc:
        line(False, "evolution", str(exc))
        return
    try:
        await client.check_auth()
        line(True, "api key", "accepted (fetchInstances answered 200)")
    except EvolutionError as exc:
        line(False, "api key", str(exc))
    await _server(client, line, dialect_source)


async def _server(client, line, dialect_source: str) -> None:
    """Which server this is and how that was found; a set dialect that the server's own
    version contradicts fails (every answer would be read in the wrong dialect)."""
    try:
        profile = await client.profile()
    except EvolutionError as exc:
        line(False, "server", str(exc))
        return
    extra = {"server": server_json(profile)}
    if profile.contradicted:
        line(False, "server", contradiction_text(profile, dialect_source), extra)
        return
    line(True, "server", f"{profile.label} · "
                         f"{detected_text(profile.detected_by, dialect_source)}", extra)


async def _mongodb(settings, store, line) -> None:
    try:
        await store.ping()
        counts = await store.count_by_reseller()
        resellers = await store.list_resellers()
        line(True, "mongodb", f"{settings.mongo.display_uri} / {settings.mongo.database}: "
                              f"{sum(counts.values())} records, {len(resellers)} resellers")
    except StoreError as exc:
        line(False, "mongodb", str(exc))


def audit_log_check(path: Path) -> tuple[bool, str]:
    """Whether the audit log at `path` can be appended to, and why (not). Creates its
    folder (mode 700) like the audit writer; writes nothing to the log: an existing file is
    opened for append and closed, a missing one is tried as a scratch file beside it."""
    try:
        return _audit_log_check(path)
    except OSError as exc:
        return False, f"{path}: cannot be written: {exc.strerror or exc}"


def _audit_log_check(path: Path) -> tuple[bool, str]:
    path = path.expanduser()
    parent = path.parent
    made = not parent.exists()
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        return False, f"{path}: cannot be written: it is a directory"
    if info is not None and not stat.S_ISREG(info.st_mode):
        return False, f"{path}: cannot be written: not a regular file"
    if info is not None:
        # O_NONBLOCK: never hang on a FIFO swapped in meanwhile
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        os.close(fd)
    else:
        scratch = parent / f".{path.name}.doctor-{os.getpid()}"
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(scratch)
    vfs = os.statvfs(parent)
    blocks = vfs.f_bfree if os.geteuid() == 0 else vfs.f_bavail
    free = blocks * vfs.f_frsize
    if free < MIN_FREE_BYTES:
        return False, (f"{path}: cannot be written: no space left on device "
                       f"({free} bytes free)")
    if info is None and vfs.f_favail == 0 and vfs.f_files:
        return False, f"{path}: cannot be written: no free inodes on its file system"
    state = "can be appended to" if info is not None else "can be created"
    return True, f"{path}: {state}{' (folder created)' if made else ''}"
