"""What the headless commands print: step lines, a progress bar on a TTY, JSON lines with
`--json`, the summary, the `report` in text and JSON, and a QR code in the terminal.
"""

from __future__ import annotations

import json
import re
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Iterator

from tui.lifecycle.events import StepEvent, Step, Summary
from tui.lifecycle.observe import Observation
from tui.lifecycle.plans import Plan


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe(text: object) -> str:
    """`text` with control characters shown as escapes: a name from a server must never
    move the cursor, clear the screen or break a line on the user's terminal."""
    return _CONTROL.sub(lambda m: repr(m.group(0))[1:-1], str(text))


class Output:
    def __init__(self, json_mode: bool = False, stream=None):
        self.json_mode = json_mode
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() and not json_mode

    def emit(self, obj: dict[str, Any]) -> None:
        self.stream.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
        self.stream.flush()

    def info(self, text: str) -> None:
        if self.json_mode:
            self.emit({"type": "info", "message": text})
        else:
            print(safe(text), file=self.stream)

    def plan(self, plan: Plan) -> None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(plan.counts().items())) or "empty"
        self.info(f"{plan.title} plan for {plan.scope}: {counts}")
        for note in plan.notes:
            self.info(f"note: {note}")
        if not self.json_mode:
            for line in plan.lines(20):
                print(f"  {safe(line)}", file=self.stream)

    @contextmanager
    def progress(self, total: int, *, bar: bool) -> Iterator:
        done: set[str] = set()
        show_bar = bar and self.tty and total > 0

        def sink(event: StepEvent) -> None:
            if self.json_mode:
                self.emit(event.to_json())
                return
            if show_bar:
                self.stream.write("\r\x1b[2K")
            if event.step is not Step.DONE:
                print(safe(event.line()), file=self.stream)
            elif event.instance:
                done.add(event.instance)
            if show_bar:
                width = 30
                filled = int(width * min(len(done), total) / total)
                self.stream.write(f"[{'#' * filled}{'-' * (width - filled)}] "
                                  f"{min(len(done), total)}/{total}")
                self.stream.flush()

        try:
            yield sink
        finally:
            if show_bar:
                self.stream.write("\r\x1b[2K")
                self.stream.flush()

    def summary(self, summary: Summary) -> None:
        if self.json_mode:
            self.emit(summary.to_json())
            return
        print(summary.line(), file=self.stream)
        for target in summary.targets:
            if target.reason or target.record_error:
                detail = "; ".join(x for x in (target.reason, target.record_error) if x)
                print(f"  {safe(target.name or '-')}: {target.outcome.value} · {safe(detail)}",
                      file=self.stream)
            elif target.outcome.value in ("created", "adopted", "reprovisioned", "forgotten"):
                print(f"  {safe(target.name)}: {target.outcome.value}", file=self.stream)
        for note in summary.notes:
            print(f"note: {safe(note)}", file=self.stream)

    def qr(self, summary: Summary) -> None:
        for target in summary.targets:
            code = (target.extra.get("qrcode") or {}).get("code")
            if code:
                import segno

                segno.make(code, error="l").terminal(out=self.stream, compact=True)


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


def report_text(obs: Observation, settings) -> str:
    view, c = obs.view, obs.view.counts
    lines = [
        f"Evolution {settings.evolution.url} · database {settings.mongo.database}",
        f"instances {c.instances} · records {c.records} · linked {c.linked} · "
        f"orphan instances {c.orphan_instances} · orphan records {c.orphan_records} "
        f"(absent {c.absent}, reserved {c.reserved}) · drifted {c.drifted} · invalid {c.invalid}",
    ]
    if view.orphan_instances:
        lines.append("\nORPHAN INSTANCES (in Evolution, no record)")
        for oi in view.orphan_instances:
            who = oi.attributed_reseller.id if oi.attributed_reseller else "unattributed"
            lines.append(f"  {safe(oi.name):<32} {oi.instance.shown_state:<10} {safe(who):<14} "
                         f"{safe(oi.attribution_note)}")
    if view.orphan_records:
        lines.append("\nORPHAN RECORDS (in the database, no instance)")
        for orec in view.orphan_records:
            lines.append(f"  {safe(orec.name):<32} {safe(orec.record.reseller_id or '-'):<14} "
                         f"ORPHAN · {orec.probe.value}  {safe(orec.note)}")
    dialing = [row.name for row in view.linked if row.instance.dialing]
    dialing += [row.name for row in view.orphan_instances if row.instance.dialing]
    if dialing:
        lines.append("\nDIALING (listed close, seen connecting: trying to reach WhatsApp; "
                     "a delete logs it out first)")
        lines += [f"  {safe(name)}" for name in dialing]
    drifted = [row for row in view.linked if row.drift]
    if drifted:
        lines.append("\nDRIFT (both sides, but they disagree)")
        for row in drifted:
            lines.append(f"  {safe(row.name):<32} {safe('; '.join(row.drift))}")
    if view.invalid_rows:
        lines.append("\nINVALID RECORDS")
        for bad in view.invalid_rows:
            lines.append(f"  {safe(bad.doc_id)}: {safe(bad.reason)}")
    for d in view.duplicate_names:
        lines.append(f"duplicate records for {safe(d.name)}: {safe(', '.join(d.doc_ids))}")
    for cc in view.case_collisions:
        lines.append(f"names differing only in case: {', '.join(map(safe, cc.names))}")
    for name, error in sorted(obs.probe_errors.items()):
        lines.append(f"probe of {safe(name)} failed: {safe(error)}")
    if view.is_consistent:
        lines.append("\nconsistent: every instance has its record and every record its instance")
    return "\n".join(lines)
