"""Sizes a newcomer can hold, and no decision taken on words.

* No class in `tui/lifecycle` over 300 lines, no function over 60.
* Nowhere in `tui/` does control flow read a reason's text (`"cancelled" in result.reason`,
  `target.skip_reason == ...`): skips and outcomes are enums (`tui.lifecycle.domain`), and
  their words are made at the edges.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tui"
LIFECYCLE = sorted((ROOT / "lifecycle").rglob("*.py"))
TEXT_ATTRS = {"reason", "skip_reason", "detail", "stop_reason"}


def _span(node: ast.AST) -> int:
    return int(getattr(node, "end_lineno", 0)) - int(getattr(node, "lineno", 0)) + 1


@pytest.mark.parametrize("path", LIFECYCLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_lifecycle_classes_and_functions_are_small(path: Path):
    tree = ast.parse(path.read_text())
    too_big = [(n.name, _span(n)) for n in ast.walk(tree)
               if (isinstance(n, ast.ClassDef) and _span(n) > 300)
               or (isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and _span(n) > 60)]
    assert too_big == []


def _reads_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr in TEXT_ATTRS


def decisions_on_words(source: str) -> list[int]:
    """Lines where an `if` / `while` / comprehension condition compares a reason's text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        tests: list[ast.expr] = []
        if isinstance(node, (ast.If, ast.While, ast.IfExp, ast.Assert)):
            tests.append(node.test)
        elif isinstance(node, ast.comprehension):
            tests += node.ifs
        for test in tests:
            for sub in ast.walk(test):
                if isinstance(sub, ast.Compare) and any(
                        _reads_text(x) for x in [sub.left, *sub.comparators]) and any(
                        isinstance(x, ast.Constant) and isinstance(x.value, str)
                        for x in [sub.left, *sub.comparators]):
                    found.append(sub.lineno)
    return found


def test_no_control_flow_reads_a_reason_text():
    offenders = {str(p.relative_to(ROOT)): lines for p in sorted(ROOT.rglob("*.py"))
                 if (lines := decisions_on_words(p.read_text()))}
    assert offenders == {}


def test_the_word_check_can_fail():
    assert decisions_on_words('if "cancelled" in t.reason:\n    pass\n') == [1]
    assert decisions_on_words('x = [t for t in ts if t.skip_reason == "nope"]\n') == [1]
    assert decisions_on_words('if t.skip is not None:\n    pass\n') == []
