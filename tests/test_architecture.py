"""Dependency rules: the core never imports Qt, desktop or torch; families don't import each other."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("gan", "vae", "llm", "diffusion")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def core_files():
    return [p for p in (ROOT / "models").rglob("*.py") if "zoo" not in p.relative_to(ROOT / "models").parts]


def test_core_never_imports_qt_desktop_or_torch():
    bad = []
    for path in core_files():
        for name in imports_of(path):
            top = name.split(".")[0]
            if top in {"PySide6", "PyQt5", "PyQt6", "desktop", "torch"}:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, bad


def test_families_do_not_import_each_other():
    bad = []
    for family in FAMILIES:
        for path in (ROOT / "models" / family).rglob("*.py"):
            for name in imports_of(path):
                parts = name.split(".")
                if parts[0] == "models" and len(parts) > 1 and parts[1] in FAMILIES and parts[1] != family:
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, bad


def test_panels_do_not_import_onnxruntime():
    bad = [str(p.relative_to(ROOT)) for p in (ROOT / "desktop").rglob("*.py")
           if any(n.split(".")[0] == "onnxruntime" for n in imports_of(p)) and p.name not in {"dialogs.py"}]
    assert not bad, bad


def test_running_the_core_loads_no_qt():
    """Import every core module and run the CLI's doctor and gallery paths; PySide6 must stay unloaded."""
    code = """
import importlib, pkgutil, sys
import models
for info in pkgutil.walk_packages(models.__path__, 'models.'):
    if '.zoo' in info.name:
        continue
    importlib.import_module(info.name)
from models.cli.main import main
assert main(['doctor', '--json']) == 0
assert main(['gallery', 'list', '--json']) == 0
bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'desktop', 'torch', 'shiboken6'))
print('LOADED', bad)
assert not bad, bad
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LOADED []" in done.stdout
