"""Shared helpers of the dashboard tests (tests/test_app_*.py): a small deterministic dataset
seeded into the real simulator (`sim`) and the real Mongo-wire store (`store`), an app
factory with a frozen clock and timers off, a recorder of posted messages, and waits.

Not a test module itself; the tests of the pure view model live here too, so the helpers
are exercised on their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.message import Message
from textual.pilot import Pilot

from tui.app.app import EvodashApp
from tui.app.info import DashboardInfo
from tui.evolution.client import EvolutionClient
from tui.lifecycle.removal import DeletePolicy
from tui.lifecycle.scope import Scope
from tui.lifecycle.service import LifecycleService
from tui.reconcile.naming import instance_name

FROZEN = 1_762_000_000.0  # 2025-11-01 12:26:40 UTC

ANA = {"id": "r-ana", "name": "Ana Net"}
BOB = {"id": "r-bob", "name": "Bob Zap"}
ANA_1 = instance_name("Ana Net", 1, 1700000001)  # linked, open
ANA_2 = instance_name("Ana Net", 2, 1700000002)  # linked, close
BOB_1 = instance_name("Bob Zap", 1, 1700000003)  # linked, connecting
ANA_9 = instance_name("Ana Net", 9, 1700000009)  # orphan instance, attributed to Ana
STRAY = "stray_bot"  # orphan instance, nobody's
ANA_5 = instance_name("Ana Net", 5, 1700000005)  # orphan record, name absent
BOB_7 = instance_name("Bob Zap", 7, 1700000007)  # orphan record, name reserved (ghost)

INSTANCES = [
    {"name": ANA_1, "state": "open", "owner": "5511911110001@s.whatsapp.net",
     "profileName": "Ana Loja", "token": "TOKEN-ANA-1-SECRET-0001"},
    {"name": ANA_2, "state": "close", "token": "TOKEN-ANA-2-SECRET-0002"},
    {"name": BOB_1, "state": "connecting", "token": "TOKEN-BOB-1-SECRET-0003"},
    {"name": ANA_9, "state": "close", "token": "TOKEN-ANA-9-SECRET-0009"},
    {"name": STRAY, "state": "close", "token": "TOKEN-STRAY-SECRET-0010"},
    {"name": BOB_7, "ghost": True},
]
RECORDS = [("r-ana", ANA_1, "connected"), ("r-ana", ANA_2, "disconnected"),
           ("r-bob", BOB_1, "disconnected"), ("r-ana", ANA_5, "disconnected"),
           ("r-bob", BOB_7, "disconnected")]


async def seed(sim, store) -> None:
    sim.seed(INSTANCES)
    await store._resellers.insert_many([dict(ANA), dict(BOB)])
    for reseller_id, name, status in RECORDS:
        await store.insert_record(reseller_id, name, status=status)


def make_service(sim, store, *, scope: Scope | None = None, read_only: bool = False,
                 client: EvolutionClient | None = None, concurrency: int = 4
                 ) -> LifecycleService:
    client = client or EvolutionClient(sim.url, sim.api_key, timeout_s=5, retries=0)
    return LifecycleService(client, store, scope=scope or Scope.all(),
                            policy=DeletePolicy(verify_timeout_s=2, max_attempts=2, free_hold_s=0.4,
                                                quiet_logout_s=0.05),
                            concurrency=concurrency, read_only=read_only, orphan_grace_s=0.0)


def make_app(service: LifecycleService, *, read_only: bool | None = None,
             refresh_s: float = 5.0, auto_refresh: bool = False,
             watcher_factory: Callable[[], Any] | None = None,
             scope_label: str | None = None, notes: tuple[str, ...] = ()) -> EvodashApp:
    info = DashboardInfo(
        evolution_host="sim.local:8080", database="evodash_test",
        scope_label=scope_label or ("all resellers" if service.scope.is_all
                                    else service.scope.reseller_id),
        refresh_s=refresh_s,
        read_only=service.read_only if read_only is None else read_only,
        admin=service.scope.is_all, notes=notes)
    return EvodashApp(service, info, clock=lambda: FROZEN, auto_refresh=auto_refresh,
                      watcher_factory=watcher_factory)


@dataclass
class Recorder:
    """`run_test(message_hook=recorder)`: every message posted while the app runs."""

    messages: list[Message] = field(default_factory=list)

    def __call__(self, message: Message) -> None:
        self.messages.append(message)

    def of(self, kind: type) -> list:
        return [m for m in self.messages if isinstance(m, kind)]


async def settle(pilot: Pilot, timeout: float = 15.0) -> None:
    """Wait until no refresh, plan or operation is running and the UI processed it all."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await pilot.pause()
        # the record watcher and an open pairing modal's poll run until stopped
        busy = [w for w in app.workers
                if not w.is_finished and w.group not in ("watch", "pairing")]
        dash = app.dashboard
        if not busy and not dash.ops and not dash._refreshing:
            await pilot.pause()
            return
        if loop.time() > deadline:
            raise AssertionError(f"still busy after {timeout}s: {busy} {dash.ops}")
        await asyncio.sleep(0.02)


