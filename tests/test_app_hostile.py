"""Hostile data on the dashboard: every string a stranger controls is shown as literal text.

Instance names, profile names and owners come from the Evolution server (the real simulator
here), reseller names and record fields from MongoDB (the real Mongo-wire store), error
messages from either, the session's host and database from the settings, and the filter from
the operator's keyboard (typed or pasted). A corpus of escape sequences (OSC 52 clipboard,
window title, clear screen), C0 controls (BEL, CR, backspace), bidi overrides and isolates,
zero-width characters, console markup (`[/]`, `[bold red]x[/]`, `[@click=app.quit]`, a fake
`Cancel (esc)` label), very long strings and emoji/CJK is put in each of them, and for each
widget the tests assert that

* what the widget renders holds the visible escape (`\\x1b`, `\\u202e`: `tui.text.visible`)
  and never the raw character, and the literal brackets (no markup was interpreted);
* what would be written to the terminal (the compositor's full update, rendered the way
  the app writes it to its driver) holds no escape sequence but Textual's own colours and
  cursor moves, and no control or bidi character at all;
* the app did not crash, modals have exactly their own buttons, secrets are masked.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from pydantic import SecretStr
from rich.text import Text
from textual import events
from textual.content import Content
from textual.widgets import Button, Checkbox, Input, Label, OptionList, RichLog, Static

from tests.fixtures.mongo import insert_raw
from tests.fixtures.sim import dialect_free
from tests.test_app_support import (
    FROZEN,
    Recorder,
    make_app,
    make_service,
    move_to,
    settle,
    sim_names,
    wait_for,
)
from tui.app.app import EvodashApp
from tui.app.info import DashboardInfo
from tui.app.messages import OperationFinished, OperationStarted, RefreshFailed
from tui.app.screens.confirm import ClearAllScreen, ConfirmScreen, PlanConfirmScreen
from tui.app.screens.detail import DetailScreen, detail_lines, raw_json
from tui.app.screens.help import HelpScreen
from tui.app.screens.pickers import CreateScreen, ResellerPicker
from tui.app.screens.qr import QrScreen
from tui.app.widgets.header import StatusHeader
from tui.evolution.models import Instance
from tui.lifecycle.events import (
    Step,
    StepEvent,
    StepOutcome,
    Summary,
    TargetOutcome,
    TargetResult,
)
from tui.lifecycle.scope import LifecycleError, Scope
from tui.reconcile.classify import reconcile
from tui.store.models import ConnectionRecord, Reseller
from tui.text import visible

# ------------------------------------------------------------------------------ the corpus
OSC52 = "\x1b]52;c;SGVsbG8=\x07"  # sets the clipboard
TITLE = "\x1b]0;pwned\x07"  # sets the window title
CLEAR = "\x1b[2J\x1b[H\x1bc"  # clears the screen, resets the terminal
CTRL = "\r\x08\x07"  # carriage return, backspace, bell
BIDI = "\u202e\u2066"  # right-to-left override, left-to-right isolate
ZERO_WIDTH = "\u200b\u200d"
CLOSE = "[/]"
BOLD = "[bold red]x[/]"
CLICK = "[@click=app.quit]q[/]"
FAKE_CANCEL = "[@click=screen.answer(True)]Cancel (esc)[/]"
WIDE = "😀中文"
LONG = "L" * 3000

# the instances (Evolution) and what they carry
N_OSC = f"osc{OSC52}{CLOSE}"  # linked (r-evil), open: hostile profile name and owner
N_FAKE = f"del{FAKE_CANCEL}{TITLE}"  # linked (r-evil): its record holds secrets
N_BIDI = f"{BIDI[0]}gnp.exe{BIDI[1]}{ZERO_WIDTH}{BOLD}"  # orphan instance
N_WIDE = f"wide_{WIDE * 3}{CLEAR}{'w' * 200}"  # orphan instance, very long
R_ORPHAN = f"rec{CLEAR}{CLICK}"  # orphan record (name absent on Evolution)
PROFILE = f"{BOLD}{BIDI}{WIDE}{CTRL}"
OWNER = f"5511{CLEAR}@s.whatsapp.net"
TOKEN_OSC = "TOKEN-OSC-SECRET-4242"
TOKEN_FAKE = "TOKEN-FAKE-SECRET-5353"

EVIL = "r-evil"
EVIL_NAME = f"Evil{CLOSE}{TITLE}{BOLD}{BIDI}{WIDE}"
LONG_ID = "r-long"
LONG_NAME = f"Long{CLICK}{LONG}"
RAW_RESELLER_ID = f"r-{TITLE}{CLOSE}"  # a record's reseller id no reseller has

# the secrets of N_FAKE's record (in clear nowhere on screen)
RECORD_SECRETS = {
    "apikey": "APIKEY-REC-1111-2222",
    "token": "TOKEN-REC-3333-4444",
    "api_key": "APIKEY2-REC-5555-6666",
    "access_token": "ACCESS-REC-7777-8888",
    "secret": "SECRET-REC-9999-0000",
    "password": "hunter2-hunter2-pw",
    "Authorization": "Bearer BEARER-REC-1212-3434",
}
NESTED_SECRET = "NESTED-SECRET-5656-7878"
URI_PASSWORD = "PASSWORD-IN-URI-9191"
RECORD_EXTRA = {
    **RECORD_SECRETS,
    "nested": {"clientSecret": NESTED_SECRET, "label": f"n{OSC52}{CLOSE}"},
    "note": f"copy of APIKEY-REC-1111-2222 {OSC52}{FAKE_CANCEL}",
    "webhook": f"https://hook:{URI_PASSWORD}@hooks.example/x",
    f"field{TITLE}{CLOSE}": f"value{BIDI}{CTRL}",
}
ALL_SECRETS = [*RECORD_SECRETS.values(), "BEARER-REC-1212-3434", NESTED_SECRET, URI_PASSWORD,
               TOKEN_OSC, TOKEN_FAKE]


# ------------------------------------------------------------------------------ checks
# what Textual itself writes: colours (SGR) and absolute cursor moves
_OWN_SEQUENCES = re.compile(r"\x1b\[[0-9;]*m|\x1b\[\d+;\d+H")


def terminal_output(app) -> str:
    """Exactly what the app writes to a real terminal for a full repaint of its screen
    (modals over their background screens, toasts included)."""
    update = app.screen._compositor.render_update(full=True,
                                                  screen_stack=app._background_screens)
    return update.render_segments(app.console)


def assert_inert(app) -> str:
    """Nothing but Textual's own colours and cursor moves reaches the terminal: no escape
    sequence, no control character but the newline, no bidi or invisible character.
    Returns the screen's text (what the operator reads)."""
    text = _OWN_SEQUENCES.sub("", terminal_output(app))
    bad = sorted({char for char in text if char != "\n" and visible(char) != char})
    assert not bad, f"raw characters reach the terminal: {bad!r}"
    return text


