"""`DashboardScreen`: the header, the two panes, the filter, the progress pane and every key.

It owns the refresh cycle (one worker calls `service.observe()`, posts one message, then a
`set_timer` is re-armed; the very first refresh also posts its rows before the orphan
records' names are probed, so the tables fill while the probes run), the record watcher worker, the lifecycle operations (workers in
group `mutations`, never exclusive, events streamed through a sink that posts messages) and
the single `check_action` gate that hides and blocks mutations in read-only mode.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from contextlib import contextmanager
from dataclasses import dataclass, field

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input
from textual.worker import Worker, WorkerState

from tui.app.bindings import ADMIN_ACTIONS, DASHBOARD_BINDINGS, MUTATING_ACTIONS
from tui.app.messages import (
    OperationFailed,
    OperationFinished,
    OperationInfo,
    OperationStarted,
    Previewed,
    RecordsChanged,
    Refreshed,
    RefreshFailed,
    StepReported,
    WatcherStopped,
)
from tui.app.screens.confirm import ClearAllScreen, ConfirmScreen, PlanConfirmScreen
from tui.app.screens.detail import DetailScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.pickers import ALL, CreateScreen, ResellerPicker
from tui.app.screens.qr import QrScreen
from tui.app.view import (
    INSTANCE_COLUMNS,
    RECORD_COLUMNS,
    ObservationDelta,
    PaneModel,
    observation_delta,
    reseller_label,
    visible,
)
from tui.app.widgets.header import HeaderState, StatusHeader
from tui.app.widgets.panes import KeyedTable
from tui.app.widgets.progress import ProgressPane
from tui.evolution.errors import EvolutionError
from tui.app.info import DashboardInfo
from tui.lifecycle.events import Step, StepEvent, Summary
from tui.lifecycle.observe import Observation
from tui.lifecycle.service import LifecycleService
from tui.lifecycle.plans import (
    AdoptRequest,
    ClearAllRequest,
    CreateRequest,
    DeleteRequest,
    ForgetRequest,
    Plan,
    ReprovisionRequest,
    Request,
)
from tui.lifecycle.scope import LifecycleError, Scope
from tui.reconcile.classify import scope as scope_reconciliation
from tui.reconcile.models import OrphanInstanceRow, OrphanProbe, OrphanRecordRow, Reconciliation
from tui.store.errors import StoreError

EXPECTED_ERRORS = (LifecycleError, EvolutionError, StoreError)
Runner = Callable[[Callable[[StepEvent], None], asyncio.Event], Awaitable[Summary]]


@contextmanager
def gc_paused():
    """No cyclic GC while a redraw builds thousands of short-lived objects: at 10,000 rows a
    side each collection walks the whole heap (every instance and record of the
    observation), several times per full rebuild. Garbage is collected once, afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


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


@dataclass
class RunningOperation:
    info: OperationInfo
    cancel: asyncio.Event
    records_by_name: dict[str, int]
    qr: bool = False
    done: set[str] = field(default_factory=set)
    worker: Worker | None = None

    def advance(self, event: StepEvent) -> None:
        """A target is done when the service says so (its `done` event)."""
        if event.instance and event.step is Step.DONE:
            self.done.add(event.instance)


