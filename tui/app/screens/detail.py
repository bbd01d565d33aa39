"""`DetailScreen` (`enter`): every field of the instance and/or the record of a row (v2's
client name and stored messages / contacts / chats when the server gives them), the probe
state, and the commands that repair its finding (`tui.lifecycle.advice.repairs`). On v2,
whose list is database rows, a listed instance is probed as the screen opens (a worker,
`LifecycleService.liveness`): a row with no live instance behind it says so (`live: no live
instance (a database row only): delete removes it`);
`r` shows the raw JSON (`j` / `k` scroll, as everywhere). Every credential is masked in both views, for the
instance and for the record (`tui.app.literal.Redactor`: the instance token, every value
under a key that looks like a secret - `token`, `apikey`, `api_key`, `access_token`,
`secret`, `password`, ... - at any depth, URI passwords, and each of those secrets wherever
else it occurs); every value is shown literally (`shown`), never as markup."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from tui.app.literal import Redactor, json_text, literal, literal_lines
from tui.app.times import human_time
from tui.app.view import reseller_label, row_kind_text
from tui.evolution.models import Instance, ProbeResult
from tui.lifecycle.advice import repairs
from tui.lifecycle.words import liveness_text
from tui.reconcile.models import LinkedRow, OrphanInstanceRow, OrphanRecordRow, Row
from tui.store.models import ConnectionRecord


def instance_fields(instance: Instance) -> list[tuple[str, str]]:
    return [
        ("name", instance.name),
        ("id", instance.id or "-"),
        ("state", (instance.shown_state + " (seen connecting moments ago: it flaps "
                   "close/connecting)") if instance.dialing else
                  (instance.state.value if instance.state else "-")),
        ("owner", instance.owner or "-"),
        ("owner number", instance.owner_number or "-"),
        ("profile name", instance.profile_name or "-"),
        ("profile status", instance.profile_status or "-"),
        ("profile picture", instance.profile_picture_url or "-"),
        ("integration", instance.integration or "-"),
        ("server url", instance.server_url or "-"),
        ("token", instance.masked_token or "-"),
    ] + _v2_fields(instance)


def _v2_fields(instance: Instance) -> list[tuple[str, str]]:
    """What only v2 says of an instance: the server (`clientName`) whose row it is, and what
    that server stores for it (`_count`). Nothing for a v1.8 instance."""
    fields = []
    if instance.client_name is not None:
        fields.append(("client name", instance.client_name))
    if instance.counts is not None:
        fields += [("messages", str(instance.counts.messages)),
                   ("contacts", str(instance.counts.contacts)),
                   ("chats", str(instance.counts.chats))]
    return fields


def redactor(row: Row) -> Redactor:
    """The secrets of a row: its instance's token, and every value held under a key that
    looks like a credential in the instance's raw body and in the record."""
    instance: Instance | None = getattr(row, "instance", None)
    record: ConnectionRecord | None = getattr(row, "record", None)
    token = instance.token.get_secret_value() if instance is not None and instance.token \
        else None
    found = Redactor([token])
    if instance is not None:
        found.collect(instance.raw)
    if record is not None:
        found.collect(record.extra)
    return found


def record_fields(record: ConnectionRecord,
                  secrets: Redactor | None = None) -> list[tuple[str, str]]:
    if secrets is None:
        secrets = Redactor().collect(record.extra)
    fields = [
        ("doc id", record.doc_id),
        ("id", record.id or "-"),
        ("reseller id", record.reseller_id or "-"),
        ("instance name", record.instance_name),
        ("phone number", record.phone_number or "-"),
        ("status", record.status or "-"),
        ("daily limit", "-" if record.daily_limit is None else str(record.daily_limit)),
        ("created at", human_time(record.created_at) or "-"),
    ]
    masked = secrets.redact(record.extra)  # (masked before it is cut short)
    fields += [(key, _field_value(key, value)) for key, value in sorted(masked.items())]
    return fields


def _field_value(key: str, value: Any) -> str:
    """A record field as shown: a time field (`..._at`, e.g. `evodash_marked_at`, an ISO
    string or Unix seconds) as a human time, anything else as itself (cut short)."""
    if key.endswith("_at"):
        when = human_time(value)
        if when is not None:
            return when
    return _short(value)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def detail_lines(row: Row, probe: ProbeResult | None,
                 secrets: Redactor | None = None, live: str | None = None) -> list[str]:
    """Every line of the detail view, secrets masked (not yet made visible: `detail_text`);
    `live`: what the probe of a listed v2 instance said (None: not asked)."""
    if secrets is None:
        secrets = redactor(row)
    lines = [f"kind: {row_kind_text(row)}"]
    if live is not None:
        lines.append(f"live: {live}")
    if isinstance(row, LinkedRow):
        lines.append(f"reseller: {reseller_label(row.reseller, row.record.reseller_id)}")
        lines += [f"drift: {reason}" for reason in row.drift]
    elif isinstance(row, OrphanInstanceRow):
        who = (reseller_label(row.attributed_reseller, None)
               if row.attributed_reseller else "nobody")
        note = f" ({row.attribution_note})" if row.attribution_note else ""
        lines.append(f"attributed to: {who}{note}")
    elif isinstance(row, OrphanRecordRow):
        lines.append(f"reseller: {reseller_label(row.reseller, row.record.reseller_id)}")
        lines.append(f"probe: {row.probe.value}" + (f" ({row.note})" if row.note else ""))
    if probe is not None and not isinstance(row, OrphanRecordRow):
        lines.append(f"probe: {probe.state.value}")
    lines += [f"suspicious: {reason}" for reason in row.suspicious]
    fixes = repairs(row)
    if fixes:
        lines += ["", "To repair it"]
        for fix in fixes:  # (the command on a line of its own: it copies whole)
            lines += [f"  {fix.command}", f"    # {fix.why}"]
    instance = getattr(row, "instance", None)
    record = getattr(row, "record", None)
    if instance is not None:
        lines += ["", "Evolution instance"]
        lines += [f"  {k:<16} {v}" for k, v in instance_fields(instance)]
    if record is not None:
        lines += ["", "Database record"]
        lines += [f"  {k:<16} {v}" for k, v in record_fields(record, secrets)]
    return [secrets.scrub(line) for line in lines]


