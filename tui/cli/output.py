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
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Iterator, TextIO

from tui.lifecycle.events import StepEvent, Step, Summary
from tui.lifecycle.observe import Observation
from tui.lifecycle.plans import Plan
from tui.text import json_visible, visible

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

    def plan(self, plan: Plan) -> None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(plan.counts().items())) or "empty"
        self.info(f"{plan.title} plan for {plan.scope}: {counts}")
        for note in plan.notes:
            self.info(f"note: {note}")
        if not self.json_mode:
            for line in plan.lines(20):
                self.line(f"  {visible(line)}")

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

    def summary(self, summary: Summary) -> None:
        if self.json_mode:
            self.emit(summary.to_json())
            return
        self.line(summary.line())
        for target in summary.targets:
            if target.reason or target.record_error:
                detail = "; ".join(x for x in (target.reason, target.record_error) if x)
                self.line(f"  {visible(target.name or '-')}: {target.outcome.value} · "
                          f"{visible(detail)}")
            elif target.outcome.value in ("created", "adopted", "reprovisioned", "forgotten"):
                self.line(f"  {visible(target.name)}: {target.outcome.value}")
        for note in summary.notes:
            self.line(f"note: {visible(note)}")

    def qr(self, summary: Summary) -> None:
        for target in summary.targets:
            code = (target.extra.get("qrcode") or {}).get("code")
            if code:
                import io

                import segno

                # drawn into a buffer first: only block characters and colours of segno's own
                # reach the terminal, and a hung-up terminal is handled like any line
                buffer = io.StringIO()
                segno.make(code, error="l").terminal(out=buffer, compact=True)
                write(self.stream, buffer.getvalue())


def _age(ts: datetime | None) -> str:
    if ts is None:
        return "-"
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return ts.strftime("%Y-%m-%d %H:%M")


def report_json(obs: Observation) -> dict[str, Any]:
    view = obs.view
    return {
        "type": "report",
        "counts": view.counts.model_dump(),
        "linked": [{"name": r.name, "state": r.instance.state, "dialing": r.instance.dialing,
                    "reseller_id": r.record.reseller_id,
                    "record_status": r.record.status, "drift": list(r.drift),
                    "suspicious": list(r.suspicious)} for r in view.linked],
        "orphan_instances": [{"name": r.name, "state": r.instance.state,
                              "dialing": r.instance.dialing,
                              "owner": r.instance.owner_number or None,
                              "attributed_reseller": r.attributed_reseller.id
                              if r.attributed_reseller else None,
                              "attribution": r.attribution_note,
                              "suspicious": list(r.suspicious)} for r in view.orphan_instances],
        "orphan_records": [{"name": r.name, "reseller_id": r.record.reseller_id,
                            "doc_id": r.record.doc_id, "probe": r.probe.value, "note": r.note,
                            "suspicious": list(r.suspicious)} for r in view.orphan_records],
        "invalid_rows": [r.model_dump() for r in view.invalid_rows],
        "duplicate_names": [d.model_dump() for d in view.duplicate_names],
        "case_collisions": [c.model_dump() for c in view.case_collisions],
        "probe_errors": obs.probe_errors,
    }


def report_lines(obs: Observation, settings) -> list[str]:
    """The text report, one shown-literally (`visible`) line per item."""
    v = visible
    view, c = obs.view, obs.view.counts
    lines = [
        f"Evolution {v(settings.evolution.url)} · database {v(settings.mongo.database)}",
        f"instances {c.instances} · records {c.records} · linked {c.linked} · "
        f"orphan instances {c.orphan_instances} · orphan records {c.orphan_records} "
        f"(absent {c.absent}, reserved {c.reserved}) · drifted {c.drifted} · invalid {c.invalid}",
    ]
    if view.orphan_instances:
        lines += ["", "ORPHAN INSTANCES (in Evolution, no record)"]
        for oi in view.orphan_instances:
            who = oi.attributed_reseller.id if oi.attributed_reseller else "unattributed"
            lines.append(f"  {v(oi.name):<32} {v(oi.instance.shown_state):<10} {v(who):<14} "
                         f"{v(oi.attribution_note)}")
    if view.orphan_records:
        lines += ["", "ORPHAN RECORDS (in the database, no instance)"]
        for orec in view.orphan_records:
            lines.append(f"  {v(orec.name):<32} {v(orec.record.reseller_id or '-'):<14} "
                         f"ORPHAN · {orec.probe.value}  {v(orec.note)}")
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


def report_text(obs: Observation, settings) -> str:
    return "\n".join(report_lines(obs, settings))
