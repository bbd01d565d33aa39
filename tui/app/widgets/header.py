"""`StatusHeader`: server, database, scope, READ-ONLY, refresh state and the counts."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from tui.app.literal import one_line, shown
from tui.app.view import fmt_age
from tui.reconcile.models import Counts


@dataclass
class HeaderState:
    evolution_host: str
    database: str
    scope_label: str
    read_only: bool
    refresh_s: float
    auto_refresh: bool
    paused: bool = False
    last_good_at: float | None = None
    error: str | None = None
    refreshing: bool = False
    counts: Counts | None = None
    marked: int = 0  # rows marked in both panes
    warning: str | None = None  # e.g. an unknown reseller: shown instead of the counts


def header_text(state: HeaderState, now: float, compact: bool = False) -> Text:
    """Two lines; `compact` (narrow terminals) drops the labels, not the facts. The host,
    database, scope and error come from settings, the database or a server: shown literally."""
    text = Text()
    if not compact:
        text.append("evodash", style="bold")
        text.append(" · ")
    text.append(f"{shown(state.evolution_host)} · db {shown(state.database)} · ")
    if not compact:
        text.append("scope ")
    text.append(shown(state.scope_label), style="bold")
    if state.read_only:
        text.append(" · ")
        text.append("READ-ONLY", style="bold reverse")
    text.append(" · ")
    if not state.auto_refresh:
        text.append("auto off" if compact else "auto-refresh off")
    elif state.paused:
        text.append("paused", style="bold")
    else:
        text.append(f"every {state.refresh_s:g}s")
    if state.error is not None:
        age = f" (data {fmt_age(now - state.last_good_at)} old)" if state.last_good_at else ""
        text.append(" · ")
        text.append(f"stale{age}: {one_line(state.error)}", style="bold red")
    elif state.last_good_at is not None:
        age = fmt_age(now - state.last_good_at)
        text.append(f" · {age} ago" if compact else f" · refreshed {age} ago")
    else:
        text.append(" · loading…")
    c = state.counts
    text.append("\n")
    if state.marked:  # first: what the next delete or clear acts on
        text.append(f"{state.marked} marked", style="bold")
        text.append(" · ")
    if state.warning is not None:
        text.append(one_line(state.warning), style="bold yellow reverse")
    elif c is None:
        text.append("no data yet")
    else:
        if compact:  # fits 78 cells with the marked count
            text.append(f"inst {c.instances} · rec {c.records} · orphan ")
            text.append(f"{c.orphan_instances} inst", style="red" if c.orphan_instances else "")
            text.append(", ")
            text.append(f"{c.orphan_records} rec", style="red" if c.orphan_records else "")
        else:
            text.append(f"instances {c.instances} · records {c.records} · linked {c.linked} · ")
            text.append(f"orphan instances {c.orphan_instances}",
                        style="red" if c.orphan_instances else "")
            text.append(" · ")
            text.append(f"orphan records {c.orphan_records}",
                        style="red" if c.orphan_records else "")
        text.append(f" · reserved {c.reserved}", style="magenta" if c.reserved else "")
        if c.drifted:
            text.append(f" · drift {c.drifted}", style="yellow")
    return text


class StatusHeader(Static):
    """Two lines at the top; redrawn by the screen with a fresh `HeaderState`."""

    COMPACT_BELOW = 120

    def show(self, state: HeaderState, now: float) -> None:
        self.state, self.now = state, now
        self.update(header_text(state, now, compact=self.app.size.width < self.COMPACT_BELOW))

    def on_resize(self) -> None:
        if getattr(self, "state", None) is not None:
            self.show(self.state, self.now)
