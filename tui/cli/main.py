"""The `evodash` entry point: parses the command line and dispatches to the dashboard, the
demo, the headless commands or the simulator. Every known failure ends as one line on stderr
and exit code 2 (usage, settings, connection), never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from tui import __version__
from tui.cli.exits import EXIT_ERROR, signal_exit
from tui.text import has_hidden, visible

MAX_ID_CHARS = 128  # a reseller id: an ObjectId, a slug, a number
MAX_NAME_CHARS = 1024  # an instance name (hostile ones included: they may need deleting)
MAX_CONCURRENCY = 64  # as `cleanup.concurrency` in the settings


class CliArgumentParser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2 (the message may
    quote what was typed: shown literally, like every other line)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        message = visible(" ".join(str(message).split()))
        self.exit(EXIT_ERROR, f"evodash: error: {message} (see evodash --help)\n")


def _concurrency(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_CONCURRENCY}, got {value}")
    return value


def _shown(value: str, limit: int = 40) -> str:
    cut = value if len(value) <= limit else value[:limit] + "..."
    return visible(repr(cut))


def _id_problem(value: str) -> str | None:
    """Why `value` is not a usable reseller id (None: it is)."""
    if value == "":
        return "the reseller id is empty"
    if not value.strip():
        return f"the reseller id is only whitespace ({_shown(value)})"
    if len(value) > MAX_ID_CHARS:
        return f"the reseller id is {len(value)} characters long (at most {MAX_ID_CHARS})"
    if has_hidden(value):
        return f"the reseller id contains control or invisible characters: {_shown(value)}"
    return None


def _name_problem(value: str) -> str | None:
    """Why `value` is not a usable instance name (None: it is). Control characters are
    allowed: a name that holds them may exist and need deleting; it is shown escaped."""
    if value == "":
        return "an instance name is empty"
    if not value.strip():
        return f"an instance name is only whitespace ({_shown(value)})"
    if len(value) > MAX_NAME_CHARS:
        return f"an instance name is {len(value)} characters long (at most {MAX_NAME_CHARS})"
    return None


def argument_problem(args: argparse.Namespace) -> str | None:
    """The first unusable argument, as one line naming it (None: all usable)."""
    if getattr(args, "settings", None) == "":
        return "argument --settings: the path is empty"
    for attr in ("reseller", "clear_reseller", "create_reseller", "adopt_reseller"):
        value = getattr(args, attr, None)
        if value is not None:
            problem = _id_problem(value)
            if problem:
                return f"argument --reseller: {problem}"
    names = list(getattr(args, "names", None) or [])
    if getattr(args, "name", None) is not None:
        names.append(args.name)
    for value in names:
        problem = _name_problem(value)
        if problem:
            return f"argument NAME: {problem}"
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = CliArgumentParser(
        prog="evodash",
        description=(
            "See and repair Evolution API v1.8 instances vs MongoDB connection records. "
            "Without a command, opens the dashboard."
        ),
    )
    parser.add_argument("--version", action="version", version=f"evodash {__version__}")
    parser.add_argument("--settings", metavar="PATH", help="settings file (default: "
                        "$EVODASH_SETTINGS, ./settings.json, ~/.config/evodash/settings.json)")
    parser.add_argument("--reseller", metavar="ID", help="scope to one reseller (tenant)")
    parser.add_argument("--read-only", action="store_true", help="refuse every mutation")
    parser.add_argument("--demo", action="store_true",
                        help="run on the embedded demo: a simulator + a database whose world "
                        "is kept between --demo commands (no settings)")
    parser.add_argument("--demo-reset", action="store_true",
                        help="like --demo, on a fresh demo world (the kept one is discarded)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliArgumentParser)

    def common(p: argparse.ArgumentParser, *, mutating: bool = True) -> None:
        p.add_argument("--json", action="store_true", help="JSON lines on stdout")
        if mutating:
            p.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    report = sub.add_parser("report", help="show how Evolution and the database disagree")
    common(report, mutating=False)

    delete = sub.add_parser("delete", help="verified delete of instances (and their records)")
    delete.add_argument("names", nargs="+", metavar="NAME")
    common(delete)

    clear = sub.add_parser("clear-all", help="verified delete of every instance in a scope")
    scope = clear.add_mutually_exclusive_group(required=True)
    scope.add_argument("--all", action="store_true", help="every tenant (admin)")
    scope.add_argument("--reseller", dest="clear_reseller", metavar="ID")
    clear.add_argument("--orphans-only", action="store_true")
    clear.add_argument("--include-attributed", action="store_true",
                       help="also orphan instances whose name matches the reseller's prefix")
    clear.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    clear.add_argument("--concurrency", type=_concurrency, metavar="N",
                       help=f"targets at once (1-{MAX_CONCURRENCY})")
    common(clear)

    create = sub.add_parser("create", help="create a connection (instance + record)")
    create.add_argument("--reseller", dest="create_reseller", metavar="ID", required=True)
    create.add_argument("--qr", action="store_true", help="ask for the QR code")
    common(create)

    forget = sub.add_parser("forget", help="remove orphan records whose name is free")
    forget.add_argument("names", nargs="+", metavar="NAME")
    common(forget)

    adopt = sub.add_parser("adopt", help="create a record for an orphan instance")
    adopt.add_argument("name", metavar="NAME")
    adopt.add_argument("--reseller", dest="adopt_reseller", metavar="ID", required=True)
    common(adopt)

    reprovision = sub.add_parser("reprovision", help="re-create the instance of an orphan record")
    reprovision.add_argument("name", metavar="NAME")
    common(reprovision)

    doctor = sub.add_parser("doctor", help="check settings, Evolution, API key and MongoDB")
    doctor.add_argument("--json", action="store_true")

    sub.add_parser("sim", help="run the Evolution v1.8 simulator (see evodash sim --help)",
                   add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sim"]:
        from tui.simulator.cli import main as sim_main

        return sim_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    args.demo = args.demo or args.demo_reset
    problem = argument_problem(args)
    if problem:
        parser.error(problem)
    try:
        if args.command is None:
            from tui.cli.dashboard import run_dashboard

            return run_dashboard(args)
        from tui.cli.commands import run_command

        return asyncio.run(run_command(args))
    except KeyboardInterrupt:  # Ctrl-C outside a run (a run stops itself: see commands.py)
        try:
            print("evodash: interrupted", file=sys.stderr, flush=True)
        except (OSError, ValueError):
            pass
        return signal_exit(signal.SIGINT)