def assert_literal(text: str) -> None:
    """Text as a widget holds it: every line already visible, nothing left to escape."""
    for line in text.split("\n"):
        assert visible(line) == line, f"raw characters in {line[:120]!r}"


def plain(widget) -> str:
    """The text a Static / Label renders (its visual, as plain text)."""
    visual = widget.visual
    return visual.plain if isinstance(visual, Content) else str(widget.render())


def title_of(table) -> str:
    """A pane's border title as shown (the getter returns it as escaped markup)."""
    return Content.from_markup(table.border_title).plain


def button_ids(screen) -> list[str | None]:
    return [button.id for button in screen.query(Button)]


def no_secret(text: str) -> None:
    for secret in ALL_SECRETS:
        assert secret not in text, f"secret {secret} shown in clear"


# ------------------------------------------------------------------------------ the data
@pytest.fixture
def sim(dialect_sim):
    """What the server lists and answers (table cells, the detail of an instance's body, a
    real delete and re-provision) runs on v1.8 and on v2 (`dialect_sim`); the dashboard's
    own texts and screens are `dialect_free`."""
    return dialect_sim


@pytest.fixture
async def hostile(sim, store, mongo_db):
    sim.seed([
        {"name": N_OSC, "state": "open", "owner": OWNER, "profileName": PROFILE,
         "token": TOKEN_OSC},
        {"name": N_FAKE, "state": "close", "token": TOKEN_FAKE},
        {"name": N_BIDI, "state": "close", "token": "TOKEN-BIDI-SECRET-1313"},
        {"name": N_WIDE, "state": "open", "owner": "5511900000001@s.whatsapp.net",
         "profileName": f"{WIDE}{LONG}", "token": "TOKEN-WIDE-SECRET-1414"},
        {"name": "plain_1", "state": "close", "token": "TOKEN-PLAIN-SECRET-1515"},
    ])
    await store._resellers.insert_many([{"id": EVIL, "name": EVIL_NAME},
                                        {"id": LONG_ID, "name": LONG_NAME}])
    await store.insert_record(EVIL, N_OSC, status=f"{BOLD}{CTRL}",
                              phone_number=f"{TITLE}5511")
    await store.insert_record(EVIL, N_FAKE, status="connected", extra=RECORD_EXTRA)
    await store.insert_record(EVIL, R_ORPHAN, status=f"{CLEAR}{CLOSE}")
    insert_raw(mongo_db, {"instance_name": "plain_1", "reseller_id": RAW_RESELLER_ID,
                          "status": f"st{OSC52}{FAKE_CANCEL}", "id": f"id{BIDI}"})
    return sim, store


