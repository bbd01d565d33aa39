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

DIALECTS = ("v1.8", "v2")  # --dialect (the setting evolution.dialect also takes `auto`)
MAX_ID_CHARS = 128  # a reseller id: an ObjectId, a slug, a number
MAX_NAME_CHARS = 1024  # an instance name (hostile ones included: they may need deleting)
MAX_CONCURRENCY = 64  # as `cleanup.concurrency` in the settings
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 8, 15  # E.164: at most 15 digits, country code included


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


def _number_problem(value: str) -> str | None:
    """Why `value` is not a usable phone number for a pairing code (None: it is)."""
    digits = "".join(c for c in value if c.isdigit())
    if any(not (c.isdigit() or c in "+ -().") for c in value) or not digits:
        return f"not a phone number: {_shown(value)} (digits, with the country code)"
    if not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        return (f"a phone number with its country code has {MIN_PHONE_DIGITS}-"
                f"{MAX_PHONE_DIGITS} digits, {_shown(value)} has {len(digits)}")
    return None


def merge_reseller(args: argparse.Namespace) -> str | None:
    """`--reseller` before the command (`evodash --reseller X report`) and after it
    (`evodash report --reseller X`) are the same option: put the one given in
    `args.reseller`. The problem, as one line, when it cannot be (None: merged)."""
    before = getattr(args, "reseller", None)
    after = getattr(args, "reseller_after", None)
    if before is not None and after is not None and before != after:
        return (f"argument --reseller: given twice with different values ({_shown(before)} "
                f"before the command, {_shown(after)} after it)")
    args.reseller = before if before is not None else after
    return None


def argument_problem(args: argparse.Namespace) -> str | None:
    """The first unusable argument, as one line naming it (None: all usable)."""
    if getattr(args, "settings", None) == "":
        return "argument --settings: the path is empty"
    merged = merge_reseller(args)
    if merged:
        return merged
    if args.reseller is not None:
        problem = _id_problem(args.reseller)
        if problem:
            return f"argument --reseller: {problem}"
    command = getattr(args, "command", None)
    if command == "clear-all":
        if args.all and args.reseller is not None:
            return ("argument --all: not allowed with --reseller (clear-all clears one scope: "
                    "every tenant, or one reseller)")
        if not args.all and args.reseller is None:
            return "clear-all needs --all (every tenant) or --reseller ID|NAME"
    if command in ("create", "adopt") and args.reseller is None:
        return (f"{command} needs --reseller ID|NAME (the reseller the connection is for; "
                "evodash resellers lists them)")
    names = list(getattr(args, "names", None) or [])
    if getattr(args, "name", None) is not None:
        names.append(args.name)
    for value in names:
        problem = _name_problem(value)
        if problem:
            return f"argument NAME: {problem}"
    number = getattr(args, "number", None)
    if number is not None:
        problem = _number_problem(number)
        if problem:
            return f"argument --number: {problem}"
    return None


RESELLER_HELP = ("the reseller (tenant): its id or its name, case and accents ignored "
                 "(evodash resellers lists them); the same before or after the command")


