"""What the headless commands print: step lines, a progress bar on a TTY, JSON lines with
`--json`, the summary, the `report` in text and JSON, and a QR code in the terminal.

Every line goes out through `say` (text: `tui.text.visible`, so names, reseller ids, record
fields and server messages are shown literally - no escape sequence, no bidi override, no
line break of theirs reaches the terminal) or `Output.emit` (JSON: `tui.text.json_visible`).
A terminal that went away (an SSH drop) is not an error: what cannot be written is dropped.
"""

from __future__ import annotations

import errno
import os
import shlex
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Iterator, Sequence, TextIO

from tui.evolution.dialect import Dialect
from tui.evolution.models import ServerProfile
from tui.lifecycle.advice import LeftOut
from tui.lifecycle.events import StepEvent, Step, Summary
from tui.lifecycle.observe import Observation
from tui.lifecycle.plans import Plan
from tui.lifecycle.resellers import ResellerCounts
from tui.lifecycle.words import detected_text
from tui.qrtext import fit_qr
from tui.reconcile.models import OrphanProbe, Row
from tui.text import json_visible, visible

if TYPE_CHECKING:
    from tui.cli.advising import Advisor

_GONE = (errno.EPIPE, errno.EIO, errno.ENXIO, errno.ECONNRESET)


def write(stream: TextIO, data: str) -> None:
    """Write and flush `data` as is (callers pass only text made by `visible` /
    `json_visible` or their own constants). Output that cannot be written is dropped, never
    raised: a step line must not break the operation it reports (its audit and exit code
    still say what happened). A closed pipe or a hung-up terminal silences the stream."""
    try:
        stream.write(data)
        stream.flush()
    except ValueError:  # the stream was closed
        pass
    except OSError as exc:
        if exc.errno in _GONE or isinstance(exc, BrokenPipeError):
            _silence(stream)


def _silence(stream: TextIO) -> None:
    """Point the stream's file descriptor at /dev/null, so that later writes and the flush
    at interpreter exit do not fail again (no 'Exception ignored' message either)."""
    try:
        fd = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def say(text: object, stream: TextIO | None = None) -> None:
    """One line of text, outside parts included, shown literally (`visible`)."""
    write(stream or sys.stdout, visible(text) + "\n")


def error_line(message: object) -> None:
    """`evodash: <message>` on stderr, on one line (its whitespace runs collapsed)."""
    say(f"evodash: {' '.join(str(message).split())}", sys.stderr)


