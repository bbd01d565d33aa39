"""Which server the dashboard talks to, and what only v2 says (pilot tests against the real
v1.8 simulator, or a small v2 stub, `tests/evolution_stub.py`, and the real Mongo-wire store):

* the header names the server (`Evolution 1.8.6 (v1.8)`, `Evolution 2.3.6 (v2 · evo_a)`) as
  soon as its profile is known, found by a worker of its own (`ServerProfiled`); a failed
  detection is one progress line and never stops the refresh; the header fits 80 columns,
  its least important parts dropped first;
* an orphan record whose name another server holds reads `other server` in its own style,
  and the header counts `foreign N`;
* the detail of a v2 instance shows its client name and stored messages / contacts / chats,
  and probes a listed instance: a row with no live instance says so (nothing of this for
  v1.8);
* a hostile version or client name is literal text everywhere.
"""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.widgets import Static

from tests.evolution_stub import V2_ROOT, StubEvolution, v2_row
from tests.fixtures.sim import API_KEY
from tests.test_app_hostile import assert_inert, assert_literal, plain
from tests.test_app_support import (
    ANA,
    ANA_1,
    ANA_5,
    BOB,
    Recorder,
    make_app,
    make_service,
    move_to,
    seed,
    settle,
    wait_for,
)
from tui.app.messages import Refreshed, ServerProfiled
from tui.app.screens.detail import DetailScreen
from tui.app.view import FOREIGN_STYLE, RESERVED_STYLE
from tui.app.widgets.header import HeaderState, StatusHeader, header_text, server_forms
from tui.evolution.client import EvolutionClient
from tui.evolution.dialect import Dialect
from tui.evolution.models import DetectedBy, ServerProfile
from tui.reconcile.models import Counts
from tui.text import visible

V18 = ServerProfile(dialect=Dialect.V1_8, detected_by=DetectedBy.VERSION, version="1.8.6")
V2 = ServerProfile(dialect=Dialect.V2, detected_by=DetectedBy.VERSION, version="2.3.6",
                   client_name="evo_a")


def header(app) -> str:
    return str(app.dashboard.query_one(StatusHeader).render())


def state(**kw) -> HeaderState:
    base = dict(evolution_host="evolution.example.com:8080", database="whatsapp_platform",
                scope_label="all resellers", read_only=False, refresh_s=5.0,
                auto_refresh=True, last_good_at=100.0,
                counts=Counts(instances=36, records=35, linked=33, orphan_instances=2,
                              orphan_records=2, reserved=1, foreign=1))
    base.update(kw)
    return HeaderState(**base)


# ------------------------------------------------------------------------------ the header (pure)
def test_server_forms_shorten_from_the_product_name_to_the_dialect():
    assert server_forms(V2) == ["Evolution 2.3.6 (v2 · evo_a)", "2.3.6 (v2 · evo_a)",
                                "2.3.6 v2 · evo_a", "2.3.6 v2", "v2", ""]
    assert server_forms(V18)[0] == "Evolution 1.8.6 (v1.8)"
    assert server_forms(None)[0] == "detecting…" and server_forms(None)[1] == ""
    assert server_forms(None, failed=True)[0] == "Evolution ?"
    long = V2.model_copy(update={"client_name": "c" * 40, "version": "2.3.6-" + "9" * 40})
    assert server_forms(long)[0] == f"Evolution 2.3.6-{'9' * 17}… (v2 · {'c' * 23}…)"


def test_wide_header_names_the_server_next_to_the_host():
    line1, line2 = header_text(state(server=V2), 103.0, width=200).plain.split("\n")
    assert line1 == ("evodash · evolution.example.com:8080 · Evolution 2.3.6 (v2 · evo_a) · "
                     "db whatsapp_platform · scope all resellers · every 5s · refreshed 3s ago")
    assert line2.endswith("reserved 1 · foreign 1")
    assert "detecting…" in header_text(state(), 103.0, width=200).plain


@pytest.mark.parametrize("server", [V2, V18, None])
@pytest.mark.parametrize("extra", [{}, {"read_only": True}, {"marked": 36},
                                   {"auto_refresh": False, "read_only": True}])
def test_the_header_fits_80_columns(server, extra):
    text = header_text(state(server=server, **extra), 103.0, width=78).plain
    for line in text.split("\n"):
        assert cell_len(line) <= 78, line
    line1 = text.split("\n")[0]
    # what matters most stays: the host, the scope, READ-ONLY, the freshness
    assert "evolution.example.com:8080" in line1 and "all resellers" in line1
    assert ("READ-ONLY" in line1) is bool(extra.get("read_only"))
    assert "3s ago" in line1


