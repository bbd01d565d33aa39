"""Private Textual APIs are used from one module, `tui/app/textual_private.py` (each behind a
function that says why, checked on the pinned Textual). Anywhere else in `tui/app/` this
fails on: an import of a private Textual module or name (`textual._two_way_dict`,
`textual.widgets._data_table`), an attribute access to a private name Textual defines that
the dashboard does not define itself (`app._keymap`, `screen._modal_binding_chain`,
`table._clear_caches()`, `super()._update_dimensions(...)`), and an override of a private
Textual method or property that `textual_private`'s docstring does not list.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import version
from pathlib import Path

import pytest
import textual

ROOT = Path(__file__).resolve().parents[1] / "tui"
ALLOWED = {"tui/app/textual_private.py"}
#: private Textual methods / properties overridden in a subclass (Textual calls them by
#: name), listed with their reason in tui/app/textual_private.py's docstring
OVERRIDES = {"tui/app/widgets/panes.py": {"KeyedTable._update_dimensions"},
             "tui/app/widgets/checkbox.py": {"TextCheckbox._button"}}
ALWAYS_PRIVATE = {"_keymap", "_modal_binding_chain"}
DEF = re.compile(r"\bdef (_[A-Za-z]\w*)")
SELF_SET = re.compile(r"\bself\.(_[A-Za-z]\w*)\s*(?::[^=\n]*)?=(?!=)")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@cache
def textual_private_names() -> set[str]:
    """Every `_name` Textual defines: methods, functions, attributes set on `self`."""
    found: set[str] = set()
    for path in Path(textual.__file__).parent.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found.update(m.group(1) for m in DEF.finditer(text))
        found.update(m.group(1) for m in SELF_SET.finditer(text))
    return {name for name in found if _private(name)}


@cache
def class_privates(cls: type) -> frozenset[str]:
    """The private names one Textual class defines: its members, the attributes it sets."""
    return frozenset({member for member in cls.__dict__ if _private(member)}
                     | {m.group(1) for m in SELF_SET.finditer(inspect.getsource(cls))})


def app_modules(root: Path) -> list[tuple[str, ast.Module]]:
    return [(path.relative_to(root.parent).as_posix(),
             ast.parse(path.read_text(), filename=str(path)))
            for path in sorted((root / "app").rglob("*.py"))]


@cache
def inherited_privates() -> dict[tuple[str, str], set[str]]:
    """(module path, class name) of each `tui/app/` class built on Textual -> the private
    names its Textual bases define (class members, and attributes their source sets on
    `self`)."""
    found: dict[tuple[str, str], set[str]] = {}
    for rel, _tree in app_modules(ROOT):
        module = importlib.import_module(rel.removesuffix(".py").removesuffix("/__init__")
                                         .replace("/", "."))
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            names: set[str] = set()
            for base in cls.__mro__[1:]:
                if base.__module__.split(".")[0] != "textual":
                    continue
                names |= class_privates(base)
            if names:
                found[(rel, name)] = names
    return found


def own_names(trees: list[tuple[str, ast.Module]]) -> set[str]:
    """The private names the dashboard defines itself: not one its Textual bases define."""
    names: set[str] = set()
    for _rel, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if (isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name)
                            and target.value.id == "self"):
                        names.add(target.attr)
                    elif isinstance(target, ast.Name):
                        names.add(target.id)
    inherited = set().union(*inherited_privates().values())
    return {name for name in names if _private(name)} - inherited


def static_violations(root: Path) -> list[str]:
    trees = app_modules(root)
    forbidden = (textual_private_names() - own_names(trees)) | ALWAYS_PRIVATE
    found = []
    for rel, tree in trees:
        if rel in ALLOWED:
            continue
        for node in ast.walk(tree):
            where = f"{rel}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Import):
                for alias in node.names:
                    parts = alias.name.split(".")
                    if parts[0] == "textual" and any(_private(p) for p in parts):
                        found.append(f"{where} imports {alias.name}")
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                parts = node.module.split(".")
                if parts[0] == "textual" and (any(_private(p) for p in parts) or any(
                        _private(alias.name) for alias in node.names)):
                    found.append(f"{where} imports from {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr in forbidden:
                found.append(f"{where} uses .{node.attr}")
    return found


def overrides_found() -> dict[str, set[str]]:
    """Private members of Textual's classes that a class of `tui/app/` redefines in its
    body (a method, a property, a class attribute)."""
    inherited = inherited_privates()
    found: dict[str, set[str]] = {}
    for rel, tree in app_modules(ROOT):
        for node in tree.body:
            if not isinstance(node, ast.ClassDef) or (rel, node.name) not in inherited:
                continue
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members = [item.name]
                elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    members = [t.id for t in targets if isinstance(t, ast.Name)]
                else:
                    continue
                for member in members:
                    if member in inherited[(rel, node.name)]:
                        found.setdefault(rel, set()).add(f"{node.name}.{member}")
    return found


def test_no_module_but_textual_private_uses_private_textual_apis():
    assert static_violations(ROOT) == []


def test_overrides_of_private_textual_members_are_the_listed_ones():
    assert overrides_found() == OVERRIDES
    doc = sys.modules["tui.app.textual_private"].__doc__ or ""
    for rel, quals in OVERRIDES.items():
        for qual in quals:
            assert f"`{qual}` ({rel})" in doc


def test_the_private_apis_were_checked_on_the_pinned_textual():
    from tui.app.textual_private import TEXTUAL_CHECKED

    pyproject = tomllib.loads((ROOT.parent / "pyproject.toml").read_text())
    assert f"textual=={TEXTUAL_CHECKED}" in pyproject["project"]["dependencies"]
    assert version("textual") == TEXTUAL_CHECKED, (
        "Textual moved: re-check every function of tui/app/textual_private.py, then update "
        "TEXTUAL_CHECKED")


@pytest.mark.parametrize("source, line", [
    ("tui/app/screens/help.py", "from textual._two_way_dict import TwoWayDict\n"),
    ("tui/app/screens/help.py", "import textual.widgets._data_table\n"),
    ("tui/app/screens/help.py", "def f(app):\n    return dict(app._keymap)\n"),
    ("tui/app/screens/help.py", "def f(screen):\n    return screen._modal_binding_chain\n"),
    ("tui/app/widgets/panes.py", "def f(table):\n    table._clear_caches()\n"),
    ("tui/app/widgets/panes.py", "class T:\n    def f(self):\n"
                                 "        super()._update_dimensions(())\n"),
])
def test_the_scan_catches_a_private_use(tmp_path, source, line):
    fake = tmp_path / "tui"
    for path in (ROOT / "app").rglob("*.py"):
        target = fake / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    bad = tmp_path / source
    bad.write_text(bad.read_text() + line)
    assert len(static_violations(fake)) == 1
