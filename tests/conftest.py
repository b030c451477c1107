"""Shared fixtures: every test gets its own GENLOOM_HOME; Qt runs offscreen."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GENLOOM_SKIP_FIRST_RUN", "1")
os.environ.setdefault("GENLOOM_ALLOW_MULTIPLE", "1")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def genloom_home(tmp_path, monkeypatch):
    home = tmp_path / "genloom-home"
    monkeypatch.setenv("GENLOOM_HOME", str(home))
    from models.runtime import providers

    providers.resolve.cache_clear()
    yield home
    providers.resolve.cache_clear()


def run_cli(*args, env=None, timeout=300):
    """Run `genloom ARGS` in a subprocess; returns CompletedProcess with text output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "desktop.main", *map(str, args)], cwd=ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("GENLOOM_RUN_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set GENLOOM_RUN_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