def test_narrow_header_drops_the_least_important_parts_first():
    wide = state(server=V2, evolution_host="evo.example:8080", database="wa")
    assert header_text(wide, 103.0, width=78).plain.split("\n")[0] == (
        "evo.example:8080 · 2.3.6 (v2 · evo_a) · db wa · scope all resellers · 3s ago")
    # a long host: the client name, then the database, then the version go; the dialect stays
    long_host = "evolution-api.production.example.com.br:8080"
    line = header_text(state(server=V2, evolution_host=long_host), 103.0,
                       width=78).plain.split("\n")[0]
    assert line == f"{long_host} · v2 · all resellers · 3s ago"


def test_stale_error_follows_the_fitted_line():
    text = header_text(state(server=V2, error="cannot reach Evolution API: refused"), 103.0,
                       width=78).plain.split("\n")[0]
    assert text.startswith("evolution.example.com:8080 · ")
    assert text.endswith("stale (data 3s old): cannot reach Evolution API: refused")


def test_header_counts_show_foreign_only_when_there_is_one():
    assert "foreign 1" in header_text(state(), 103.0, width=78).plain
    none = state(counts=Counts(instances=1, records=1, linked=1))
    assert "foreign" not in header_text(none, 103.0, width=200).plain


# ------------------------------------------------------------------------------ v1.8, live
@pytest.fixture
async def seeded(sim, store):
    await seed(sim, store)
    return sim, store


async def test_header_names_the_v18_server_once_its_profile_is_known(seeded):
    sim, store = seeded
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        [profiled] = rec.of(ServerProfiled)
        assert profiled.profile.version == "1.8.6" and profiled.profile.dialect is Dialect.V1_8
        assert "sim.local:8080 · Evolution 1.8.6 (v1.8) · db evodash_test" in header(app)
        assert any(line.endswith("server: Evolution API 1.8.6 (v1.8) · detected from GET / "
                                 "version") for line in app.dashboard.progress.lines)
        await pilot.press("r")  # known: not asked again
        await settle(pilot)
        assert len(rec.of(ServerProfiled)) == 1


async def test_a_failed_detection_is_said_and_never_stops_the_refresh(seeded):
    sim, store = seeded
    # the dialect set: the lists need no detection, so only the profile's own ask fails
    client = EvolutionClient(sim.url, API_KEY, timeout_s=5, retries=0, dialect="v1.8")
    service = make_service(sim, store, client=client)
    calls = []

    async def failing():
        calls.append(1)
        raise RuntimeError("GET / answered [red]x[/] \x1b[2J")

    service.server_profile = failing
    app = make_app(service)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert app.dashboard.obs is not None  # the refresh went on
        text = header(app)
        assert "Evolution ?" in text and "stale" not in text
        failures = [line for line in app.dashboard.progress.lines if "detection failed" in line]
        assert len(failures) == 1
        assert "GET / answered [red]x[/] \\x1b[2J" in failures[0]
        assert_inert(app)
        await pilot.press("r")  # asked again at the next refresh, said once
        await settle(pilot)
        assert len(calls) == 2
        assert len([line for line in app.dashboard.progress.lines
                    if "detection failed" in line]) == 1
        del service.server_profile  # the server answers again
        await pilot.press("r")
        await settle(pilot)
        assert "Evolution 1.8.6 (v1.8)" in header(app)


async def test_v18_detail_shows_no_v2_fields_and_does_not_probe(seeded):
    sim, store = seeded
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, _ = app.dashboard.tables()
        move_to(instances, ANA_1)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen) and screen.liveness is None  # no probe
        body = plain(screen.query_one("#detail-body", Static))
        assert "live:" not in body and "client name" not in body and "messages" not in body


# ------------------------------------------------------------------------------ v2 (a stub)
GHOST = "anamarket_3_1700000033"  # listed (a row of this server), no live instance
THEIRS = "bobzap_8_1700000088"  # a record whose name another server's row holds


@pytest.fixture
async def v2_world(store):
    await store._resellers.insert_many([dict(ANA), dict(BOB)])
    for reseller_id, name in (("r-ana", ANA_1), ("r-ana", GHOST), ("r-ana", ANA_5),
                              ("r-bob", THEIRS)):
        await store.insert_record(reseller_id, name, status="disconnected")
    rows = [v2_row(ANA_1, "open", messages=120, contacts=33, chats=7),
            v2_row(GHOST, "open", messages=5)]
    held = {ANA_1: "open", GHOST: None, THEIRS: None}  # ANA_5: free
    with StubEvolution(V2_ROOT, rows=rows, held=held) as stub:
        yield stub, store


def v2_app(stub, store, **kw):
    client = EvolutionClient(stub.url, API_KEY, timeout_s=5, retries=0)
    return make_app(make_service(None, store, client=client), **kw)