def detail_text(row: Row, probe: ProbeResult | None, live: str | None = None) -> Text:
    return literal_lines(detail_lines(row, probe, live=live))


def raw_json(row: Row, secrets: Redactor | None = None) -> str:
    """The instance's body and the record as indented JSON, every secret masked and every
    string JSON-escaped where it could act on a terminal (`json_text`)."""
    if secrets is None:
        secrets = redactor(row)
    out: dict[str, Any] = {}
    instance = getattr(row, "instance", None)
    record = getattr(row, "record", None)
    if instance is not None:
        out["instance"] = instance.raw or instance.model_dump(
            mode="json", exclude={"token", "raw"})
    if record is not None:
        out["record"] = record.model_dump(mode="json")
    return secrets.scrub(json_text(secrets.redact(out)))


#: Asks whether a listed instance is live (`LifecycleService.liveness`).
Liveness = Callable[[str], Awaitable[ProbeResult | None]]

PROBING_LIVE = "probing…"


class LiveProbed(Message, bubble=False):
    """The detail's probe of a listed instance answered (`text`: what it says, in words)."""

    def __init__(self, text: str | None) -> None:
        super().__init__()
        self.text = text


class DetailScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("r", "toggle_raw", "Raw JSON", id="detail.raw"),
        Binding("j", "scroll('down')", "Down", show=False, id="detail.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="detail.up"),
        Binding("g", "scroll('home')", "Top", show=False, id="detail.top"),
        Binding("G", "scroll('end')", "Bottom", show=False, id="detail.bottom"),
        Binding("escape,q,enter", "close", "Close", id="detail.close"),
    ]

    def __init__(self, row: Row, probe: ProbeResult | None,
                 liveness: Liveness | None = None) -> None:
        super().__init__()
        self.row = row
        self.probe = probe
        self.raw = False
        # a listed instance on v2: probed as the screen opens (`liveness`), said on `live:`
        self.liveness = liveness if getattr(row, "instance", None) is not None else None
        self.live: str | None = PROBING_LIVE if self.liveness is not None else None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog detail fit"):
            yield Label(literal(self.row.name), classes="dialog-title")
            with Vertical(classes="dialog-footer"):
                yield Label("r raw JSON · j k ↑↓ PgUp PgDn scroll · esc close",
                            classes="dialog-prompt", id="detail-prompt")
            with VerticalScroll(classes="dialog-scroll", id="detail-scroll"):
                yield Static(detail_text(self.row, self.probe, self.live), id="detail-body",
                             markup=False)

    def on_mount(self) -> None:
        self.query_one("#detail-scroll", VerticalScroll).focus()  # arrows and pages scroll
        if self.liveness is not None:
            self.probe_live()

    @work(group="detail-live", exit_on_error=False)
    async def probe_live(self) -> None:
        assert self.liveness is not None
        try:
            found = await self.liveness(self.row.name)
        except Exception as exc:  # noqa: BLE001 - said on the line, the screen stays
            self.post_message(LiveProbed(f"probe failed: {exc}"))
            return
        self.post_message(LiveProbed(liveness_text(found) if found is not None else None))

    def on_live_probed(self, message: LiveProbed) -> None:
        self.live = message.text
        if not self.raw:
            self.query_one("#detail-body", Static).update(
                detail_text(self.row, self.probe, self.live))

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#detail-scroll", VerticalScroll)
        {"down": body.scroll_down, "up": body.scroll_up, "home": body.scroll_home,
         "end": body.scroll_end}[where](animate=False)

    def action_toggle_raw(self) -> None:
        self.raw = not self.raw
        body = Text(raw_json(self.row)) if self.raw else detail_text(self.row, self.probe,
                                                                     self.live)
        self.query_one("#detail-body", Static).update(body)
        self.query_one("#detail-prompt", Label).update(
            f"r {'fields' if self.raw else 'raw JSON'} · j k ↑↓ PgUp PgDn scroll · esc close")

    def action_close(self) -> None:
        self.dismiss(None)