def names_in(table) -> set[str]:
    return {row.name for row in table.rows_by_key.values()}


# ------------------------------------------------------------------------------ tables
async def test_every_table_cell_is_literal_and_nothing_reaches_the_terminal(hostile):
    sim, store = hostile
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = app.dashboard.tables()
        assert names_in(instances) == {N_OSC, N_FAKE, N_BIDI, N_WIDE, "plain_1"}
        assert names_in(records) == {N_OSC, N_FAKE, R_ORPHAN, "plain_1"}
        for table in (instances, records):
            for cells in table.values.values():
                for cell in cells:
                    assert isinstance(cell, Text)
                    assert_literal(cell.plain)
        cells = {row.name: [c.plain.strip() for c in row.cells]
                 for row in instances.rows_by_key.values()}
        assert cells[N_OSC][0] == visible(N_OSC) == "osc\\x1b]52;c;SGVsbG8=\\x07[/]"
        assert cells[N_OSC][1].endswith(visible(EVIL_NAME))  # the reseller (drift · ...)
        assert cells[N_OSC][3] == visible("5511" + CLEAR)  # the owner number
        assert cells[N_OSC][4] == visible(PROFILE)
        assert "[bold red]x[/]\\u202e\\u2066😀中文\\x0d\\x08\\x07" in cells[N_OSC][4]
        assert cells[N_BIDI][0] == "\\u202egnp.exe\\u2066\\u200b\\u200d[bold red]x[/]"
        assert cells[N_WIDE][0].startswith(f"wide_{WIDE * 3}\\x1b[2J\\x1b[H\\x1bc")
        assert cells[N_FAKE][0] == visible(N_FAKE) and FAKE_CANCEL in cells[N_FAKE][0]
        rcells = {row.key: [c.plain.strip() for c in row.cells]
                  for row in records.rows_by_key.values()}
        status = {records.rows_by_key[k].name: v[3] for k, v in rcells.items()}
        assert status[N_OSC] == "[bold red]x[/]\\x0d\\x08\\x07"
        assert status[R_ORPHAN] == "\\x1b[2J\\x1b[H\\x1bc[/]"
        assert status["plain_1"] == visible(f"st{OSC52}{FAKE_CANCEL}")
        reseller = {records.rows_by_key[k].name: v[2] for k, v in rcells.items()}
        assert reseller["plain_1"] == "r-\\x1b]0;pwned\\x07[/]"
        screen = assert_inert(app)
        assert "osc\\x1b]52;c;SGVsbG8=" in screen and "\\u202egnp.exe" in screen
        assert app.is_running


# ------------------------------------------------------------------------------ header
@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_header_shows_settings_scope_and_server_errors_literally(hostile):
    sim, store = hostile
    service = make_service(sim, store, scope=Scope.reseller(EVIL))
    info = DashboardInfo(evolution_host=f"evo{TITLE}{CLOSE}.example:8080",
                         database=f"db{BOLD}{BIDI}", scope_label=f"{EVIL}{CLEAR}",
                         refresh_s=5.0, admin=False)
    app = EvodashApp(service, info, clock=lambda: FROZEN, auto_refresh=False)
    # (wide enough for every part of these long values: a narrower header drops some)
    async with app.run_test(size=(200, 45)) as pilot:
        await settle(pilot)
        header = app.dashboard.query_one(StatusHeader)
        text = plain(header)
        assert_literal(text)
        assert "evo\\x1b]0;pwned\\x07[/].example:8080" in text
        assert " · db db[bold red]x[/]\\u202e\\u2066 · " in text
        assert visible(EVIL_NAME) in text  # the scope: the reseller's name once known
        assert_inert(app)

        async def failing():
            raise RuntimeError(f"upstream said {OSC52}{CLOSE}\nsecond {CLICK}")

        service.observe = failing
        await pilot.press("r")
        await settle(pilot)
        text = plain(header)
        assert_literal(text)
        assert "stale" in text
        assert "upstream said \\x1b]52;c;SGVsbG8=\\x07[/] second [@click=app.quit]q[/]" in text
        assert any("refresh failed: upstream said \\x1b]52" in line
                   for line in app.dashboard.progress.lines)
        assert_inert(app)
        # whoever posts the message, its error is shown literally
        app.dashboard.post_message(RefreshFailed(f"raw {TITLE}{BOLD}\r{BIDI}", FROZEN))
        await settle(pilot)
        text = plain(header)
        assert_literal(text)
        assert "raw \\x1b]0;pwned\\x07[bold red]x[/] \\u202e\\u2066" in text
        assert_inert(app)
        assert app.is_running