async def test_v2_header_foreign_rows_and_counts(v2_world):
    stub, store = v2_world
    app = v2_app(stub, store)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        text = header(app)
        assert "sim.local:8080 · Evolution 2.3.6 (v2 · evo_a) · db evodash_test" in text
        assert "foreign 1" in text
        _, records = app.dashboard.tables()
        rows = {r.name: r for r in records.rows_by_key.values()}
        theirs, absent = rows[THEIRS], rows[ANA_5]
        assert theirs.plain(1) == "other server" and absent.plain(1) == "ORPHAN · absent"
        assert theirs.cells[1].style == FOREIGN_STYLE != RESERVED_STYLE
        assert theirs.probe == "foreign"
        # its detail says whose it is, and where to repair it
        records.focus()
        await pilot.pause()
        move_to(records, theirs.key)
        await pilot.press("enter")
        await settle(pilot)
        body = plain(app.screen.query_one("#detail-body", Static))
        assert "other server" in body and "EVODASH_EVOLUTION__URL=<its URL> evodash report" \
            in body


async def test_v2_header_fits_80_columns_on_one_line(v2_world):
    stub, store = v2_world
    app = v2_app(stub, store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        widget = app.dashboard.query_one(StatusHeader)
        lines = header(app).split("\n")
        assert widget.region.height == 2 and all(cell_len(line) <= 78 for line in lines)
        assert "v2 · evo_a" in lines[0] and "foreign 1" in lines[1]


async def test_v2_detail_shows_counts_client_and_says_a_row_has_no_live_instance(v2_world):
    stub, store = v2_world
    app = v2_app(stub, store)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, _ = app.dashboard.tables()
        move_to(instances, GHOST)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        body = plain(screen.query_one("#detail-body", Static))
        assert "live: no live instance (a database row only): delete removes it" in body
        assert "client name      evo_a" in body and "messages         5" in body
        await pilot.press("escape")
        move_to(instances, ANA_1)
        await pilot.press("enter")
        await settle(pilot)
        body = plain(app.screen.query_one("#detail-body", Static))
        assert "live: live instance (open)" in body
        assert "messages         120" in body and "contacts         33" in body
        assert "chats            7" in body


# ------------------------------------------------------------------------------ hostile
HOSTILE_VERSION = "2.3.6[red]x[/]\x1b[2J"
HOSTILE_CLIENT = "evo[b]x[/]\x1b]0;p\x07"


async def test_a_hostile_version_and_client_name_are_literal_in_header_and_log(seeded):
    sim, store = seeded
    root = {**V2_ROOT, "version": HOSTILE_VERSION, "clientName": HOSTILE_CLIENT}
    with StubEvolution(root, upstream=sim.url) as front:
        client = EvolutionClient(front.url, API_KEY, timeout_s=5, retries=0, dialect="v1.8")
        app = make_app(make_service(sim, store, client=client))
        async with app.run_test(size=(200, 45)) as pilot:
            await settle(pilot)
            text = plain(app.dashboard.query_one(StatusHeader))
            assert_literal(text)
            assert (f"Evolution {visible(HOSTILE_VERSION)} (v1.8 · {visible(HOSTILE_CLIENT)})"
                    in text)
            log = [line for line in app.dashboard.progress.lines if "server:" in line]
            assert log and visible(HOSTILE_CLIENT) in log[0]
            # set v1.8, the version says 2.x: said in the log, both named
            assert any("evolution.dialect is v1.8 but the server says version" in line
                       for line in app.dashboard.progress.lines)
            assert_inert(app)
            # narrow: cut short, still literal
            await pilot.resize_terminal(80, 24)
            await settle(pilot)
            assert_literal(plain(app.dashboard.query_one(StatusHeader)))
            assert_inert(app)


async def test_the_header_follows_a_server_found_again(seeded):
    """The client took the server for a v2 one (a server downgraded in place): the first
    list has v1.8's shape, the client detects again, and the next `Refreshed` brings the
    profile found to the header and the log."""
    sim, store = seeded
    service = make_service(sim, store)
    service.client._profile = V2
    app = make_app(service)
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert "Evolution 1.8.6 (v1.8)" in header(app) and "evo_a" not in header(app)
        said = [line for line in app.dashboard.progress.lines if "server:" in line]
        assert len(said) == 2 and "(v2, client evo_a)" in said[0] and "(v1.8)" in said[1]


async def test_a_hostile_client_name_of_a_v2_row_is_literal_in_the_detail(store):
    await store._resellers.insert_many([dict(ANA)])
    await store.insert_record("r-ana", ANA_1, status="connected")
    rows = [v2_row(ANA_1, "open", client=HOSTILE_CLIENT, messages=1)]
    with StubEvolution(V2_ROOT, rows=rows, held={ANA_1: "open"}) as stub:
        app = v2_app(stub, store)
        async with app.run_test(size=(160, 45)) as pilot:
            await settle(pilot)
            instances, _ = app.dashboard.tables()
            move_to(instances, ANA_1)
            await pilot.press("enter")
            await settle(pilot)
            body = plain(app.screen.query_one("#detail-body", Static))
            assert_literal(body)
            assert f"client name      {visible(HOSTILE_CLIENT)}" in body
            assert_inert(app)
