"""Typed messages of the dashboard: what workers report back to the UI.

Workers never touch widgets: they post one of these, and one handler on the dashboard screen
turns it into a redraw. Tests assert on them through `run_test(message_hook=...)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from tui.app.view import ObservationDelta
from tui.evolution.models import ServerProfile
from tui.lifecycle.events import StepEvent, Summary
from tui.lifecycle.observe import Observation


class DashboardMessage(Message, bubble=False):
    """Posted by the dashboard's workers to the dashboard screen itself (no bubbling)."""


class Refreshed(DashboardMessage, bubble=False):
    """A refresh fetched both sides; `at` is the app clock when it arrived, `fetch_s` how
    long `service.observe()` took (wall time, `time.perf_counter`)."""

    def __init__(self, observation: Observation, at: float, fetch_s: float = 0.0,
                 delta: ObservationDelta | None = None) -> None:
        super().__init__()
        self.observation = observation
        self.at = at
        self.fetch_s = fetch_s
        self.delta = delta  # what changed since the worker's previous observation


class Previewed(DashboardMessage, bubble=False):
    """The first refresh's rows, before the orphan records' names are probed: drawn at once
    (every row, probe column `probing…`); the `Refreshed` with the probes follows."""

    def __init__(self, observation: Observation, at: float, fetch_s: float = 0.0) -> None:
        super().__init__()
        self.observation = observation
        self.at = at
        self.fetch_s = fetch_s


class RefreshFailed(DashboardMessage, bubble=False):
    """A refresh failed: the last good data stays on screen, marked stale."""

    def __init__(self, error: str, at: float) -> None:
        super().__init__()
        self.error = error
        self.at = at


class ServerProfiled(DashboardMessage, bubble=False):
    """The Evolution server's profile is known (dialect, version, client name)."""

    def __init__(self, profile: ServerProfile) -> None:
        super().__init__()
        self.profile = profile


class ServerProfileFailed(DashboardMessage, bubble=False):
    """Finding the server's profile failed (one line); asked again at the next refresh."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class RecordsChanged(DashboardMessage, bubble=False):
    """The record watcher saw the connections collection change."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source


class WatcherStopped(DashboardMessage, bubble=False):
    """The record watcher ended (broken stream, server gone); timers keep refreshing."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


@dataclass
class OperationInfo:
    """One lifecycle operation started from the dashboard."""

    op_id: int
    operation: str  # delete / clear-all / forget / adopt / reprovision / create / pair
    names: tuple[str, ...]
    total: int
    bulk: bool
    scope: str = ""  # the plan's scope, as its modal said it (`all resellers`, …)


class OperationStarted(DashboardMessage, bubble=False):
    def __init__(self, info: OperationInfo) -> None:
        super().__init__()
        self.info = info


class StepReported(DashboardMessage, bubble=False):
    """One `StepEvent` of a running operation (posted by its sink, on the app loop)."""

    def __init__(self, op_id: int, event: StepEvent) -> None:
        super().__init__()
        self.op_id = op_id
        self.event = event


class OperationFinished(DashboardMessage, bubble=False):
    """An operation ended with its `Summary` (also when it was cancelled by the user)."""

    def __init__(self, info: OperationInfo, summary: Summary) -> None:
        super().__init__()
        self.info = info
        self.summary = summary


class OperationFailed(DashboardMessage, bubble=False):
    """An operation was refused or failed before it produced a summary (one line)."""

    def __init__(self, info: OperationInfo, error: str) -> None:
        super().__init__()
        self.info = info
        self.error = error