@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_keys_of_a_hostile_keymap_are_literal_in_the_footer_and_help(hostile):
    sim, store = hostile
    app = make_app(make_service(sim, store))
    app.set_keymap({"delete": f"ctrl+d,{CLOSE}", "refresh": TITLE, "help": BOLD})
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        screen = assert_inert(app)
        assert "\\x1b]0;pwned\\x07" in screen  # the refresh key, in the footer
        app.dashboard.action_help()  # (`?` is remapped away)
        await pilot.pause()
        body = plain(app.screen.query_one(".dialog-body", Static))
        assert_literal(body)
        assert "\\x1b]0;pwned\\x07  Refresh" in body
        assert_inert(app)
        assert app.is_running


# ------------------------------------------------------------------------------ filter
@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_the_filter_typed_or_pasted_is_literal_in_the_box_and_the_titles(hostile):
    sim, store = hostile
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        instances, records = app.dashboard.tables()
        await pilot.press("slash", *"[/]")
        await settle(pilot)
        assert app.dashboard.filter_text == "[/]"
        # every row showing a literal `[/]` somewhere (a name, a reseller, a status)
        assert names_in(instances) == {N_OSC, N_FAKE, N_BIDI, "plain_1"}
        assert names_in(records) == {N_OSC, N_FAKE, R_ORPHAN, "plain_1"}
        assert title_of(instances) == "Evolution instances (4/5) · filter: [/]"
        assert_inert(app)
        box = app.dashboard.query_one("#filter", Input)
        box.value = ""
        box.post_message(events.Paste(f"{OSC52}{BOLD}{BIDI}"))
        await settle(pilot)
        shown = "\\x1b]52;c;SGVsbG8=\\x07[bold red]x[/]\\u202e\\u2066"
        assert box.value == shown and app.dashboard.filter_text == shown
        assert title_of(instances).endswith(f"· filter: {shown}")
        assert title_of(records).endswith(f"· filter: {shown}")
        assert_inert(app)
        box.value = ""
        box.post_message(events.Paste("\\x1b]52"))  # the visible escape finds the name
        await settle(pilot)
        assert names_in(instances) == {N_OSC}
        await pilot.press("enter", "escape")
        assert app.dashboard.filter_text == "" and len(instances.values) == 5
        assert app.is_running


@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_pasted_text_in_the_clear_all_word_and_the_command_palette_is_literal(hostile):
    sim, store = hostile
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"[/]")  # typed markup in the palette's search
        await pilot.pause()
        assert_inert(app)
        box = app.screen.query_one(Input)
        box.post_message(events.Paste(f"x{OSC52}{BIDI}"))
        await pilot.pause()
        await pilot.pause()
        assert box.value == "[/]x\\x1b]52;c;SGVsbG8=\\x07\\u202e\\u2066"
        assert_inert(app)
        box.value = ""
        await pilot.press(*"refresh", "enter")  # the palette still works
        await settle(pilot)
        assert app.screen is app.dashboard
        await pilot.press("X")
        screen = app.screen
        assert isinstance(screen, ClearAllScreen)
        await wait_for(pilot, lambda: screen.plan is not None)
        word = screen.query_one("#confirm-word", Input)
        word.post_message(events.Paste(f"all{CLEAR}{CLOSE}"))
        await pilot.pause()
        await pilot.pause()
        assert word.value == "all\\x1b[2J\\x1b[H\\x1bc[/]"
        assert screen.query_one("#yes", Button).disabled
        assert_inert(app)
        await pilot.press("escape")
        await settle(pilot)
        assert app.is_running


# ------------------------------------------------------------------------------ modals
@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_delete_dialog_shows_a_crafted_name_literally_and_only_its_own_buttons(hostile):
    sim, store = hostile
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        move_to(app.dashboard.tables()[0], N_FAKE)
        await pilot.press("ctrl+d")
        screen = app.screen
        assert isinstance(screen, PlanConfirmScreen)
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.pause()
        assert button_ids(screen) == ["yes", "no"]
        title = plain(screen.query_one("#dialog-title", Label))
        body = plain(screen.query_one("#plan-body", Static))
        assert_literal(title)
        assert_literal(body)
        assert f"\n  linked (close) · 1: {visible(N_FAKE)}\n    steps: " in body
        assert "[@click=screen.answer(True)]Cancel (esc)[/]\\x1b]0;pwned\\x07" in body
        text = assert_inert(app)
        # click the fake label: it is text, not a button, and has no action
        region = screen.query_one("#plan-body", Static).region
        fake = "[@click=screen.answer(True)]Cancel"
        [(y, x)] = [(y, row.index(fake)) for y, row in enumerate(text.split("\n"))
                    if fake in row and region.y <= y < region.bottom]
        await pilot.click(offset=(x + len(fake) - len("Cancel") + 2, y))
        await pilot.pause()
        assert app.screen is screen and not rec.of(OperationStarted)
        await pilot.press("n")
        await settle(pilot)
        assert not rec.of(OperationStarted) and N_FAKE in sim_names(sim)


