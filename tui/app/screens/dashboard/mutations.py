"""`MutatingActions`: the keys that change Evolution or the database.

Every mutation goes the same way: its action builds a `Request` (`tui.lifecycle.plans`) from
the selection, `propose` opens the confirmation at once (`PlanConfirmScreen`, or
`ClearAllScreen` for a clear-all; both ask `service.plan` inside), and `run_plan` starts the
confirmed plan as a running operation (`service.run(plan, sink=..., cancel=...)`). What an
operation does is the service's alone; the `check_action` gate of `DashboardScreen` hides
and blocks these actions in read-only mode.
"""

from __future__ import annotations

from collections.abc import Callable

from tui.app.literal import shown
from tui.app.screens.confirm import ClearAllScreen, PlanConfirmScreen
from tui.app.screens.dashboard.operations import RunningOperations
from tui.app.screens.pickers import ALL, CreateScreen, ResellerPicker
from tui.app.screens.qr import PairingScreen
from tui.app.view import PaneRow, pane_target
from tui.lifecycle.domain import OperationKind, TargetKind
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
from tui.lifecycle.scope import Scope
from tui.evolution.models import InstanceState
from tui.reconcile.models import OrphanInstanceRow, OrphanProbe, OrphanRecordRow

YES_LABELS = {"delete": "Delete (y)", "forget": "Forget (y)", "reprovision": "Re-provision (y)",
              "adopt": "Adopt (y)", "create": "Create (y)"}


def acts_on(service: LifecycleService, kind: OperationKind, row: PaneRow) -> bool:
    """Whether operation `kind` would act on `row` (the service's rule, not a copy of it)."""
    return service.refusal(kind, pane_target(row)) is None


class MutatingActions(RunningOperations):
    """The mutating actions of `DashboardScreen` (see the module)."""

    # ------------------------------------------------------------------ plan, confirm, run
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
            clear_all = request

            async def replan(include: bool) -> Plan:
                return await service.plan(ClearAllRequest(clear_all.scope, clear_all.orphans_only,
                                                          include))

            label = self.scope_label() + (" · orphans only" if request.orphans_only else "")
            self.app.push_screen(ClearAllScreen(
                lambda: service.plan(request), label=label,
                replan=None if request.scope.is_all else replan), answer)
            return
        yes = YES_LABELS.get(request.operation, "Yes (y)")
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
            records_by_name={t.name: len(t.records) for t in plan.targets},
            steps_by_name={t.name: frozenset(t.steps) for t in plan.actionable}, qr=qr)

    # ------------------------------------------------------------------ the selection
    def _selected_or_warn(self) -> list[PaneRow]:
        rows = self.active_table().selection()
        if not rows:
            self.notify("nothing selected", severity="warning")
        return rows

    def _unmark(self, rows: list[PaneRow]) -> Callable[[], None]:
        table = self.active_table()
        return lambda: table.marks.difference_update(r.key for r in rows)

    # ------------------------------------------------------------------ the actions
    def action_delete(self) -> None:
        rows = self._selected_or_warn()
        if rows:
            names = tuple(dict.fromkeys(r.name for r in rows))
            self.propose(DeleteRequest(names), on_confirmed=self._unmark(rows))

    def action_forget(self) -> None:
        rows = [r for r in self._selected_or_warn() if r.kind is TargetKind.ORPHAN_RECORD]
        if not rows:
            return
        absent = [r for r in rows if acts_on(self.service, OperationKind.FORGET, r)]
        if len(absent) != len(rows):
            self.notify("forget only removes orphan records whose name is absent on "
                        "Evolution; use delete for the others", severity="warning")
            if not absent:
                return
        names = tuple(dict.fromkeys(r.name for r in absent))
        self.propose(ForgetRequest(names), on_confirmed=self._unmark(absent))

    def action_reprovision(self) -> None:
        """Re-create the Evolution instance of orphan records whose name is absent."""
        rows = [r for r in self._selected_or_warn()
                if acts_on(self.service, OperationKind.REPROVISION, r)]
        if not rows:
            self.notify("re-provision works on an orphan record whose name is absent on "
                        "Evolution", severity="warning")
            return
        names = tuple(dict.fromkeys(r.name for r in rows))
        self.propose(ReprovisionRequest(names), on_confirmed=self._unmark(rows), qr=True)

    def action_adopt(self) -> None:
        row = self.active_table().cursor_pane_row()
        orphan = row.row if row is not None else None
        if row is None or not isinstance(orphan, OrphanInstanceRow):
            self.notify("adopt works on an orphan instance", severity="warning")
            return
        name = row.name
        attributed = orphan.attributed_reseller
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

    def action_pair(self) -> None:
        """The pairing modal (a fresh QR code) of the cursor row's instance, if not `open`."""
        row = self.active_table().cursor_pane_row()
        if row is None:
            self.notify("no row: nothing to pair", severity="warning")
            return
        instance = getattr(row.row, "instance", None)
        if instance is None:
            self.notify(f"{shown(row.name)} has no Evolution instance: nothing to pair",
                        severity="warning", markup=False)
            return
        if instance.state is InstanceState.OPEN:
            self.notify(f"{shown(row.name)} is open: nothing to pair", markup=False)
            return
        self.app.push_screen(PairingScreen(row.name, service=self.service,
                                           on_paired=self.request_refresh),
                             lambda _: self.request_refresh())
