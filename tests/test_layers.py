"""The documented layers hold: settings → Evolution client / connection store →
reconciliation → lifecycle → dashboard / CLI. A module may import its own package and the
layers below it, never one above; nothing but the dashboard (and the CLI that starts it)
imports Textual. Read from the source with `ast`, so a lazy import inside a function counts.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tui"

# package -> layer; lower numbers are lower layers
LAYERS = {
    "tui.secrets": 0, "tui.settings": 0, "tui.text": 0, "tui.qrtext": 0,
    "tui.evolution": 1, "tui.store": 1,
    "tui.reconcile": 2,
    "tui.lifecycle": 3,
    "tui.app": 4, "tui.cli": 5, "tui.demo": 5,
}
# the simulator is a separate tool (a model of the server): it may use only the shared
# helpers, and nothing of evodash's own layers may use it, except the demo and the CLI
# that start it
# the simulator stands alone but for masking and the one enum that names a dialect (the
# vocabulary it shares with the client; `tui/evolution/dialect.py` imports nothing of evodash)
STANDALONE = {"tui.simulator": {"tui.secrets", "tui.evolution.dialect"}}
MAY_IMPORT_SIMULATOR = {"tui.demo", "tui.cli"}
TEXTUAL_ALLOWED = {"tui.app", "tui.cli"}


def package_of(module: str) -> str | None:
    for package in (*LAYERS, *STANDALONE):
        if module == package or module.startswith(package + "."):
            return package
    return None


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
    return out


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out.append((name, path))
    return out


def violations() -> list[str]:
    found = []
    for name, path in modules():
        mine = package_of(name)
        if mine is None:
            continue
        for line, target in imports(path):
            where = f"{path.relative_to(ROOT.parent)}:{line} imports {target}"
            if target.split(".")[0] == "textual" and mine not in TEXTUAL_ALLOWED:
                found.append(f"{where} (only the dashboard imports Textual)")
            theirs = package_of(target)
            if theirs is None or theirs == mine:
                continue
            if mine in STANDALONE:
                if theirs not in STANDALONE[mine] and target not in STANDALONE[mine]:
                    found.append(f"{where} (the simulator stands alone)")
            elif theirs in STANDALONE:
                if mine not in MAY_IMPORT_SIMULATOR:
                    found.append(f"{where} (only the demo and the CLI start the simulator)")
            elif LAYERS[theirs] > LAYERS[mine]:
                found.append(f"{where} (an upward import: {mine} is below {theirs})")
    return found


def test_no_module_imports_across_the_layers():
    assert violations() == []


@pytest.mark.parametrize("source, expected", [
    ("tui/lifecycle/x.py", "import textual\n"),
    ("tui/store/x.py", "from tui.lifecycle.service import LifecycleService\n"),
    ("tui/evolution/x.py", "from tui.simulator.server import Simulator\n"),
    ("tui/simulator/x.py", "from tui.evolution.client import EvolutionClient\n"),
])
def test_the_layer_check_catches_a_violation(tmp_path, monkeypatch, source, expected):
    fake = tmp_path / "tui"
    for name, path in modules():
        target = fake / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    bad = tmp_path / source
    bad.write_text(expected)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake)
    assert len(violations()) == 1