@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_confirm_help_and_qr_screens_show_outside_text_literally(hostile):
    sim, store = hostile
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        answers: list[bool | None] = []
        app.push_screen(ConfirmScreen(f"Cancel {N_FAKE}?", [N_OSC, f"{CLICK}{LONG}", N_BIDI]),
                        answers.append)
        await pilot.pause()
        screen = app.screen
        assert button_ids(screen) == ["yes", "no"]
        title = plain(screen.query_one(".dialog-title", Label))
        body = plain(screen.query_one(".dialog-body", Static))
        assert_literal(title)
        assert_literal(body)
        assert title == f"Cancel {visible(N_FAKE)}?"
        assert body.split("\n")[:2] == [visible(N_OSC), f"{CLICK}{LONG}"]
        assert_inert(app)
        await pilot.press("n")
        assert answers == [False]
        app.push_screen(HelpScreen({"delete": f"ctrl+x{OSC52}{CLOSE}"}, read_only=False))
        await pilot.pause()
        help_body = plain(app.screen.query_one(".dialog-body", Static))
        assert_literal(help_body)
        assert "ctrl+x\\x1b]52;c;SGVsbG8=\\x07[/]  Delete" in help_body
        assert_inert(app)
        await pilot.press("escape")
        app.push_screen(QrScreen(N_OSC, "2@AbCdEf,ghIJ,kl==", f"PAIR{TITLE}{CLOSE}"))
        await pilot.pause()
        labels = [plain(label) for label in app.screen.query(Label)]
        assert f"Scan with WhatsApp: {visible(N_OSC)}" in labels
        assert "pairing code: PAIR\\x1b]0;pwned\\x07[/]" in labels
        assert_inert(app)
        await pilot.press("escape")
        app.push_screen(QrScreen(N_WIDE, "x" * 10_000, None))  # too long for a QR code
        await pilot.pause()
        assert "cannot draw this QR code" in plain(app.screen.query_one("#qr-code", Static))
        assert_inert(app)
        await pilot.press("escape")
        assert app.is_running


@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_clear_all_modal_of_a_hostile_reseller_is_literal(hostile):
    sim, store = hostile
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        app.dashboard.view_scope = EVIL
        app.dashboard.redraw()
        await pilot.press("X")
        screen = app.screen
        assert isinstance(screen, ClearAllScreen)
        await wait_for(pilot, lambda: screen.plan is not None)
        await pilot.pause()
        assert button_ids(screen) == ["yes", "no"]
        assert [box.id for box in screen.query(Checkbox)] == ["include-attributed"]
        title = plain(screen.query_one(".dialog-title", Label))
        body = plain(screen.query_one("#plan-body", Static))
        prompt = plain(screen.query_one("#confirm-prompt", Label))
        for text in (title, body, prompt):
            assert_literal(text)
        assert title == f"Clear all in scope {visible(EVIL_NAME)}"
        assert visible(N_OSC) in body and visible(N_FAKE) in body
        assert "[bold red]x[/]" in prompt or EVIL in prompt
        assert_inert(app)
        await pilot.press(*"nope", "enter")  # the wrong word: a warning toast, literal
        await pilot.pause()
        assert all(not n.markup for n in app._notifications)
        assert_inert(app)
        await pilot.press("escape")
        await settle(pilot)
        assert {N_OSC, N_FAKE} <= sim_names(sim)
        # a plan whose notes and names carry raw text: the body and prompt stay literal
        plan = screen.plan
        hostile_plan = dataclasses.replace(
            plan, notes=[f"server note {OSC52}{CLICK}"],
            targets=[dataclasses.replace(plan.targets[0], name=f"t{CLEAR}{BOLD}"),
                     *plan.targets[1:]],
            confirmation=dataclasses.replace(plan.confirmation,
                                             words=(f"w{TITLE}{CLOSE}{BIDI}",)))

        async def planner():
            return hostile_plan

        app.push_screen(ClearAllScreen(planner, label=f"lbl{CTRL}{CLICK}"))
        second = app.screen
        await wait_for(pilot, lambda: second.plan is not None)
        await pilot.pause()
        assert button_ids(second) == ["yes", "no"]
        body = plain(second.query_one("#plan-body", Static))
        prompt = plain(second.query_one("#confirm-prompt", Label))
        title = plain(second.query_one(".dialog-title", Label))
        for text in (title, body, prompt):
            assert_literal(text)
        assert title == f"Clear all in scope lbl\\x0d\\x08\\x07{CLICK}"
        assert f"note: server note \\x1b]52;c;SGVsbG8=\\x07{CLICK}" in body
        assert f"t\\x1b[2J\\x1b[H\\x1bc{BOLD}" in body
        assert "[/]" in prompt and "pwned" in prompt
        assert_inert(app)
        await pilot.press("escape")


