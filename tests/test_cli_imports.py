"""The modules of `tui/cli/` import each other without a circle (the exit codes live in
`tui/cli/exits.py`, which imports nothing of the CLI). Read from the source with `ast`, so a
lazy import inside a function counts: `main` imports `commands` only inside `main()`, and
that was half of the circle `commands` closed by importing the exit codes from `main`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tui"
PACKAGE = "tui.cli"


def cli_modules(root: Path) -> dict[str, Path]:
    out = {}
    for path in sorted((root / "cli").rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The modules an import statement of `module` names (absolute, relative, and
    `from package import submodule`)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
        base = ".".join([*anchor, *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph(root: Path) -> dict[str, set[str]]:
    """tui.cli module -> the tui.cli modules it imports (at module level or lazily)."""
    mods = cli_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in imported(node, name, path.name == "__init__.py"):
                    if target in mods and target != name:
                        graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle per strongly connected group of more than one module (or a self-loop),
    as the path that closes it."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_cli_modules_form_no_import_cycle():
    graph = import_graph(ROOT)
    assert {"tui.cli.main", "tui.cli.commands", "tui.cli.exits"} <= set(graph)
    assert graph["tui.cli.main"] >= {"tui.cli.commands", "tui.cli.dashboard"}  # (lazy ones)
    assert [" -> ".join(c) for c in cycles(graph)] == []


def test_the_exit_codes_import_nothing_of_the_cli():
    assert import_graph(ROOT)["tui.cli.exits"] == set()


@pytest.mark.parametrize("importer, statement", [
    ("commands.py", "from tui.cli.main import EXIT_OK\n"),  # the old circle
    ("doctor.py", "from .main import EXIT_OK\n"),
    ("exits.py", "def f():\n    from tui.cli import doctor\n"),
])
def test_the_cycle_check_catches_a_circle(tmp_path, importer, statement):
    fake = tmp_path / "tui"
    for name, path in cli_modules(ROOT).items():
        target = fake / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    bad = fake / "cli" / importer
    bad.write_text(bad.read_text() + statement)
    assert cycles(import_graph(fake)) != []