class DashboardScreen(Screen):
    BINDINGS = DASHBOARD_BINDINGS
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    AUTO_FOCUS = "#instances"

    def __init__(self, service: LifecycleService, info: DashboardInfo, *,
                 clock: Callable[[], float] = time.time, auto_refresh: bool = True,
                 watcher_factory: Callable[[], Any] | None = None) -> None:
        super().__init__(id="dashboard")
        self.service = service
        self.info = info
        self.clock = clock
        self.timers_on = auto_refresh
        self.watcher_factory = watcher_factory
        self.obs: Observation | None = None
        self.view_scope: str | None = None
        self.filter_text = ""
        self.orphans_only = False
        self.inflight: dict[str, str] = {}
        self.ops: dict[int, RunningOperation] = {}
        self._op_seq = 0
        self._timer: Timer | None = None
        self._refreshing = False
        self._refresh_again = False
        self._redraw_pending = False
        self.header_state: HeaderState | None = None
        self.refresh_timings: deque[RefreshTiming] = deque(maxlen=64)
        self.preview_timing: RefreshTiming | None = None  # the first refresh's unprobed rows
        self._refresh_seq = 0
        self.instance_model = PaneModel()
        self.record_model = PaneModel()
        self._worker_obs = None  # the last observation the refresh worker posted
        self._delta: ObservationDelta | None = None  # against the observation on screen
        self._synced_view: tuple = ()  # (filter, orphans only) of the last full table sync

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        yield StatusHeader(id="status")
        with Container(id="panes"):
            yield KeyedTable(INSTANCE_COLUMNS, "Evolution instances", id="instances")
            yield KeyedTable(RECORD_COLUMNS, "Database records", id="records")
        yield Input(id="filter", placeholder="filter: substring · enter keep · esc clear")
        yield ProgressPane(self.clock, id="progress")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        info = self.info
        self.view_scope = self.service.scope.reseller_id
        self.header_state = HeaderState(
            evolution_host=info.evolution_host, database=info.database,
            scope_label=info.scope_label, read_only=self.read_only,
            refresh_s=info.refresh_s, auto_refresh=self.timers_on)
        self.query_one("#filter", Input).cursor_blink = self.timers_on
        self.draw_header()
        if self.timers_on:
            self.set_interval(1.0, self.draw_header)  # the age of the last refresh
        if self.watcher_factory is not None:
            self.watch_records()
        self.request_refresh()

    @property
    def read_only(self) -> bool:
        return bool(self.service.read_only or self.info.read_only)

    @property
    def admin(self) -> bool:
        return self.service.scope.is_all

    def tables(self) -> tuple[KeyedTable, KeyedTable]:
        return self.query_one("#instances", KeyedTable), self.query_one("#records", KeyedTable)

    _last_pane = "instances"  # the pane that had the focus last

    def active_table(self) -> KeyedTable:
        instances, records = self.tables()
        return records if self._last_pane == "records" else instances

    def on_descendant_focus(self, event) -> None:
        if isinstance(event.widget, KeyedTable):
            self._last_pane = event.widget.id or "instances"
        self.refresh_bindings()

    @on(DataTable.RowHighlighted)
    def _cursor_moved(self) -> None:
        self.refresh_bindings()

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_detail()

    # ------------------------------------------------------------------ the gate
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The one gate: read-only hides and blocks every mutation; context hides the rest."""
        if action in MUTATING_ACTIONS and self.read_only:
            return False
        if action in ADMIN_ACTIONS and not self.admin:
            return False
        if action == "forget":
            rows = self.active_table().selection() if self.is_mounted else []
            return bool(rows) and all(r.kind == "orphan_record" for r in rows)
        if action == "adopt":
            row = self.active_table().cursor_pane_row() if self.is_mounted else None
            return row is not None and row.kind == "orphan_instance"
        if action == "reprovision":
            rows = self.active_table().selection() if self.is_mounted else []
            return bool(rows) and all(self._absent_orphan_record(r) for r in rows)
        if action == "escape":
            return bool(self.bulk_ops() or self.filter_text or (
                self.is_mounted and self.query_one("#filter", Input).has_focus))
        return True

    # ------------------------------------------------------------------ refresh cycle
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
        self.refresh_worker()

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
        self.redraw()
        timing.updated = time.perf_counter()
        timing.rows = sum(t.row_count for t in self.tables())
        self.refresh_timings.append(timing)
        self.call_after_refresh(self._painted, timing)
        self._refresh_done()

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

    @work(group="watch", exit_on_error=False)
    async def watch_records(self) -> None:
        try:
            async with self.watcher_factory() as watcher:
                async for change in watcher:
                    self.post_message(RecordsChanged(change.source))
        except Exception as exc:  # noqa: BLE001 - the timers keep refreshing
            self.post_message(WatcherStopped(one_line(exc)))

    def on_records_changed(self, message: RecordsChanged) -> None:
        if not self.header_state.paused:
            self.request_refresh()

    def on_watcher_stopped(self, message: WatcherStopped) -> None:
        self.progress.error(f"record watcher stopped: {message.error}")

    # ------------------------------------------------------------------ drawing
    @property
    def progress(self) -> ProgressPane:
        return self.query_one(ProgressPane)

    def current_view(self) -> Reconciliation | None:
        if self.obs is None:
            return None
        if self.view_scope == self.service.scope.reseller_id:
            return self.obs.view
        return scope_reconciliation(self.obs.full, self.view_scope)

    def scope_label(self) -> str:
        if self.view_scope is None:
            return "all resellers"
        reseller = self.obs.reseller(self.view_scope) if self.obs else None
        if reseller is None and self.view_scope == self.service.scope.reseller_id:
            return self.info.scope_label
        return reseller_label(reseller, self.view_scope)

    def draw_header(self) -> None:
        state = self.header_state
        view = self.current_view()
        state.counts = view.counts if view is not None else None
        state.scope_label = self.scope_label()
        self.query_one(StatusHeader).show(state, self.clock())

    def schedule_redraw(self) -> None:
        if not self._redraw_pending:
            self._redraw_pending = True
            self.call_after_refresh(self.redraw)

    def redraw(self) -> None:
        with gc_paused():
            self._redraw()

    def _redraw(self) -> None:
        self._redraw_pending = False
        self.draw_header()
        view = self.current_view()
        if view is None:
            return
        now = self.clock()
        delta, self._delta = self._delta, None
        if view is not (self.obs.view if self.obs else None):
            delta = None  # another scope than the session's: no delta for it
        instances, records = self.tables()
        self.record_model.probing = bool(self.obs and self.obs.probes_pending)
        filters = (self.filter_text.strip(), self.orphans_only)
        for table, (rows, changed) in (
                (instances, self.instance_model.update_instances(view, self.inflight, delta)),
                (records, self.record_model.update_records(view, self.inflight, now, delta))):
            if changed is not None and not any(filters) and table.synced_rows is rows \
                    and self._synced_view == filters:
                table.sync_changed(changed)  # in place: only the changed rows are touched
            else:
                shown = visible(rows, self.filter_text, self.orphans_only)
                table.sync(shown, {r.key for r in rows} if table.marks else None)
                table.synced_rows = rows if shown is rows else None
            shown_count = len(table.values)
            title = f"{table.pane_title} ({shown_count}"
            title += f"/{len(rows)})" if shown_count != len(rows) else ")"
            if self.filter_text:
                title += f" · filter: {self.filter_text}"
            if self.orphans_only:
                title += " · orphans only"
            marks = len(table.marks)
            table.border_title = title
            table.border_subtitle = f"{marks} marked" if marks else ""
        self._synced_view = filters
        self.refresh_bindings()

    # ------------------------------------------------------------------ simple actions
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

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-visible")
        box.value = self.filter_text
        box.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self.redraw()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#filter", Input).remove_class("-visible")
        self.query_one(f"#{self._last_pane}", KeyedTable).focus()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        box = self.query_one("#filter", Input)
        with box.prevent(Input.Changed):
            box.value = text
        self.redraw()

    def clear_filter(self) -> None:
        self.query_one("#filter", Input).remove_class("-visible")
        self.set_filter("")
        self.query_one(f"#{self._last_pane}", KeyedTable).focus()

    def action_escape(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus or (self.filter_text and not self.bulk_ops()):
            self.clear_filter()
            return
        running = self.bulk_ops()
        if not running:
            return
        names = ", ".join(op.info.operation for op in running)

        def answer(yes: bool | None) -> None:
            if yes:
                for op in running:
                    op.cancel.set()
                self.progress.write(f"cancelling {names}: running steps finish, the rest is "
                                    "skipped")

        self.app.push_screen(ConfirmScreen(
            f"Cancel the running {names}?",
            ["Targets already started finish their current step (and are reported);",
             "targets not started yet are skipped."], yes_label="Cancel it (y)"), answer)

    def action_switch_pane(self) -> None:
        instances, records = self.tables()
        (instances if records.has_focus else records).focus()

    def action_mark(self) -> None:
        table = self.active_table()
        key = table.cursor_key()
        if key is not None:
            table.toggle_mark(key)
            if table.cursor_row < table.row_count - 1:
                table.move_cursor(row=table.cursor_row + 1)
            self.redraw()

    def action_mark_all(self) -> None:
        table = self.active_table()
        table.mark_keys(list(table.values))
        self.redraw()

    def action_detail(self) -> None:
        row = self.active_table().cursor_pane_row()
        if row is None:
            return
        probe = self.obs.probes.get(row.name) if self.obs else None
        self.app.push_screen(DetailScreen(row.row, probe))

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(dict(self.app._keymap), self.read_only))

    def action_command_palette(self) -> None:
        self.app.action_command_palette()

    def action_toggle_orphans_only(self) -> None:
        self.orphans_only = not self.orphans_only
        self.redraw()

    async def action_quit(self) -> None:
        if not self.ops:
            await self.app.quit_cleanly()
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.app.call_later(self.app.quit_cleanly)

        running = ", ".join(op.info.operation for op in self.ops.values())
        self.app.push_screen(ConfirmScreen(
            f"Quit while {running} runs?",
            ["Running operations are cancelled; their steps so far are reported",
             "and written to the audit log."], yes_label="Quit (y)"), answer)

    # ------------------------------------------------------------------ scope
    def action_choose_scope(self) -> None:
        if self.obs is None:
            self.notify("no data yet: wait for the first refresh", severity="warning")
            return

        def chosen(value: str | None) -> None:
            if value is None:
                return
            self.view_scope = None if value == ALL else value
            for table in self.tables():
                table.marks.clear()
            self.redraw()
            self.progress.write(f"scope: {self.scope_label()}")

        self.app.push_screen(ResellerPicker("Show which scope?", self.obs.resellers,
                                            with_all=True, suggested=self.view_scope or ALL),
                             chosen)

    # ------------------------------------------------------------------ operations
    def bulk_ops(self) -> list[RunningOperation]:
        return [op for op in self.ops.values() if op.info.bulk]

    def start_operation(self, operation: str, names: list[str], run: Runner, *,
                        bulk: bool, total: int | None = None,
                        records_by_name: dict[str, int] | None = None,
                        qr: bool = False) -> RunningOperation:
        self._op_seq += 1
        info = OperationInfo(self._op_seq, operation, tuple(names),
                             total if total is not None else len(names), bulk)
        if records_by_name is None:
            records_by_name = {n: len(self.obs.records_named(n)) if self.obs else 0
                               for n in names}
        op = RunningOperation(info, asyncio.Event(), records_by_name, qr=qr)
        self.ops[info.op_id] = op
        for name in names:
            self.inflight[name] = operation
        self.post_message(OperationStarted(info))
        op.worker = self.operation_worker(op, run)
        self.schedule_redraw()
        return op

    @work(group="mutations", exit_on_error=False)
    async def operation_worker(self, op: RunningOperation, run: Runner) -> None:
        """Runs one lifecycle call; its sink posts a message per event (on the app loop).
        Cancellation propagates (the service audits in `finally`)."""
        op_id = op.info.op_id

        def sink(event: StepEvent) -> None:
            self.post_message(StepReported(op_id, event))

        try:
            summary = await run(sink, op.cancel)
        except EXPECTED_ERRORS as exc:
            self.post_message(OperationFailed(op.info, one_line(exc)))
            return
        self.post_message(OperationFinished(op.info, summary))

    def on_operation_started(self, message: OperationStarted) -> None:
        info = message.info
        what = f"{len(info.names)} name(s)" if info.names else ""
        self.progress.write(f"{info.operation} started {what}".rstrip())
        self._draw_bar()

    def on_step_reported(self, message: StepReported) -> None:
        event = message.event
        self.progress.step(event)
        op = self.ops.get(message.op_id)
        if op is not None and event.instance:
            op.advance(event)
            if event.instance in op.done:
                self.inflight.pop(event.instance, None)
            else:
                self.inflight[event.instance] = f"{event.step.value}"
        self._draw_bar()
        self.schedule_redraw()

    def _draw_bar(self) -> None:
        bulk = self.bulk_ops()
        if not bulk:
            self.progress.hide_bar()
            return
        total = sum(op.info.total for op in bulk)
        done = sum(len(op.done) for op in bulk)
        label = " + ".join(op.info.operation for op in bulk)
        self.progress.show_bar(f"{label} {done}/{total}", total, done)

    def _end_operation(self, info: OperationInfo) -> RunningOperation | None:
        op = self.ops.pop(info.op_id, None)
        busy = {n for other in self.ops.values() for n in other.info.names}
        for name in info.names:
            if name not in busy:
                self.inflight.pop(name, None)
        self._draw_bar()
        self.request_refresh()
        return op

    def on_operation_finished(self, message: OperationFinished) -> None:
        op = self._end_operation(message.info)
        summary = message.summary
        self.progress.summary(summary)
        self.notify(summary.line(), title=summary.operation,
                    severity="information" if summary.ok else "error",
                    timeout=6 if summary.ok else 12)
        if op is not None and op.qr:
            for target in summary.targets:
                code = (target.extra.get("qrcode") or {}).get("code")
                if code:
                    self.app.push_screen(QrScreen(target.name, code,
                                                  target.extra["qrcode"].get("pairing_code")))

    def on_operation_failed(self, message: OperationFailed) -> None:
        self._end_operation(message.info)
        self.progress.error(f"{message.info.operation} failed: {message.error}")
        self.notify(message.error, title=f"{message.info.operation} failed", severity="error")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Unexpected worker errors become a notification and one progress line."""
        worker = event.worker
        if event.state is not WorkerState.ERROR:
            return
        error = one_line(worker.error) if worker.error else "unknown error"
        self.progress.error(f"{worker.group or worker.name} error: {error}")
        self.notify(error, title="error", severity="error")
        for op in list(self.ops.values()):
            if op.worker is worker:
                self._end_operation(op.info)
        if worker.group == "refresh":
            self.on_refresh_failed(RefreshFailed(error, self.clock()))

    # ------------------------------------------------------------------ mutating actions
    # Every mutation: build the request, let the service plan it, show the plan and its
    # confirmation, run the confirmed plan. What an operation does is the service's alone.
    def propose(self, request: Request, *, on_confirmed: Callable[[], None] | None = None,
                qr: bool = False, title: str = "") -> None:
        """Open the confirmation at once; the service plans inside it; run what is confirmed."""
        service = self.service

        def answer(plan: Plan | None) -> None:
            if plan is None:
                self.progress.write(f"{request.operation}: not confirmed, nothing changed")
                return
            if on_confirmed is not None:
                on_confirmed()
            self.run_plan(plan, qr=qr)

        if isinstance(request, ClearAllRequest):
            async def replan(include: bool) -> Plan:
                return await service.plan(ClearAllRequest(request.scope, request.orphans_only,
                                                          include))

            label = self.scope_label() + (" · orphans only" if request.orphans_only else "")
            self.app.push_screen(ClearAllScreen(
                lambda: service.plan(request), label=label,
                replan=None if request.scope.is_all else replan), answer)
            return
        yes = {"delete": "Delete (y)", "forget": "Forget (y)", "reprovision": "Re-provision (y)",
               "adopt": "Adopt (y)", "create": "Create (y)"}.get(request.operation, "Yes (y)")
        self.app.push_screen(PlanConfirmScreen(
            title or f"{request.operation}…", lambda: service.plan(request),
            context=[f"scope: {self.scope_label()}", ""], yes_label=yes,
            danger=request.operation in ("delete", "forget")), answer)

    def run_plan(self, plan: Plan, *, qr: bool = False) -> None:
        names = [t.name for t in plan.targets]
        service = self.service
        self.start_operation(
            plan.operation, names,
            lambda sink, cancel: service.run(plan, sink=sink, cancel=cancel),
            bulk=len(names) > 1 or plan.operation == "clear-all",
            total=max(1, len(names)),
            records_by_name={t.name: len(t.records) for t in plan.targets}, qr=qr)

    def _selected_or_warn(self):
        rows = self.active_table().selection()
        if not rows:
            self.notify("nothing selected", severity="warning")
        return rows

    def _unmark(self, rows) -> Callable[[], None]:
        table = self.active_table()
        return lambda: table.marks.difference_update(r.key for r in rows)

    def action_delete(self) -> None:
        rows = self._selected_or_warn()
        if rows:
            names = tuple(dict.fromkeys(r.name for r in rows))
            self.propose(DeleteRequest(names), on_confirmed=self._unmark(rows))

    def action_forget(self) -> None:
        rows = [r for r in self._selected_or_warn() if r.kind == "orphan_record"]
        if not rows:
            return
        absent = [r for r in rows if isinstance(r.row, OrphanRecordRow)
                  and r.row.probe is OrphanProbe.ABSENT]
        if len(absent) != len(rows):
            self.notify("forget only removes orphan records whose name is absent on "
                        "Evolution; use delete for the others", severity="warning")
            if not absent:
                return
        names = tuple(dict.fromkeys(r.name for r in absent))
        self.propose(ForgetRequest(names), on_confirmed=self._unmark(absent))

    @staticmethod
    def _absent_orphan_record(row) -> bool:
        return row.kind == "orphan_record" and row.probe == OrphanProbe.ABSENT.value

    def action_reprovision(self) -> None:
        """Re-create the Evolution instance of orphan records whose name is absent."""
        rows = [r for r in self._selected_or_warn() if self._absent_orphan_record(r)]
        if not rows:
            self.notify("re-provision works on an orphan record whose name is absent on "
                        "Evolution", severity="warning")
            return
        names = tuple(dict.fromkeys(r.name for r in rows))
        self.propose(ReprovisionRequest(names), on_confirmed=self._unmark(rows), qr=True)

    def action_adopt(self) -> None:
        row = self.active_table().cursor_pane_row()
        if row is None or not isinstance(row.row, OrphanInstanceRow):
            self.notify("adopt works on an orphan instance", severity="warning")
            return
        name = row.name
        attributed = row.row.attributed_reseller
        resellers = self.obs.resellers if self.obs else []
        if self.view_scope is not None:
            resellers = [r for r in resellers if r.id == self.view_scope]

        def chosen(value: str | None) -> None:
            if value is not None and value != ALL:
                self.propose(AdoptRequest(name, value))

        self.app.push_screen(ResellerPicker(
            f"Adopt {name} for which reseller?", resellers,
            suggested=attributed.id if attributed else None), chosen)

    def action_create(self) -> None:
        resellers = self.obs.resellers if self.obs else []
        fixed = None
        if self.view_scope is not None:
            fixed = (self.obs.reseller(self.view_scope) if self.obs else None)
            if fixed is None:
                self.notify(f"unknown reseller {self.view_scope}", severity="error")
                return
        elif not resellers:
            self.notify("no reseller to create a connection for", severity="warning")
            return

        def chosen(value: tuple[str, bool] | None) -> None:
            if value is not None:
                reseller_id, qr = value
                self.propose(CreateRequest(reseller_id, qr), qr=qr)

        self.app.push_screen(CreateScreen(resellers, fixed), chosen)

    def action_clear_all(self, orphans_only: bool | None = None) -> None:
        only = self.orphans_only if orphans_only is None else orphans_only
        self.propose(ClearAllRequest(Scope(self.view_scope), only))