async def wait_for(pilot: Pilot, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
        await pilot.pause()


def move_to(table, key: str) -> None:
    table.move_cursor(row=table.get_row_index(key), animate=False)


def sim_names(sim) -> set[str]:
    """The names with a loaded instance (v1.8: in memory; v2's dump lists only its memory,
    its rows apart)."""
    return {i["name"] for i in sim.state()["instances"] if i.get("in_memory", True)}


# -- the pure view model ------------------------------------------------------------------------
def test_natural_key_orders_numbers_as_numbers():
    from tui.app.view import natural_key

    names = ["a_10_1", "a_2_1", "a_1_9", "B_1"]
    assert sorted(names, key=natural_key) == ["a_1_9", "a_2_1", "a_10_1", "B_1"]


def test_fmt_age_units():
    from tui.app.view import fmt_age

    assert [fmt_age(s) for s in (0, 59, 60, 3599, 3600, 86400 * 3 + 5, -4)] == \
        ["0s", "59s", "1m", "59m", "1h", "3d", "0s"]


def test_qr_text_is_half_blocks_of_the_segno_matrix():
    import segno

    from tui.app.screens.qr import qr_text

    code = "2@AbCdEf,ghIJ,kl=="
    lines = qr_text(code, border=2).splitlines()
    size = len(list(segno.make(code, micro=False).matrix_iter(border=2)))
    assert len(lines) == (size + 1) // 2
    assert all(len(line) == size for line in lines)
    assert set("".join(lines)) <= set(" ▀▄█")
    assert lines[0] == "█" * size  # the quiet zone is light


def test_bar_text_clamps_and_counts():
    from tui.app.widgets.progress import bar_text

    assert bar_text("x", 4, 1, width=8).plain == "x ██······ 25%"
    assert bar_text("x", 0, 5, width=4).plain == "x ████ 100%"


def _recon(state: str = "open", status: str = "connected"):
    from datetime import UTC, datetime

    from tui.evolution.models import Instance
    from tui.reconcile.classify import reconcile
    from tui.store.models import ConnectionRecord, Reseller

    instances = [Instance(name=ANA_1, state=state, owner="5511911110001@s.whatsapp.net",
                          profile_name="Ana Loja"),
                 Instance(name=STRAY, state="close")]
    records = [ConnectionRecord(doc_id="d1", reseller_id="r-ana", instance_name=ANA_1,
                                status=status, created_at=datetime(2025, 10, 30, tzinfo=UTC))]
    return reconcile(instances, records, [Reseller(**ANA)])


def test_pane_model_reuses_the_cells_of_unchanged_rows():
    from tui.app.view import PaneModel

    model = PaneModel()
    first = model.instance_rows(_recon(), {})
    recon = _recon()
    again = model.instance_rows(recon, {})  # equal data, new objects
    assert [r.key for r in again] == [ANA_1, STRAY]
    assert all(a.cells is b.cells for a, b in zip(first, again, strict=True))
    assert again[0].row is recon.linked[0]  # actions see the latest row
    changed = model.instance_rows(_recon(state="close"), {})
    assert changed[0].cells is not first[0].cells and changed[0].plain(2) == "close"
    assert changed[1].cells is first[1].cells
    inflight = model.instance_rows(_recon(state="close"), {ANA_1: "delete"})
    assert inflight[0].plain(2) == "» delete"


def test_pane_model_record_age_follows_the_clock():
    from tui.app.view import PaneModel

    model = PaneModel()
    now = FROZEN
    [row] = model.record_rows(_recon(), {}, now)
    assert row.plain(4) == "2d ago" and row.plain(3) == "connected"
    [same] = model.record_rows(_recon(), {}, now + 60)
    assert same.cells is row.cells  # still 2d
    [older] = model.record_rows(_recon(), {}, now + 86400)
    assert older.plain(4) == "3d ago"


def test_cells_are_one_line_with_an_ellipsis_and_a_separator():
    from tui.app.view import INSTANCE_COLUMNS, RECORD_COLUMNS, cell

    assert sum(w for _k, _l, w in INSTANCE_COLUMNS) <= 77  # one pane of 160 (or 80) cols
    assert sum(w for _k, _l, w in RECORD_COLUMNS) <= 77
    text = cell("María Peña-Águas · drift")
    assert text.plain.startswith(" ") and text.no_wrap and text.overflow == "ellipsis"