def build_parser() -> argparse.ArgumentParser:
    parser = CliArgumentParser(
        prog="evodash",
        description=(
            "See and repair Evolution API (v1.8 or v2) instances vs MongoDB connection "
            "records. "
            "Without a command, opens the dashboard."
        ),
    )
    parser.add_argument("--version", action="version", version=f"evodash {__version__}")
    parser.add_argument("--settings", metavar="PATH", help="settings file (default: "
                        "$EVODASH_SETTINGS, ./settings.json, ~/.config/evodash/settings.json)")
    parser.add_argument("--reseller", metavar="ID|NAME",
                        help="scope to one reseller (tenant): its id or its name, case and "
                             "accents ignored (evodash resellers lists them)")
    parser.add_argument("--read-only", action="store_true", help="refuse every mutation")
    parser.add_argument("--demo", action="store_true",
                        help="run on the embedded demo: a simulator + a database whose world "
                        "is kept between --demo commands (no settings)")
    parser.add_argument("--demo-reset", action="store_true",
                        help="like --demo, on a fresh demo world (the kept one is discarded)")
    parser.add_argument("--dialect", choices=DIALECTS, metavar="{v1.8,v2}",
                        help="the Evolution API the server speaks: with --demo, which one the "
                             "demo's simulator speaks (default v1.8; each keeps a world of its "
                             "own); otherwise it overrides the setting evolution.dialect "
                             "(default: detected)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CliArgumentParser)

    def common(p: argparse.ArgumentParser, *, mutating: bool = True,
               dry_run: bool = False, reseller: str = RESELLER_HELP) -> None:
        # after the command, `--reseller` is the same option as before it (`merge_reseller`)
        p.add_argument("--reseller", dest="reseller_after", metavar="ID|NAME", help=reseller)
        p.add_argument("--json", action="store_true",
                       help="JSON on stdout (one object per line; the last one is the result)")
        if dry_run:
            p.add_argument("--dry-run", action="store_true",
                           help="print the plan (what each target would get, what is left "
                                "alone and how to include it); change nothing")
        if mutating:
            p.add_argument("--yes", "-y", action="store_true",
                           help="do not ask for confirmation (needed without a terminal)")

    report = sub.add_parser("report", help="show how Evolution and the database disagree, "
                                           "each finding with the command that repairs it")
    common(report, mutating=False)

    resellers = sub.add_parser("resellers", help="list the resellers: id, name, records, "
                                                 "linked, orphan records")
    common(resellers, mutating=False)

    delete = sub.add_parser("delete", help="verified delete of instances (and their records)")
    delete.add_argument("names", nargs="+", metavar="NAME",
                        help="instance name(s), exactly as listed (case matters)")
    common(delete, dry_run=True)

    clear = sub.add_parser("clear-all", help="verified delete of every instance in a scope")
    clear.add_argument("--all", action="store_true", help="every tenant (admin)")
    clear.add_argument("--orphans-only", action="store_true",
                       help="only orphans: instances without a record, records without an "
                            "instance (linked names are left out)")
    clear.add_argument("--include-attributed", action="store_true",
                       help="also orphan instances whose name matches the reseller's prefix")
    clear.add_argument("--concurrency", type=_concurrency, metavar="N",
                       help=f"targets worked at once (1-{MAX_CONCURRENCY}; one only waiting "
                            "does not count; default cleanup.concurrency)")
    common(clear, dry_run=True, reseller="the reseller whose names are cleared (its id or "
                                         "its name); or --all")

    create = sub.add_parser("create", help="create a connection (instance + record)")
    create.add_argument("--qr", action="store_true",
                        help="ask for the QR code and draw it (evodash pair NAME later)")
    common(create, reseller="the reseller the connection is for (its id or its name)")

    forget = sub.add_parser("forget", help="remove orphan records whose name is free")
    forget.add_argument("names", nargs="+", metavar="NAME",
                        help="name(s) of orphan records (the database side only)")
    common(forget, dry_run=True)

    adopt = sub.add_parser("adopt", help="create a record for an orphan instance")
    adopt.add_argument("name", metavar="NAME", help="the orphan instance's name")
    common(adopt, dry_run=True,
           reseller="the reseller the record is for (its id or its name)")

    reprovision = sub.add_parser("reprovision", help="re-create the instance of an orphan record")
    reprovision.add_argument("name", metavar="NAME",
                             help="the orphan record's name (free on the server)")
    common(reprovision, dry_run=True)

    pair = sub.add_parser("pair", help="pair an existing instance with a phone: its QR code "
                                       "in the terminal, or a pairing code")
    pair.add_argument("name", metavar="NAME", help="the instance's name")
    pair.add_argument("--number", metavar="PHONE",
                      help="phone number with country code (e.g. 5511999990000): show the "
                           "8-character pairing code for it instead of the QR code")
    pair.add_argument("--once", action="store_true",
                      help="print the code once and exit (default on a terminal: follow the "
                           "server's rotation until the phone has paired)")
    common(pair)

    doctor = sub.add_parser("doctor", help="check settings, Evolution, API key and MongoDB")
    common(doctor, mutating=False, reseller="also check this reseller exists (id or name)")

    sub.add_parser("sim", help="run the Evolution API simulator, v1.8 or v2 (see evodash sim --help)",
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