class Output:
    def __init__(self, json_mode: bool = False, stream=None):
        self.json_mode = json_mode
        self.stream = stream or sys.stdout
        try:
            self.tty = self.stream.isatty() and not json_mode
        except (ValueError, OSError):
            self.tty = False
        self._bar = False  # a progress bar is drawn on the current line

    def emit(self, obj: dict[str, Any]) -> None:
        write(self.stream, json_visible(obj) + "\n")

    def line(self, text: object) -> None:
        self._clear_bar()
        say(text, self.stream)

    def info(self, text: str) -> None:
        if self.json_mode:
            self.emit({"type": "info", "message": text})
        else:
            self.line(text)

    def notice(self, text: str) -> None:
        """A message for the operator on stderr (stdout may be a pipe or JSON lines)."""
        self._clear_bar()
        say(f"evodash: {text}", sys.stderr)

    def _clear_bar(self) -> None:
        if self._bar:
            write(self.stream, "\r\x1b[2K")
            self._bar = False

    def plan(self, plan: Plan, advisor: Advisor | None = None, limit: int = 20) -> None:
        """The plan: one line per target (the skipped ones after, each with how to include
        it), cut at `limit`."""
        counts = ", ".join(f"{k} {v}" for k, v in sorted(plan.counts().items())) or "empty"
        self.info(f"{plan.title} plan for {plan.scope}: {counts}")
        for note in plan.notes:
            self.info(f"note: {note}")
        if self.json_mode:
            return
        ordered = plan.actionable + plan.skipped
        for target in ordered[:limit]:
            self.line(f"  {visible(target.name)}: {visible(target.describe())}")
            hint = advisor.hint(target.skip, plan.operation, target.name) if advisor else ""
            if hint:
                self.line(f"    include: {visible(hint)}")
        if len(ordered) > limit:
            self.line(f"  … and {len(ordered) - limit} more")

    @contextmanager
    def progress(self, total: int, *, bar: bool) -> Iterator:
        done: set[str] = set()
        show_bar = bar and self.tty and total > 0

        def sink(event: StepEvent) -> None:
            if self.json_mode:
                self.emit(event.to_json())
                return
            if event.step is not Step.DONE:
                self.line(event.line())
            elif event.instance:
                done.add(event.instance)
            if show_bar:
                self._clear_bar()
                width = 30
                filled = int(width * min(len(done), total) / total)
                write(self.stream, f"[{'#' * filled}{'-' * (width - filled)}] "
                                   f"{min(len(done), total)}/{total}")
                self._bar = True

        try:
            yield sink
        finally:
            self._clear_bar()

    def summary(self, summary: Summary, advisor: Advisor | None = None,
                left_out: Sequence[LeftOut] = ()) -> None:
        """The summary line and a line per target worth one; a skipped target says how to
        include it (`include: ...`), and what the plan left out of its scope says why and
        how to include it (`left out: ...`). JSON: the summary object, each skipped target
        with its `hint`, and `left_out` (one entry per name) when there is any."""
        hints = {i: advisor.hint(t.skip, summary.operation, t.name)
                 for i, t in enumerate(summary.targets)} if advisor else {}
        if self.json_mode:
            obj = summary.to_json()
            for i, target in enumerate(obj["targets"]):
                if hints.get(i):
                    target["hint"] = hints[i]
            if left_out:
                obj["left_out"] = [{"name": name, "why": lo.why, "hint": lo.hint}
                                   for lo in left_out for name in lo.names]
            self.emit(obj)
            return
        self.line(summary.line())
        for i, target in enumerate(summary.targets):
            if target.reason or target.record_error:
                detail = "; ".join(x for x in (target.reason, target.record_error) if x)
                self.line(f"  {visible(target.name or '-')}: {target.outcome.value} · "
                          f"{visible(detail)}")
            elif target.outcome.value in ("created", "adopted", "reprovisioned", "forgotten"):
                self.line(f"  {visible(target.name)}: {target.outcome.value}")
            if hints.get(i):
                self.line(f"    include: {visible(hints[i])}")
        for lo in left_out:
            names = ", ".join(lo.names[:LEFT_OUT_NAMES])
            more = len(lo.names) - LEFT_OUT_NAMES
            if len(lo.names) > 1:
                names = f"{len(lo.names)} names ({names}{f', … {more} more' if more > 0 else ''})"
            self.line(f"  left out: {visible(names)} · {visible(lo.why)}")
            self.line(f"    include: {visible(lo.hint)}")
        for note in summary.notes:
            self.line(f"note: {visible(note)}")

    def qr(self, summary: Summary, advisor: Advisor | None = None) -> None:
        """The QR code of each created target that came with one (`create --qr`)."""
        for target in summary.targets:
            code = (target.extra.get("qrcode") or {}).get("code")
            if code:
                self.qr_code(code, target.name, footer=(
                    f"the server rotates the code: evodash pair {shlex.quote(target.name)} "
                    "shows a fresh one, kept fresh until the phone has paired"),
                    advisor=advisor)

    def qr_code(self, code: str, name: str, *, footer: str = "",
                advisor: Advisor | None = None) -> tuple[bool, list[str]]:
        """Draw the QR code of `code` (the payload the server gave for `name`) with the
        dashboard's size rules (`tui.qrtext`): light half blocks on black, quiet zone of 4
        modules or 2 when that is what fits, never wrapped; a title line above it and the
        `footer` under it must fit too. On a terminal too small for it, one line naming the
        size needed and available, and the pairing-code way instead. Returns whether the
        code was drawn, and the lines written (to draw over them: `rows`)."""
        size = terminal_size(self.stream) if self.tty else None
        width, height = size if size else (10_000, 10_000)
        title = f"Scan with WhatsApp (Linked devices): {visible(name)}"
        footer = visible(advisor.text(footer) if advisor else footer) if footer else ""
        chrome = rows(title, width) + (rows(footer, width) if footer else 0)
        try:
            fit = fit_qr(code, width, height, chrome_h=chrome)
        except Exception as exc:  # noqa: BLE001 - a server's payload too long for a QR code
            message = f"cannot draw the QR code of {visible(name)}: {type(exc).__name__}"
            self.line(message)
            return False, [message]
        if fit.text is None:
            alternative = f"evodash pair {shlex.quote(name)} --number PHONE"
            message = (f"terminal too small for the QR code: needs {fit.need_w}x{fit.need_h}, "
                       f"have {width}x{height}; enlarge the window, or pair with a code: "
                       f"{visible(advisor.text(alternative) if advisor else alternative)}")
            self.line(message)
            return False, [message]
        colour = self.tty and not os.environ.get("NO_COLOR")
        on, off = ("\x1b[97;40m", "\x1b[0m") if colour else ("", "")
        self._clear_bar()
        write(self.stream, title + "\n")
        write(self.stream, "".join(f"{on}{row}{off}\n" for row in fit.text.splitlines()))
        if footer:
            write(self.stream, footer + "\n")
        return True, [title, *fit.text.splitlines(), *([footer] if footer else [])]


