"""The headless commands: report, resellers, delete, clear-all, create, forget, adopt,
reprovision, pair, doctor.

Each builds the services, asks for confirmation where it mutates (on a TTY, unless `--yes`;
without a TTY and without `--yes` it refuses), streams progress (lines, a progress bar for
clear-all on a TTY, or JSON lines with `--json`), and maps the result to an exit code:
0 success / consistent, 1 drift found or some targets not removed, 2 usage/settings/connection,
128 + N when signal N (SIGINT, SIGTERM, SIGHUP) stopped a run (see signals.py; exits.py).

Every line shows outside text literally (`tui.text.visible`, JSON: `json_visible`).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import traceback

from tui.cli.exits import EXIT_DRIFT, EXIT_ERROR, EXIT_OK
from tui.cli.advising import Advisor
from tui.cli.output import Output, error_line, report_json, report_lines, resellers_lines
from tui.cli.pairing import pair_refusal, pair_result
from tui.cli.signals import RunStopper
from tui.cli.wiring import Services, open_services, settings_for
from tui.evolution.errors import EvolutionError
from tui.lifecycle.events import Summary, TargetOutcome
from tui.lifecycle.plans import (
    AdoptRequest,
    ClearAllRequest,
    Confirmation,
    CreateRequest,
    DeleteRequest,
    ForgetRequest,
    PairRequest,
    Plan,
    ReprovisionRequest,
    Request,
)
from tui.lifecycle.advice import LeftOut, left_out
from tui.lifecycle.resellers import counts as reseller_counts, describe
from tui.lifecycle.domain import TargetKind
from tui.lifecycle.scope import LifecycleError, Scope
from tui.settings import SettingsError
from tui.store.errors import StoreError
from tui.text import visible

KNOWN_ERRORS = (SettingsError, EvolutionError, StoreError, LifecycleError)
NOT_DONE = (TargetOutcome.FAILED, TargetOutcome.STUCK_RESERVED, TargetOutcome.SKIPPED,
            TargetOutcome.NOT_FOUND)


def fail(message: str) -> int:
    error_line(message)
    return EXIT_ERROR


async def run_command(args) -> int:
    try:
        if args.command == "doctor":
            from tui.cli.doctor import run_doctor

            return await run_doctor(args)
        with settings_for(args) as settings:
            # `--reseller` as typed (an id or a name) resolved to the reseller's id first
            services = await open_services(settings, reseller=args.reseller,
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


def confirm(args, out: Output, confirmation: Confirmation) -> bool:
    """The plan's confirmation on a TTY: y/N, or typing one of its words (compared without
    case or accents); refuse without a TTY unless --yes."""
    if getattr(args, "yes", False) or confirmation.kind == "none":
        return True
    if not sys.stdin.isatty():
        raise LifecycleError(f"refusing to {args.command} without --yes "
                             "(no terminal to ask for confirmation)")
    if confirmation.kind == "yes":
        return confirmation.accepts(ask(f"{visible(confirmation.question)} [y/N] "))
    answer = ask(f"{visible(confirmation.question)}\n"
                 f"Type {visible(confirmation.hint)} to confirm: ")
    return confirmation.accepts(answer)


def ask(prompt: str) -> str:
    """`input(prompt)`; Ctrl-C interrupts it at once (asyncio's own SIGINT handler would only
    cancel the task blocked in it), end of input answers "" (no)."""
    try:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread
        previous = None
    try:
        return input(prompt)
    except EOFError:
        return ""
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def request_of(args, reseller_id: str | None) -> Request | None:
    """The service request of a mutating command (None: not one); `reseller_id` is the
    resolved `--reseller` (the session's scope, and the reseller of a create / adopt)."""
    command = args.command
    if command == "delete":
        return DeleteRequest(tuple(args.names))
    if command == "clear-all":
        scope = Scope.all() if args.all or reseller_id is None else Scope.reseller(reseller_id)
        return ClearAllRequest(scope, args.orphans_only, args.include_attributed)
    if command == "create" and reseller_id is not None:
        return CreateRequest(reseller_id, args.qr)
    if command == "forget":
        return ForgetRequest(tuple(args.names))
    if command == "adopt" and reseller_id is not None:
        return AdoptRequest(args.name, reseller_id)
    if command == "reprovision":
        return ReprovisionRequest((args.name,))
    if command == "pair":
        return PairRequest(args.name, _digits(args.number))
    return None


def _digits(number: str | None) -> str | None:
    return "".join(c for c in number if c.isdigit()) if number is not None else None


async def dispatch(args, services: Services) -> int:
    service = services.service
    out = Output(json_mode=getattr(args, "json", False))
    await service.check_scope()  # `--reseller r-typo`: one line, exit 2 (not "consistent")
    reseller_id = service.scope.reseller_id
    advisor = Advisor.of(args, reseller_id)
    if args.command == "report":
        return await report(services, out, advisor)
    if args.command == "resellers":
        return await list_resellers(services, out)
    request = request_of(args, reseller_id)
    if request is None:
        return fail(f"unknown command {args.command}")
    # plan, show, confirm, run: what the operation does is the service's alone
    dry_run = getattr(args, "dry_run", False)
    # read-only and scope are the service's: refused before any lookup
    plan = await service.plan(request, dry_run=dry_run)
    if dry_run:
        summary = await service.run(plan, dry_run=True)
        out.summary(summary, advisor, await left_out_of(service, plan))
        return EXIT_OK
    if isinstance(request, PairRequest):
        refused = pair_refusal(plan, advisor)
        if refused is not None:
            return refused(out)
    out.plan(plan, advisor)
    if not plan.runnable:
        if all(t.kind is TargetKind.NOT_FOUND for t in plan.targets):
            return fail("; ".join(f"{t.name}: {t.skip_reason}" for t in plan.targets[:5]))
        out.info(f"nothing to {plan.operation}")
    elif not confirm(args, out, plan.confirmation):
        return fail("cancelled: nothing was changed")
    bar = plan.operation == "clear-all"
    stopper = RunStopper(plan, out.notice)
    with out.progress(len(plan.targets), bar=bar) as sink:
        task = asyncio.ensure_future(service.run(plan, sink=stopper.watch(sink),
                                                 cancel=stopper.cancel))
        with stopper.installed(task):
            summary = await stopper.wait()
    stopper.finish(summary)
    if isinstance(request, PairRequest):
        return await pair_result(args, services, out, summary, stopper.exit_code, advisor)
    out.summary(summary, advisor)
    if stopper.exit_code is not None:
        return stopper.exit_code
    if args.command == "create":
        first = summary.targets[0] if summary.targets else None
        if first is not None and not first.name and first.outcome is TargetOutcome.FAILED:
            # failed before a name was chosen (Evolution / MongoDB down): a connection error
            # like every other command's, not "drift"
            return fail(first.reason)
        if args.qr and not out.json_mode:
            out.qr(summary, advisor)
    return summary_exit(summary)


async def report(services: Services, out: Output, advisor: Advisor) -> int:
    """`evodash report`: which server, both sides observed (the instance list sampled for
    dialing), every finding with the command that repairs it. Exit 0 consistent, 1 drift."""
    service = services.service
    await service.sample_dialing()  # a dialing instance flaps: one list cannot tell
    obs = await service.observe()
    server = await service.server_profile()  # (found by the lists above: nothing asked)
    if out.json_mode:
        out.emit(report_json(obs, advisor, server))
    else:
        reseller = obs.reseller(service.scope.reseller_id)
        scope = describe(reseller) if reseller is not None else ""
        for line in report_lines(obs, services.settings, advisor, scope, server):
            out.line(line)
    return EXIT_OK if obs.view.is_consistent else EXIT_DRIFT


async def list_resellers(services: Services, out: Output) -> int:
    """`evodash resellers`: id, name and counts of each reseller (of the session's one in a
    reseller's session), from one observation (orphan records not probed: only counted)."""
    service = services.service
    obs = await service.observe(probe_orphans=False)
    view = obs.view
    rows = reseller_counts(
        obs.resellers if service.scope.is_all else
        [r for r in obs.resellers if r.id == service.scope.reseller_id],
        [r.record.reseller_id for r in view.linked],
        [r.record.reseller_id for r in view.orphan_records],
        [r.owner_id for r in view.orphan_instances])
    if out.json_mode:
        out.emit({"type": "resellers", "resellers": [r.to_json() for r in rows]})
    else:
        for line in resellers_lines(rows):
            out.line(line)
    return EXIT_OK


async def left_out_of(service, plan: Plan) -> list[LeftOut]:
    """What a clear-all's dry run leaves out of its scope beyond its skipped targets (one
    more look at the scope; orphan records not probed: only instances and links count)."""
    if not isinstance(plan.request, ClearAllRequest):
        return []
    obs = await service.observe(probe_orphans=False)  # the session's scope is the plan's
    return left_out(plan.request, {t.name for t in plan.targets}, obs.view)