@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_pickers_show_reseller_and_instance_names_literally(hostile):
    sim, store = hostile
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        # scope picker: every reseller, markup and escapes literal, the long one too
        await pilot.press("s")
        picker = app.screen
        assert isinstance(picker, ResellerPicker)
        options = picker.query_one(OptionList)
        prompts = [options.get_option_at_index(i).prompt for i in range(options.option_count)]
        texts = [p.plain if isinstance(p, (Text, Content)) else p for p in prompts]
        for text in texts:
            assert_literal(text)
        assert f"{visible(EVIL_NAME)}  ({EVIL})" in texts
        assert f"{visible(LONG_NAME)}  ({LONG_ID})" in texts
        assert_inert(app)
        await pilot.press("down")  # all resellers -> Evil
        await pilot.press("enter")
        await settle(pilot)
        assert app.dashboard.view_scope == EVIL
        assert visible(EVIL_NAME) in plain(app.dashboard.query_one(StatusHeader))
        assert any(line.endswith(f"scope: {visible(EVIL_NAME)}")
                   for line in app.dashboard.progress.lines)
        assert_inert(app)
        # create for the scope's reseller: its name is literal, the dialog has its buttons
        await pilot.press("c")
        create = app.screen
        assert isinstance(create, CreateScreen)
        assert f"for reseller {visible(EVIL_NAME)}" in [plain(x) for x in create.query(Label)]
        assert button_ids(create) == ["yes", "no"]
        assert_inert(app)
        await pilot.press("escape")
        # adopt an orphan instance: its name in the picker's title is literal
        app.dashboard.view_scope = None
        app.dashboard.redraw()
        move_to(app.dashboard.tables()[0], N_BIDI)
        await pilot.press("a")
        adopt = app.screen
        assert isinstance(adopt, ResellerPicker)
        title = plain(adopt.query_one(".dialog-title", Label))
        assert title == f"Adopt {visible(N_BIDI)} for which reseller?"
        assert_inert(app)
        await pilot.press("escape")
        # create with every reseller to choose from
        await pilot.press("c")
        create = app.screen
        assert isinstance(create, CreateScreen)
        prompts = [create.query_one(OptionList).get_option_at_index(i).prompt
                   for i in range(2)]
        assert [p.plain if isinstance(p, (Text, Content)) else p for p in prompts] == [
            f"{visible(EVIL_NAME)}  ({EVIL})", f"{visible(LONG_NAME)}  ({LONG_ID})"]
        assert_inert(app)
        await pilot.press("escape")
        assert app.is_running


# ------------------------------------------------------------------------------ detail
async def test_detail_view_is_literal_and_masks_every_secret_of_instance_and_record(hostile):
    sim, store = hostile
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        move_to(app.dashboard.tables()[0], N_FAKE)
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, DetailScreen)
        title = plain(screen.query_one(".dialog-title", Label))
        body = plain(screen.query_one("#detail-body", Static))
        assert title == visible(N_FAKE)
        assert_literal(body)
        no_secret(body)
        assert "****2222" in body and "****4444" in body and "****8888" in body
        assert "****5353" in body  # the instance token
        assert "copy of ****2222" in body  # the secret, wherever else it is
        assert f"https://hook:****@hooks.example/x" in body
        assert "field\\x1b]0;pwned\\x07[/]" in body and "value\\u202e\\u2066" in body
        assert_inert(app)
        await pilot.press("r")  # the raw JSON
        raw = plain(screen.query_one("#detail-body", Static))
        no_secret(raw)
        assert_literal(raw)
        data = json.loads(raw)  # still valid JSON
        extra = data["record"]["extra"]
        assert extra["apikey"] == "****2222" and extra["token"] == "****4444"
        assert extra["api_key"] == "****6666" and extra["access_token"] == "****8888"
        assert extra["secret"] == "****0000" and extra["password"].startswith("****")
        assert extra["Authorization"] == "****3434"
        assert extra["nested"]["clientSecret"] == "****7878"
        assert extra["nested"]["label"] == f"n{OSC52}{CLOSE}"  # (JSON-escaped on screen)
        assert extra[f"field{TITLE}{CLOSE}"] == f"value{BIDI}{CTRL}"
        token_key = "token" if sim.dialect == "v2" else "apikey"  # each dialect's field
        assert data["instance"][token_key] == "****5353"  # (the instance token)
        assert_inert(app)
        await pilot.press("escape")
        # an orphan record and a linked row with hostile profile and owner
        await pilot.press("tab")
        move_to(app.dashboard.tables()[1],
                next(k for k, r in app.dashboard.tables()[1].rows_by_key.items()
                     if r.name == R_ORPHAN))
        await pilot.press("enter")
        body = plain(app.screen.query_one("#detail-body", Static))
        assert_literal(body)
        assert visible(R_ORPHAN) in body and "\\x1b[2J\\x1b[H\\x1bc[/]" in body
        # its repair command names it quoted for a shell, and literally
        assert "To repair it" in body and f"evodash " in body
        assert_inert(app)
        await pilot.press("escape", "tab")
        move_to(app.dashboard.tables()[0], N_OSC)
        await pilot.press("enter")
        body = plain(app.screen.query_one("#detail-body", Static))
        assert_literal(body)
        assert visible(PROFILE) in body and visible(OWNER) in body
        assert TOKEN_OSC not in body and "****4242" in body
        await pilot.press("r")
        raw = plain(app.screen.query_one("#detail-body", Static))
        assert TOKEN_OSC not in raw and json.loads(raw)["instance"][token_key] == "****4242"
        assert_inert(app)
        await pilot.press("escape")
        assert app.is_running


