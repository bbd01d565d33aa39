"""The operator's key flows in a real terminal: `evodash --demo` in tmux at 80x24 and
160x45, keys sent with `send-keys`, the screen read with `capture-pane -p` (text only: every
check is on words and arrows, never on colour). j / k / g / G (seen through `y`, which
copies the cursor row's name and says so), `/` filter, `o` / `O` sort, marks and `u`,
the help (keys as typed, scrolls to its end at 80x24), a delete confirmed with `y`, a
wrong-row key that says why, keys typed before the dashboard is up, and a clean quit."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from tests.tmux_support import Tmux, tmux_terminals

FIRST = "fabiotelec_1_1761316762"  # the demo's rows, in their default order
SECOND = "fabiotelec_2_1761316859"
THIRD = "fabiotelec_3_1761316956"
LOADED = r"inst(ances)? 36\b.*rec(ords)? 34\b"


@pytest.fixture
def tmux(tmp_path) -> Iterator[Callable[[int, int], Tmux]]:
    yield from tmux_terminals(tmp_path, "keys")


def title(screen: str) -> str:
    """The instances pane's title line."""
    return next((line for line in screen.splitlines() if "Evolution instances" in line), "")


def copied(term: Tmux, name_pattern: str) -> None:
    """`y` copies the cursor row's name; its toast names it (so the cursor is there)."""
    term.keys("y")
    term.wait_for(rf"copied {name_pattern}")


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_key_flows_in_a_real_terminal(tmux, size):
    term = tmux(*size)
    term.wait_for(LOADED, 60)
    term.wait_for(FIRST)

    # vim motions (the toast of `y` names the cursor row)
    term.keys("j", "j")
    copied(term, THIRD)
    term.keys("k")
    copied(term, SECOND)
    term.keys("G")
    copied(term, r"zaplink_\d+_\d+")
    term.keys("g")
    copied(term, FIRST)

    # sort: by name, reversed, then by state, then back to the default order
    term.keys("o")
    term.wait_for(r"sorted by name ▲")
    term.wait_for(r"Name ▲")
    term.keys("O")
    screen = term.wait_for(r"sorted by name ▼")
    lines = screen.splitlines()
    header = next(i for i, line in enumerate(lines) if "Name ▼" in line)
    shown = [m.group(1) for line in lines[header + 1:header + 5]
             if (m := re.match(r"[\s│]*([a-z]+_(\d+)_\d+)", line))]
    numbers = [int(name.split("_")[1]) for name in shown]
    assert len(shown) >= 3 and numbers == sorted(numbers, reverse=True), screen
    term.keys("o")
    term.wait_for(r"sorted by state ▲")
    term.wait_for(r"State ▲")
    for _ in range(4):  # reseller, owner number, profile, none
        term.keys("o")
    term.wait_for(lambda s: "sorted" not in title(s)
                  and re.search(r"Name\s+Reseller\s+State\s", s) is not None)

    # filter: typed in the box, kept with enter, cleared with esc
    term.keys("/")
    term.keys("zaplink", literal=True)
    term.keys("Enter")
    term.wait_for(r"instances \(10/36\) · filter: zaplink")
    term.keys("Escape")
    term.wait_for(lambda s: "filter:" not in s and "instances (36)" in s)

    # marks: two, then unmark all; all, then unmark all
    term.keys("Space", "Space")
    term.wait_for(r"\b2 marked")
    term.keys("u")
    term.wait_for(r"unmarked 2 rows")
    term.wait_for(lambda s: "2 marked" not in s)
    term.keys("*")
    term.wait_for(r"\b36 marked")
    term.keys("u")
    term.wait_for(r"unmarked 36 rows")

    # a key on the wrong row says why, in one line
    term.keys("g", "a")
    term.wait_for(r"adopt works on an")

    # help: keys as typed, grouped; it scrolls to its last line
    term.keys("?")
    screen = term.wait_for(r"evodash keys")
    assert "Navigation" in screen and re.search(r"\bj\s+Down\s+\(down\)", screen), screen
    assert re.search(r"/\s+Filter\s+\(filter\)", screen), screen
    assert "slash" not in screen and "question_mark" not in screen
    term.keys("G")
    term.wait_for(r"binding id \(in parentheses\) in the settings' keymap")
    term.keys("Escape")
    term.wait_for(lambda s: "evodash keys" not in s)

    # delete the first row, confirmed with y
    term.keys("g", "C-d")
    term.wait_for(rf"Delete {FIRST}\?")
    term.keys("y")
    term.wait_for(r"removed 1", 30)
    term.wait_for(r"inst(ances)? 35\b", 20)

    term.keys("q")
    term.wait_for(r"EVODASH-EXITED 0", 20)


def test_keys_typed_before_the_dashboard_is_up_are_not_lost(tmux):
    term = tmux(80, 24)
    term.keys("/zaplink", literal=True)  # at once: evodash is still starting
    term.keys("Enter")
    term.wait_for(LOADED, 60)
    term.wait_for(r"instances \(10/36\) · filter: zaplink")
    term.keys("q")
    term.wait_for(r"EVODASH-EXITED 0", 20)


def test_the_dashboard_takes_a_reseller_by_name(tmux):
    """`--reseller` by name (case and accents ignored) scopes the dashboard to that
    reseller's id, as it does for every command; an unknown one still opens, with the
    warning in the header and no mutation."""
    term = tmux(160, 45, "--reseller 'maria pena aguas'")
    screen = term.wait_for(r"mariapenaa_\d+_\d+", timeout=40)
    assert "scope María Peña-Águas" in screen and "unknown reseller" not in screen
    assert "fabiotelec_" not in screen  # another tenant's rows are not shown
    term.keys("q")
    other = tmux(160, 45, "--reseller nobody-at-all")
    assert "unknown reseller" in other.wait_for("unknown reseller", timeout=40)
