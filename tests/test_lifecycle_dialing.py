"""The dialing tracker: an instance listed `close` that was seen `connecting` within the
window is dialing; a steady `connecting` one shows as connecting; forgetting and expiry."""

from __future__ import annotations

from tui.evolution.models import Instance, InstanceState
from tui.lifecycle.dialing import DialingTracker


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def inst(name: str, state: InstanceState) -> Instance:
    return Instance(name=name, state=state)


def test_close_seen_connecting_within_the_window_is_dialing():
    clock = Clock()
    tracker = DialingTracker(window_s=10, clock=clock)
    tracker.feed([inst("a", InstanceState.CONNECTING), inst("b", InstanceState.CLOSE)])
    clock.now += 1
    listed = [inst("a", InstanceState.CLOSE), inst("b", InstanceState.CLOSE),
              inst("c", InstanceState.CONNECTING)]
    marked = tracker.mark(listed)
    assert [i.dialing for i in marked] == [True, False, False]
    assert [i.shown_state for i in marked] == ["dialing", "close", "connecting"]
    tracker.forget("a")  # a logout landed: the dialing stopped
    assert not tracker.mark(listed)[0].dialing
    tracker.feed([inst("a", InstanceState.CONNECTING)])
    clock.now += 11  # not seen connecting for longer than the window: quiet again
    assert tracker.mark(listed) is listed


def test_the_dashboard_and_report_show_a_dialing_instance_as_dialing():
    from tui.app.view import instance_rows
    from tui.reconcile.classify import reconcile
    from tui.store.models import ConnectionRecord, Reseller

    clock = Clock()
    tracker = DialingTracker(clock=clock)
    tracker.feed([inst("fabio_1_1", InstanceState.CONNECTING)])
    listed = tracker.mark([inst("fabio_1_1", InstanceState.CLOSE),
                           inst("fabio_2_2", InstanceState.CLOSE)])
    record = ConnectionRecord(doc_id="d1", reseller_id="r1", instance_name="fabio_1_1")
    recon = reconcile(listed, [record], [Reseller(id="r1", name="Fabio")])
    rows = {row.key: row for row in instance_rows(recon, {})}
    assert rows["fabio_1_1"].cells[2].plain.strip() == "dialing"  # linked, flapping
    assert rows["fabio_2_2"].cells[2].plain.strip() == "close"  # orphan, quiet