def test_detail_masks_secret_looking_keys_of_instance_bodies_and_records():
    """Keys the client does not know as credentials (`access_token`, `password`,
    `apiKey`, `client_secret`, ...) at any depth, in the instance's body and the record."""
    instance = Instance(
        name="ana_1", state="open", token=SecretStr("TOKEN-INST-SECRET-0001"),
        server_url="https://admin:SERVERPW-0010@evo.example",
        profile_status="my key is APIKEY-REC-0007-ZZ",
        raw={"instance": {"instanceName": "ana_1", "access_token": "ACCESS-INST-0002-ZZ",
                          "Setting": {"password": "PASSWORD-INST-0003"},
                          "apiKey": "APIKEY-INST-0004-ZZ", "client_secret": "CS-INST-0005-ZZ",
                          "webhook": "https://u:PW-INST-0006@h.example/x",
                          "note": "token TOKEN-INST-SECRET-0001 again"}})
    record = ConnectionRecord(doc_id="d1", reseller_id="r-ana", instance_name="ana_1",
                              extra={"apikey": "APIKEY-REC-0007-ZZ", "token": 12345678,
                                     "secrets": ["S-REC-0008-ZZ"], "pwd": "PWD-REC-0009",
                                     "pin": "Q7Z"})
    [row] = reconcile([instance], [record], [Reseller(id="r-ana", name="Ana")]).linked
    secrets = ["TOKEN-INST-SECRET-0001", "ACCESS-INST-0002-ZZ", "PASSWORD-INST-0003",
               "APIKEY-INST-0004-ZZ", "CS-INST-0005-ZZ", "PW-INST-0006", "APIKEY-REC-0007-ZZ",
               "12345678", "S-REC-0008-ZZ", "PWD-REC-0009", "SERVERPW-0010", "Q7Z"]
    lines = "\n".join(detail_lines(row, None))
    raw = raw_json(row)
    for secret in secrets:
        assert secret not in lines and secret not in raw, secret
    assert "my key is ****7-ZZ" in lines  # a secret of the record, in an instance field
    assert "https://admin:****@evo.example" in lines
    data = json.loads(raw)
    assert data["instance"]["instance"]["access_token"] == "****2-ZZ"
    assert data["instance"]["instance"]["Setting"]["password"] == "****0003"
    assert data["instance"]["instance"]["note"] == "token ****0001 again"
    assert data["record"]["extra"] == {"apikey": "****7-ZZ", "token": "****",
                                       "secrets": ["****8-ZZ"], "pwd": "****0009",
                                       "pin": "****"}


