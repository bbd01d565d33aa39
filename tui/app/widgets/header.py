"""`StatusHeader`: server, database, scope, READ-ONLY, refresh state and the counts.

The first line names the Evolution server (its host, then its version, dialect and - on v2 -
client name once the profile is known: `Evolution 2.3.6 (v2 · evo_a)`; `detecting…` until
then). Each line is fitted to the width it has: its parts are shortened, the least important
first (`LINE1_STEPS`), until it fits; only a stale refresh's error may wrap. Every value from
outside (host, database, scope, version, client name, error) is shown literally.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from tui.app.literal import one_line, shown
from tui.app.view import FOREIGN_STYLE, fmt_age
from tui.evolution.models import ServerProfile
from tui.reconcile.models import Counts

SERVER_TEXT_MAX = 24  # cells of a version or a client name in the header (longer: cut, …)


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
    server: ServerProfile | None = None  # the Evolution server's profile, once known
    server_failed: bool = False  # finding it failed (the progress log says why; retried)


#: One part of a line: its forms, the fullest first ("" drops it); a form is a list of
#: (text, style) runs.
Run = tuple[str, str]
Form = list[Run]

#: The order in which line 1 gives up room: (part, form). The product name goes first,
#: then the refresh interval, the labels, the server's words, the client name, the database,
#: and the server's version, leaving its dialect; host, scope, READ-ONLY and staleness stay.
LINE1_STEPS: tuple[tuple[str, int], ...] = (
    ("app", 1), ("mode", 1), ("fresh", 1), ("scope", 1), ("server", 1), ("server", 2),
    ("server", 3), ("db", 1), ("server", 4), ("server", 5))
#: line 2: the short labels, then a zero reserved count.
LINE2_STEPS: tuple[tuple[str, int], ...] = (("counts", 1), ("reserved", 1))


def _cut(text: str) -> str:
    value = shown(text)
    return value if cell_len(value) <= SERVER_TEXT_MAX else value[:SERVER_TEXT_MAX - 1] + "…"


def server_forms(profile: ServerProfile | None, failed: bool = False) -> list[str]:
    """The server part of line 1, fullest first: `Evolution 2.3.6 (v2 · evo_a)`,
    `2.3.6 (v2 · evo_a)`, `2.3.6 v2 · evo_a`, `2.3.6 v2`, `v2`, then nothing. Before the
    profile is known `detecting…` (`Evolution ?` after a failure), dropped first."""
    if profile is None:
        first = "Evolution ?" if failed else "detecting…"
        return [first, "", "", "", "", ""]
    dialect = profile.dialect.value
    version = _cut(profile.version) if profile.version else "?"
    client = _cut(profile.client_name) if profile.client_name else ""
    inside = f"{dialect} · {client}" if client else dialect
    bare = f"{version} {dialect}"
    return [f"Evolution {version} ({inside})", f"{version} ({inside})",
            f"{bare} · {client}" if client else bare, bare, dialect, ""]


def _fit(parts: dict[str, list[Form]], steps: tuple[tuple[str, int], ...], width: int | None,
         reserve: int = 0) -> Text:
    """The parts joined by ` · `, each at the fullest form that lets the line fit `width`
    cells (`reserve` of them kept for what follows the line), shortened in `steps` order."""
    chosen = {key: 0 for key in parts}

    def build() -> Text:
        text = Text()
        for key, forms in parts.items():
            form = forms[min(chosen[key], len(forms) - 1)]
            if not form or not "".join(run for run, _style in form):
                continue
            if text:
                text.append(" · ")
            for run, style in form:
                text.append(run, style=style)
        return text

    def fits(text: Text) -> bool:
        return width is None or cell_len(text.plain) + reserve <= width

    line = build()
    taken: list[tuple[str, int]] = []  # (part, its form before the step)
    for key, form in steps:
        if fits(line):
            break
        if key in parts and form < len(parts[key]):
            taken.append((key, chosen[key]))
            chosen[key] = form
            line = build()
    # a later step may have made room for earlier ones: give them back, the most important
    # first, until one does not fit (nothing less important than what is left out returns)
    for key, before in reversed(taken[:-1]):
        shortened, chosen[key] = chosen[key], before
        candidate = build()
        if not fits(candidate):
            chosen[key] = shortened
            break
        line = candidate
    return line


def _line1(state: HeaderState, now: float, width: int | None) -> Text:
    mode: list[Form]
    if not state.auto_refresh:
        mode = [[("auto-refresh off", "")], [("auto off", "")]]
    elif state.paused:
        mode = [[("paused", "bold")]]
    else:
        mode = [[(f"every {state.refresh_s:g}s", "")], []]
    fresh: list[Form]
    stale = ""
    if state.error is not None:
        age = f" (data {fmt_age(now - state.last_good_at)} old)" if state.last_good_at else ""
        fresh = [[(f"stale{age}", "bold red")]]
        stale = f": {one_line(state.error)}"
    elif state.last_good_at is not None:
        age = fmt_age(now - state.last_good_at)
        fresh = [[(f"refreshed {age} ago", "")], [(f"{age} ago", "")]]
    else:
        fresh = [[("loading…", "")]]
    scope = shown(state.scope_label)
    parts: dict[str, list[Form]] = {
        "app": [[("evodash", "bold")], []],
        "host": [[(shown(state.evolution_host), "")]],
        "server": [[(form, "")] if form else []
                   for form in server_forms(state.server, state.server_failed)],
        "db": [[(f"db {shown(state.database)}", "")], []],
        "scope": [[("scope ", ""), (scope, "bold")], [(scope, "bold")]],
        "ro": [[("READ-ONLY", "bold reverse")]] if state.read_only else [[]],
        "mode": mode,
        "fresh": fresh,
    }
    line = _fit(parts, LINE1_STEPS, width)
    if stale:  # (the error itself may wrap: it is the news)
        line.append(stale, style="bold red")
    return line


def _line2(state: HeaderState, width: int | None) -> Text:
    text = Text()
    if state.marked:  # first: what the next delete or clear acts on
        text.append(f"{state.marked} marked", style="bold")
        text.append(" · ")
    if state.warning is not None:
        text.append(one_line(state.warning), style="bold yellow reverse")
        return text
    c = state.counts
    if c is None:
        text.append("no data yet")
        return text
    red_i = "red" if c.orphan_instances else ""
    red_r = "red" if c.orphan_records else ""
    parts: dict[str, list[Form]] = {
        "counts": [
            [(f"instances {c.instances} · records {c.records} · linked {c.linked} · ", ""),
             (f"orphan instances {c.orphan_instances}", red_i), (" · ", ""),
             (f"orphan records {c.orphan_records}", red_r)],
            [(f"inst {c.instances} · rec {c.records} · orphan ", ""),
             (f"{c.orphan_instances} inst", red_i), (", ", ""),
             (f"{c.orphan_records} rec", red_r)]],
        "reserved": [[(f"reserved {c.reserved}", "magenta" if c.reserved else "")],
                     [] if not c.reserved else [(f"reserved {c.reserved}", "magenta")]],
        "foreign": [[(f"foreign {c.foreign}", FOREIGN_STYLE)] if c.foreign else []],
        "drift": [[(f"drift {c.drifted}", "yellow")] if c.drifted else []],
    }
    text.append_text(_fit(parts, LINE2_STEPS, width, reserve=cell_len(text.plain)))
    return text


def header_text(state: HeaderState, now: float, width: int | None = None) -> Text:
    """Two lines, each fitted to `width` cells (None: as long as they come): parts are
    shortened, the least important first, never the facts that matter most (host, scope,
    READ-ONLY, a stale refresh and its error, the counts)."""
    text = _line1(state, now, width)
    text.append("\n")
    text.append_text(_line2(state, width))
    return text


class StatusHeader(Static):
    """Two lines at the top; redrawn by the screen with a fresh `HeaderState`."""

    PADDING = 2  # `#status { padding: 0 1 }`

    def show(self, state: HeaderState, now: float) -> None:
        self.state, self.now = state, now
        self.update(header_text(state, now, width=max(20, self.app.size.width - self.PADDING)))

    def on_resize(self) -> None:
        if getattr(self, "state", None) is not None:
            self.show(self.state, self.now)