def rows(line: str, width: int) -> int:
    """Terminal rows a line takes at `width` columns (it wraps; one cell per character)."""
    return max(1, -(-len(line) // max(1, width)))


def rows_of(lines: Sequence[str], width: int) -> int:
    """Terminal rows `lines` take at `width` columns (a terminal that reflows on resize)."""
    return sum(rows(line, width) for line in lines)


LEFT_OUT_NAMES = 5  # names listed on a `left out` line of several


def terminal_size(stream: TextIO) -> tuple[int, int] | None:
    """The size of the terminal `stream` writes to (None: not a terminal)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return size.columns, size.lines


def _age(ts: datetime | None) -> str:
    if ts is None:
        return "-"
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.strftime("%Y-%m-%d %H:%M")


def server_json(profile: ServerProfile | None) -> dict[str, str | None] | None:
    """The server as `report --json` and `doctor --json` give it: version, dialect, client
    name (v2) and how the dialect was found (`version`, `setting`, `verify-creds`,
    `list-shape`); None when it is not known."""
    if profile is None:
        return None
    return {"version": profile.version, "dialect": profile.dialect.value,
            "client_name": profile.client_name, "detected_by": profile.detected_by.value}


def report_json(obs: Observation, advisor: Advisor | None = None,
                server: ServerProfile | None = None) -> dict[str, Any]:
    """The report as one object: the server (`server_json`), the counts (`foreign`: orphan
    records whose name another server sharing the database holds), and every finding
    (orphan instance, orphan record, drifting link) with `repair`: the commands that repair
    it, `{"command", "why"}` each (a linked row without drift: `[]`)."""
    view = obs.view

    def repair(row: Row) -> list[dict[str, str]]:
        return advisor.repairs(row) if advisor else []

    return {
        "type": "report",
        "server": server_json(server),
        "counts": view.counts.model_dump(),
        "linked": [{"name": r.name, "state": r.instance.state, "dialing": r.instance.dialing,
                    "reseller_id": r.record.reseller_id,
                    "record_status": r.record.status, "drift": list(r.drift),
                    "suspicious": list(r.suspicious), "repair": repair(r)}
                   for r in view.linked],
        "orphan_instances": [{"name": r.name, "state": r.instance.state,
                              "dialing": r.instance.dialing,
                              "owner": r.instance.owner_number or None,
                              "attributed_reseller": r.attributed_reseller.id
                              if r.attributed_reseller else None,
                              "attribution": r.attribution_note,
                              "suspicious": list(r.suspicious), "repair": repair(r)}
                             for r in view.orphan_instances],
        "orphan_records": [{"name": r.name, "reseller_id": r.record.reseller_id,
                            "doc_id": r.record.doc_id, "probe": r.probe.value, "note": r.note,
                            "suspicious": list(r.suspicious), "repair": repair(r)}
                           for r in view.orphan_records],
        "invalid_rows": [r.model_dump() for r in view.invalid_rows],
        "duplicate_names": [d.model_dump() for d in view.duplicate_names],
        "case_collisions": [c.model_dump() for c in view.case_collisions],
        "probe_errors": obs.probe_errors,
    }


def _repair_lines(row: Row, advisor: Advisor | None) -> list[str]:
    """`    fix: COMMAND   (why)`, then `    or:  COMMAND   (why)` for the other ways."""
    if advisor is None:
        return []
    return [f"    {'fix:' if i == 0 else 'or: '} {visible(a['command'])}   # {visible(a['why'])}"
            for i, a in enumerate(advisor.repairs(row))]


FOREIGN_TEXT = "other server"  # an orphan record whose name another server holds


def server_line(profile: ServerProfile | None) -> str:
    """`server: Evolution API 2.3.6 (v2, client evo_a) · detected from GET / version`."""
    if profile is None:
        return "server: not known (it did not say which Evolution API it is)"
    return f"server: {profile.label} · {detected_text(profile.detected_by)}"


def report_lines(obs: Observation, settings, advisor: Advisor | None = None,
                 scope: str = "", server: ServerProfile | None = None) -> list[str]:
    """The text report, one shown-literally (`visible`) line per item: where (the server's
    version, dialect and v2 client name), the counts, the findings; under each finding the
    command that repairs it (`fix:`) and the other ways (`or:`). An orphan record whose name
    another server sharing the database holds (v2) is listed apart (`other server`)."""
    v = visible
    view, c = obs.view, obs.view.counts
    v2 = server is not None and server.dialect is Dialect.V2
    foreign = f", foreign {c.foreign}" if c.foreign or v2 else ""
    lines = [
        f"Evolution {v(settings.evolution.url)} · database {v(settings.mongo.database)}"
        + (f" · reseller {v(scope)}" if scope else ""),
        server_line(server),
        f"instances {c.instances} · records {c.records} · linked {c.linked} · "
        f"orphan instances {c.orphan_instances} · orphan records {c.orphan_records} "
        f"(absent {c.absent}, reserved {c.reserved}{foreign}) · drifted {c.drifted} · "
        f"invalid {c.invalid}",
    ]
    if view.orphan_instances:
        lines += ["", "ORPHAN INSTANCES (in Evolution, no record)"]
        for oi in view.orphan_instances:
            who = oi.attributed_reseller.id if oi.attributed_reseller else "unattributed"
            lines.append(f"  {v(oi.name):<32} {v(oi.instance.shown_state):<10} {v(who):<14} "
                         f"{v(oi.attribution_note)}")
            lines += _repair_lines(oi, advisor)
    orphans = [r for r in view.orphan_records if r.probe is not OrphanProbe.FOREIGN]
    others = [r for r in view.orphan_records if r.probe is OrphanProbe.FOREIGN]
    if orphans:
        lines += ["", "ORPHAN RECORDS (in the database, no instance)"]
        for orec in orphans:
            lines.append(f"  {v(orec.name):<32} {v(orec.record.reseller_id or '-'):<14} "
                         f"ORPHAN · {orec.probe.value}  {v(orec.note)}")
            lines += _repair_lines(orec, advisor)
    if others:
        lines += ["", "OTHER SERVER (records whose name another Evolution server sharing the "
                      "database holds: never touched from here)"]
        for orec in others:
            lines.append(f"  {v(orec.name):<32} {v(orec.record.reseller_id or '-'):<14} "
                         f"{FOREIGN_TEXT}  {v(orec.note)}")
            lines += _repair_lines(orec, advisor)
    dialing = [row.name for row in view.linked if row.instance.dialing]
    dialing += [row.name for row in view.orphan_instances if row.instance.dialing]
    if dialing:
        lines += ["", "DIALING (listed close, seen connecting: trying to reach WhatsApp; "
                      "a delete logs it out first)"]
        lines += [f"  {v(name)}" for name in dialing]
    drifted = [row for row in view.linked if row.drift]
    if drifted:
        lines += ["", "DRIFT (both sides, but they disagree)"]
        for row in drifted:
            lines.append(f"  {v(row.name):<32} {v('; '.join(row.drift))}")
            lines += _repair_lines(row, advisor)
    if view.invalid_rows:
        lines += ["", "INVALID RECORDS"]
        for bad in view.invalid_rows:
            lines.append(f"  {v(bad.doc_id)}: {v(bad.reason)}")
    for d in view.duplicate_names:
        lines.append(f"duplicate records for {v(d.name)}: {v(', '.join(d.doc_ids))}")
    for cc in view.case_collisions:
        lines.append(f"names differing only in case: {', '.join(map(v, cc.names))}")
    for name, error in sorted(obs.probe_errors.items()):
        lines.append(f"probe of {v(name)} failed: {v(error)}")
    if view.is_consistent:
        lines += ["", "consistent: every instance has its record and every record its instance"]
    # each line once more through `visible` (idempotent): nothing composed above can carry
    # a control character or a line break of its own
    return [v(line) for line in lines]


def resellers_lines(rows: Sequence[ResellerCounts]) -> list[str]:
    """`evodash resellers` as a table: id, records, linked, orphan records, orphan instances
    attributed by name, and the name last (whole, shown literally: nothing is cut); the
    resellers only records name come last, marked."""
    if not rows:
        return ["no resellers (the resellers collection is empty and no record names one)"]
    v = visible
    id_w = max(2, *(len(v(r.reseller.id)) for r in rows))
    out = [f"{'ID':<{id_w}}  RECORDS  LINKED  ORPHAN RECORDS  ORPHAN INSTANCES*  NAME"]
    for r in rows:
        name = v(r.reseller.name) if r.known else "(not in the resellers collection)"
        out.append(f"{v(r.reseller.id):<{id_w}}  {r.records:>7}  {r.linked:>6}  "
                   f"{r.orphan_records:>14}  {r.orphan_instances:>17}  {name}")
    out.append("* orphan instances attributed by their name's prefix (no record is theirs)")
    return [v(line) for line in out]


def report_text(obs: Observation, settings) -> str:
    return "\n".join(report_lines(obs, settings))
