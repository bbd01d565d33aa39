"""`MutatingActions`: the keys that change Evolution or the database.

Every mutation goes the same way: its action builds a `Request` (`tui.lifecycle.plans`) from
the selection, `propose` opens the confirmation at once (`PlanConfirmScreen`, or
`ClearAllScreen` for a clear-all; both ask `service.plan` inside), and `run_plan` starts the
confirmed plan as a running operation (`service.run(plan, sink=..., cancel=...)`). Create is
confirmed once: its form (`CreateScreen`) shows the plan and its `Create` runs it. What an
operation does is the service's alone, and what a modal says is the plan's (its steps, its
targets, the reseller each is for, by name); the `check_action` gate of `DashboardScreen`
hides and blocks these actions in read-only mode and on rows they do not apply to.
"""

from __future__ import annotations

from collections.abc import Callable

from tui.app.screens.confirm import ClearAllScreen, PlanConfirmScreen
from tui.app.screens.dashboard.operations import RunningOperations
from tui.app.screens.pickers import ALL, CreateScreen, ResellerPicker
from tui.app.view import PaneRow, pane_target, plan_scope_label
from tui.lifecycle.domain import OperationKind, TargetKind
from tui.lifecycle.service import LifecycleService
from tui.lifecycle.plans import (
    AdoptRequest,
    ClearAllRequest,
    CreateRequest,
    DeleteRequest,
    ForgetRequest,
    PairRequest,
    Plan,
    ReprovisionRequest,
    Request,
)
from tui.lifecycle.scope import Scope
from tui.reconcile.models import OrphanInstanceRow

YES_LABELS = {"delete": "Delete (y)", "forget": "Forget (y)", "reprovision": "Re-provision (y)",
              "adopt": "Adopt (y)", "pair": "Pair (y)"}


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
                replan=None if request.scope.is_all else replan,
                name_of=self.reseller_name), answer)
            return
        yes = YES_LABELS.get(request.operation, "Yes (y)")
        self.app.push_screen(PlanConfirmScreen(
            title or f"{request.operation}…", lambda: service.plan(request),
            name_of=self.reseller_name, yes_label=yes,
            danger=request.operation in ("delete", "forget")), answer)

    def run_plan(self, plan: Plan, *, qr: bool = False) -> None:
        """Run a confirmed plan; the progress pane says it started in the scope its modal
        named (the plan's), as the summary's toast will."""
        names = [t.name for t in plan.targets]
        service = self.service
        self.start_operation(
            plan.operation, names,
            lambda sink, cancel: service.run(plan, sink=sink, cancel=cancel),
            bulk=len(names) > 1 or plan.operation == "clear-all",
            total=max(1, len(names)),
            records_by_name={t.name: len(t.records) for t in plan.targets},
            steps_by_name={t.name: frozenset(t.steps) for t in plan.actionable}, qr=qr,
            scope=plan_scope_label(plan, self.reseller_name))

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

        service = self.service

        async def planner(reseller_id: str, qr: bool) -> Plan:
            return await service.plan(CreateRequest(reseller_id, qr))

        def confirmed(plan: Plan | None) -> None:
            # the form was the confirmation: its plan runs as shown
            if plan is None:
                self.progress.write("create: not confirmed, nothing changed")
                return
            request = plan.request
            self.run_plan(plan, qr=isinstance(request, CreateRequest) and request.qr)

        self.app.push_screen(CreateScreen(resellers, fixed, planner=planner,
                                          name_of=self.reseller_name), confirmed)

    def action_clear_all(self, orphans_only: bool | None = None) -> None:
        only = self.orphans_only if orphans_only is None else orphans_only
        self.propose(ClearAllRequest(Scope(self.view_scope), only))

    def action_pair(self) -> None:
        """Pair the cursor row's instance (not `open`): its plan confirmed (`y`), the run
        asks the server for a QR code, and the pairing modal keeps it fresh. (The gate
        already refused rows with nothing to pair, saying why.)"""
        row = self.active_table().cursor_pane_row()
        if row is None:
            return
        self.propose(PairRequest(row.name), qr=True)