# ------------------------------------------------------------------------------ progress
@dialect_free("the dashboard's own texts and screens (what a server lists: both dialects)")
async def test_progress_lines_summaries_errors_and_toasts_are_literal(hostile):
    sim, store = hostile
    rec = Recorder()
    app = make_app(make_service(sim, store))

    async def hostile_run(sink, cancel):
        sink(StepEvent("delete", N_OSC, Step.LOGOUT, 1, StepOutcome.OK, 0.1,
                       f"server said {CLEAR}{CLICK}"))
        sink(StepEvent("delete", N_BIDI, Step.DELETE, 2, StepOutcome.FAILED, 0.2,
                       f"{TITLE}{BOLD}\nline two"))
        return Summary("delete", f"scope {EVIL_NAME}", targets=[
            TargetResult(N_OSC, TargetOutcome.REMOVED),
            TargetResult(N_BIDI, TargetOutcome.FAILED, reason=f"boom {OSC52}{CLOSE}"),
            TargetResult(N_FAKE, TargetOutcome.REMOVED, record_error=f"db {BIDI}{FAKE_CANCEL}"),
        ], notes=[f"note {CTRL}{CLICK}"])

    async def refused(sink, cancel):
        raise LifecycleError(f"refused {N_FAKE}")

    async def crashed(sink, cancel):
        raise RuntimeError(f"kaboom {OSC52}\n{BOLD}")

    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        dash = app.dashboard
        dash.start_operation("delete", [N_OSC, N_BIDI, N_FAKE], hostile_run, bulk=True)
        await settle(pilot)
        assert rec.of(OperationFinished)
        text = assert_inert(app)  # the toast is on screen
        dash.start_operation("delete", [N_FAKE], refused, bulk=False)
        await settle(pilot)
        dash.start_operation("delete", [N_BIDI], crashed, bulk=False)
        await settle(pilot)
        lines = dash.progress.lines
        for line in lines:
            assert_literal(line)
        joined = "\n".join(lines)
        assert f"{visible(N_OSC)} logout ok · server said \\x1b[2J\\x1b[H\\x1bc{CLICK}" in joined
        assert "\\x1b]0;pwned\\x07[bold red]x[/]\\x0aline two" in joined
        assert f"{visible(N_BIDI)}: boom \\x1b]52;c;SGVsbG8=\\x07[/]" in joined
        assert f"{visible(N_FAKE)}: db \\u202e\\u2066{FAKE_CANCEL}" in joined
        assert f"note \\x0d\\x08\\x07{CLICK}" in joined
        assert f"delete failed: refused {visible(N_FAKE)}" in joined
        assert "mutations error: kaboom \\x1b]52;c;SGVsbG8=\\x07 [bold red]x[/]" in joined
        log = dash.progress.query_one(RichLog)
        for strip in log.lines:
            assert_literal(strip.text)
        notes = list(app._notifications)
        assert len(notes) == 3
        for note in notes:
            assert not note.markup and isinstance(note.message, str)
            assert_literal(note.message)
            assert_literal(note.title)
        assert notes[1].message == f"refused {visible(N_FAKE)}"
        assert notes[2].message == "kaboom \\x1b]52;c;SGVsbG8=\\x07 [bold red]x[/]"
        assert f"scope {visible(EVIL_NAME)}"[:40] in notes[0].message
        assert_inert(app)
        assert app.is_running and not dash.ops


async def test_a_real_delete_of_a_hostile_name_is_reported_literally(hostile):
    sim, store = hostile
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        move_to(app.dashboard.tables()[0], N_OSC)
        await pilot.press("ctrl+d")
        await wait_for(pilot, lambda: getattr(app.screen, "plan", None) is not None)
        assert_inert(app)
        await pilot.press("y")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        assert finished.summary.targets[0].outcome is TargetOutcome.REMOVED
        assert N_OSC not in sim_names(sim) and await store.find_records(N_OSC) == []
        lines = app.dashboard.progress.lines
        for line in lines:
            assert_literal(line)
        assert any(f"{visible(N_OSC)} record ok" in line for line in lines)
        assert_inert(app)


async def test_reprovision_of_a_hostile_orphan_record_is_reported_literally(hostile):
    sim, store = hostile
    rec = Recorder()
    app = make_app(make_service(sim, store))
    async with app.run_test(size=(160, 45), message_hook=rec) as pilot:
        await settle(pilot)
        await pilot.press("tab")
        records = app.dashboard.tables()[1]
        move_to(records, next(k for k, r in records.rows_by_key.items() if r.name == R_ORPHAN))
        await pilot.press("R")
        await wait_for(pilot, lambda: getattr(app.screen, "plan", None) is not None)
        assert_literal(plain(app.screen.query_one("#plan-body", Static)))
        assert_inert(app)
        await pilot.press("y")
        await settle(pilot)
        [finished] = rec.of(OperationFinished)
        [target] = finished.summary.targets
        assert target.outcome is TargetOutcome.REPROVISIONED
        assert R_ORPHAN in sim_names(sim)  # re-created under the very same name
        lines = app.dashboard.progress.lines
        for line in lines:
            assert_literal(line)
        assert any(f"{visible(R_ORPHAN)} create ok" in line for line in lines)
        row = next(r for r in records.rows_by_key.values() if r.name == R_ORPHAN)
        assert row.kind == "linked" and row.plain(0) == visible(R_ORPHAN)
        assert_inert(app)
        assert app.is_running
