"""`RefreshLoop`: how the dashboard's data stays fresh.

Owns the refresh cycle: one worker (group `refresh`) calls `service.observe()` and posts one
message (`Refreshed`, or `RefreshFailed`: the last good data stays, marked stale), then a
`set_timer` is re-armed; a refresh asked for while one runs follows right after it. The very
first refresh posts its rows (`Previewed`) before the orphan records' names are probed, so
the tables fill while the probes run. Until the server's profile (version, dialect, client
name) is known, a refresh also starts a worker (group `profile`) that asks for it and posts
`ServerProfiled` (the header names the server) or `ServerProfileFailed` (one progress line,
asked again at the next refresh); the refresh itself never waits for it. A profile found
again later (a server upgraded in place) reaches the header with the next `Refreshed`. Also
owns pause / resume, the record watcher worker (group `watch`: a change refreshes at once)
and the timings kept for benchmarks.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from textual import work
from textual.timer import Timer

from tui.app.messages import (
    Previewed,
    RecordsChanged,
    Refreshed,
    RefreshFailed,
    ServerProfiled,
    ServerProfileFailed,
    WatcherStopped,
)
from tui.app.screens.dashboard.base import one_line
from tui.app.screens.dashboard.panes import PaneView
from tui.app.view import observation_delta
from tui.evolution.models import ServerProfile
from tui.lifecycle.observe import Observation
from tui.lifecycle.words import contradiction_text, detected_text


@dataclass
class RefreshTiming:
    """Where the time of one refresh went (`time.perf_counter` stamps), for benchmarks:
    `fetch_s` in the worker (`service.observe()`), `ui_s` from the `Refreshed` message being
    handled to both tables updated, `paint_s` until the screen refresh after that."""

    seq: int
    fetch_s: float
    received: float
    updated: float = 0.0
    painted: float = 0.0
    rows: int = 0

    @property
    def ui_s(self) -> float:
        return self.updated - self.received

    @property
    def paint_s(self) -> float:
        return (self.painted or self.updated) - self.received


class RefreshLoop(PaneView):
    """The refresh cycle and the record watcher of `DashboardScreen` (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: Timer | None = None
        self._refreshing = False
        self._refresh_again = False
        self.refresh_timings: deque[RefreshTiming] = deque(maxlen=64)
        self.preview_timing: RefreshTiming | None = None  # the first refresh's unprobed rows
        self._refresh_seq = 0
        self._worker_obs: Observation | None = None  # the last one the refresh worker posted
        self._profiling = False  # the profile worker runs
        self._profile_error: str | None = None  # the last failure said in the progress log

    # ------------------------------------------------------------------ the cycle
    def request_refresh(self) -> None:
        """Refresh now (or right after the one in flight)."""
        if self._refreshing:
            self._refresh_again = True
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._refreshing = True
        self.header_state.refreshing = True
        if self.header_state.server is None and not self._profiling:
            self._profiling = True
            self.profile_worker()
        self.refresh_worker()

    @work(group="profile", exit_on_error=False)
    async def profile_worker(self) -> None:
        """Which server this is (detected at its first need, then kept by the client)."""
        try:
            profile = await self.service.server_profile()
        except Exception as exc:  # noqa: BLE001 - said once; the refresh says its own
            self.post_message(ServerProfileFailed(one_line(exc)))
            return
        self.post_message(ServerProfiled(profile))

    def on_server_profiled(self, message: ServerProfiled) -> None:
        self._profiling = False
        self._show_profile(message.profile)

    def on_server_profile_failed(self, message: ServerProfileFailed) -> None:
        self._profiling = False
        self.header_state.server_failed = True
        if message.error != self._profile_error:
            self._profile_error = message.error
            self.progress.error(f"server detection failed: {message.error} "
                                "(asked again at the next refresh)")
        self.draw_header()

    def _show_profile(self, profile: ServerProfile) -> None:
        """The header names the server; the progress log says how it was found (again
        when it changes: a server upgraded in place)."""
        state = self.header_state
        if profile == state.server:
            return
        state.server, state.server_failed, self._profile_error = profile, False, None
        self.progress.write(f"server: {profile.label} · {detected_text(profile.detected_by)}")
        if profile.contradicted:
            self.progress.error(contradiction_text(profile))
        self.draw_header()

    @work(group="refresh", exit_on_error=False)
    async def refresh_worker(self) -> None:
        service = self.service
        started = time.perf_counter()
        try:
            if self.obs is None and self._worker_obs is None:
                # nothing on screen yet: show every row now, probe the orphan names meanwhile
                observation = await service.observe_unprobed()
                if observation.probes_pending:
                    self.post_message(Previewed(observation, self.clock(),
                                                time.perf_counter() - started))
                    self._worker_obs = observation
                    observation = await service.complete_probes(observation)
            else:
                observation = await service.observe()
            # what changed since the last observation, by name: in a thread, off the UI loop
            delta = await asyncio.to_thread(observation_delta, self._worker_obs, observation)
        except Exception as exc:  # noqa: BLE001 - every failure is shown as `stale`
            self.post_message(RefreshFailed(one_line(exc), self.clock()))
            return
        self._worker_obs = observation
        self.post_message(Refreshed(observation, self.clock(), time.perf_counter() - started,
                                    delta))

    def on_previewed(self, message: Previewed) -> None:
        if self.obs is not None:
            return  # a full refresh is already on screen
        timing = RefreshTiming(0, message.fetch_s, time.perf_counter())
        self.obs = message.observation
        self.header_state.last_good_at = message.at
        self._check_scope()
        self.redraw()
        timing.updated = time.perf_counter()
        timing.rows = sum(t.row_count for t in self.tables())
        self.preview_timing = timing
        self.call_after_refresh(self._painted, timing)

    def on_refreshed(self, message: Refreshed) -> None:
        self._refresh_seq += 1
        timing = RefreshTiming(self._refresh_seq, message.fetch_s,
                               time.perf_counter())
        delta = message.delta
        self._delta = delta if delta is not None and self.obs is not None \
            and delta.base_view is self.obs.view else None
        self.obs = message.observation
        state = self.header_state
        if state.error is not None:
            self.progress.write(f"refresh ok again (was stale: {state.error})")
        state.last_good_at, state.error = message.at, None
        known = self.service.known_profile
        if known is not None and known != state.server:
            self._show_profile(known)
        self._check_scope()
        self.redraw()
        timing.updated = time.perf_counter()
        timing.rows = sum(t.row_count for t in self.tables())
        self.refresh_timings.append(timing)
        self.call_after_refresh(self._painted, timing)
        self._refresh_done()

    def _check_scope(self) -> None:
        """An unknown reseller id is one clear line in the header, and no mutation key."""
        was = self.header_state.warning
        rid = self.service.scope.reseller_id
        self.header_state.warning = (
            f"unknown reseller {rid!r}: no reseller has that id · nothing to show, "
            "mutations disabled" if self.scope_unknown else None)
        if self.header_state.warning != was:
            if self.header_state.warning:
                self.progress.error(self.header_state.warning)
            self.refresh_bindings()

    @staticmethod
    def _painted(timing: RefreshTiming) -> None:
        timing.painted = time.perf_counter()

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        state = self.header_state
        if state.error != message.error:
            self.progress.error(f"refresh failed: {message.error}")
        state.error = message.error
        self.draw_header()
        self._refresh_done()

    def _refresh_done(self) -> None:
        self._refreshing = False
        self.header_state.refreshing = False
        if self._refresh_again:
            self._refresh_again = False
            self.request_refresh()
            return
        if self.timers_on and not self.header_state.paused:
            self._timer = self.set_timer(self.info.refresh_s, self.request_refresh)

    # ------------------------------------------------------------------ keys
    def action_refresh(self) -> None:
        self.request_refresh()

    def action_toggle_pause(self) -> None:
        state = self.header_state
        state.paused = not state.paused
        if state.paused and self._timer is not None:
            self._timer.stop()
            self._timer = None
        elif not state.paused and not self._refreshing and self.timers_on:
            self.request_refresh()
        self.notify("auto-refresh paused" if state.paused else "auto-refresh resumed")
        self.draw_header()

    # ------------------------------------------------------------------ record watcher
    @work(group="watch", exit_on_error=False)
    async def watch_records(self) -> None:
        factory = self.watcher_factory
        if factory is None:
            return  # (started only when there is a factory)
        try:
            async with factory() as watcher:
                async for change in watcher:
                    self.post_message(RecordsChanged(change.source))
        except Exception as exc:  # noqa: BLE001 - the timers keep refreshing
            self.post_message(WatcherStopped(one_line(exc)))

    def on_records_changed(self, message: RecordsChanged) -> None:
        if not self.header_state.paused:
            self.request_refresh()

    def on_watcher_stopped(self, message: WatcherStopped) -> None:
        self.progress.error(f"record watcher stopped: {message.error}")
