"""The headless commands: report, delete, clear-all, create, forget, adopt, reprovision, doctor.

Each builds the services, asks for confirmation where it mutates (on a TTY, unless `--yes`;
without a TTY and without `--yes` it refuses), streams progress (lines, a progress bar for
clear-all on a TTY, or JSON lines with `--json`), and maps the result to an exit code:
0 success / consistent, 1 drift found or some targets not removed, 2 usage/settings/connection.
"""

from __future__ import annotations

import os
import sys
import traceback

from tui.cli.main import EXIT_DRIFT, EXIT_ERROR, EXIT_OK
from tui.cli.output import Output, report_json, report_text
from tui.cli.wiring import Services, build_services, settings_for
from tui.evolution.errors import EvolutionError
from tui.lifecycle.events import Summary, TargetOutcome
from tui.lifecycle.scope import LifecycleError, Scope
from tui.settings import SettingsError
from tui.store.errors import StoreError

KNOWN_ERRORS = (SettingsError, EvolutionError, StoreError, LifecycleError)
NOT_DONE = (TargetOutcome.FAILED, TargetOutcome.STUCK_RESERVED, TargetOutcome.SKIPPED)


def fail(message: str) -> int:
    print(f"evodash: {' '.join(str(message).split())}", file=sys.stderr)
    return EXIT_ERROR


async def run_command(args) -> int:
    try:
        if args.command == "doctor":
            from tui.cli.doctor import run_doctor

            return await run_doctor(args)
        with settings_for(args) as settings:
            services = build_services(settings, reseller=args.reseller,
                                      read_only=args.read_only,
                                      concurrency=getattr(args, "concurrency", None))
            try:
                return await dispatch(args, services)
            finally:
                await services.aclose()
    except KNOWN_ERRORS as exc:
        return fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - the user gets one line, never a traceback
        if os.environ.get("EVODASH_DEBUG"):
            traceback.print_exc()
        return fail(f"unexpected error: {exc.__class__.__name__}: {exc}")


def summary_exit(summary: Summary) -> int:
    if summary.dry_run:
        return EXIT_OK
    bad = summary.cancelled or any(
        t.outcome in NOT_DONE or t.record_error for t in summary.targets)
    return EXIT_DRIFT if bad else EXIT_OK


def confirm(args, out: Output, question: str, expected: str | None = None) -> bool:
    """y/N on a TTY (or typing `expected`); refuse without a TTY unless --yes."""
    if getattr(args, "yes", False):
        return True
    if not sys.stdin.isatty():
        raise LifecycleError(f"refusing to {args.command} without --yes "
                             "(no terminal to ask for confirmation)")
    if expected is None:
        answer = input(f"{question} [y/N] ").strip().lower()
        return answer in ("y", "yes")
    answer = input(f"{question}\nType {expected!r} to confirm: ").strip()
    return answer == expected


async def dispatch(args, services: Services) -> int:
    service = services.service
    out = Output(json_mode=getattr(args, "json", False))
    command = args.command
    if command == "report":
        await service.sample_dialing()  # a dialing instance flaps: one list cannot tell
        obs = await service.observe()
        if out.json_mode:
            out.emit(report_json(obs))
        else:
            print(report_text(obs, services.settings))
        return EXIT_OK if obs.view.is_consistent else EXIT_DRIFT
    if command == "clear-all":
        scope = Scope.all() if args.all else Scope.reseller(args.clear_reseller)
        if not args.dry_run:
            service.authorize("clear-all", scope)
        plan = await service.plan_clear_all(scope, orphans_only=args.orphans_only,
                                            include_attributed=args.include_attributed)
        if not args.dry_run:
            out.plan(plan)
            if not plan.actionable:
                out.info("nothing to clear")
            elif not confirm(args, out, f"Clear {len(plan.actionable)} name(s) in scope {scope}?",
                             expected="ALL" if scope.is_all else scope.reseller_id):
                return fail("cancelled: nothing was changed")
        with out.progress(len(plan.targets), bar=not args.dry_run) as sink:
            summary = await service.clear_all(scope, dry_run=args.dry_run, sink=sink, plan=plan)
        out.summary(summary)
        return summary_exit(summary)
    simple = _simple_mutation(args, service)
    if simple is None:
        return fail(f"unknown command {command}")
    scope, question, total, run = simple
    service.authorize(command, scope)
    if not confirm(args, out, question):
        return fail("cancelled: nothing was changed")
    with out.progress(total, bar=False) as sink:
        summary = await run(sink)
    out.summary(summary)
    if command == "create":
        [first] = summary.targets or [None]
        if first is not None and not first.name and first.outcome is TargetOutcome.FAILED:
            # failed before a name was chosen (unknown reseller, Evolution / MongoDB down):
            # a connection or usage error like every other command's, not "drift"
            return fail(first.reason)
        if args.qr and not out.json_mode:
            out.qr(summary)
    return summary_exit(summary)


def _simple_mutation(args, service):
    """(scope to authorize, confirmation question, targets, runner) of the one-step commands."""
    command = args.command
    if command == "delete":
        return (None, f"Delete {len(args.names)} instance(s) in scope {service.scope} "
                      f"(logout → delete → verify → remove record): {', '.join(args.names[:5])}?",
                len(args.names), lambda sink: service.delete(args.names, sink=sink))
    if command == "create":
        return (Scope.reseller(args.create_reseller),
                f"Create a connection for reseller {args.create_reseller}?", 1,
                lambda sink: service.create(args.create_reseller, qr=args.qr, sink=sink))
    if command == "forget":
        return (None, f"Forget (database only) {', '.join(args.names[:5])}?", len(args.names),
                lambda sink: service.forget(args.names, sink=sink))
    if command == "adopt":
        return (Scope.reseller(args.adopt_reseller),
                f"Adopt {args.name} for reseller {args.adopt_reseller}?", 1,
                lambda sink: service.adopt(args.name, args.adopt_reseller, sink=sink))
    if command == "reprovision":
        return (None, f"Re-create the Evolution instance {args.name}?", 1,
                lambda sink: service.reprovision(args.name, sink=sink))
    return None

