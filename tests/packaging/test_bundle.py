"""The Linux bundle: build it, unpack the tarball, and run the packed app headless (window + CLI face).

Slow (a PyInstaller build: minutes, plus the build venv the first time): runs only with GENLOOM_RUN_SLOW=1.
GENLOOM_BUNDLE_TARBALL=path tests an already built tarball instead of building one.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the bundle script is for Linux")]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    """The unpacked `genloom/` folder of the built tarball."""
    tarball = os.environ.get("GENLOOM_BUNDLE_TARBALL")
    if not tarball:
        start = time.perf_counter()
        done = subprocess.run(["bash", str(ROOT / "packaging" / "build_linux.sh")], cwd=ROOT,
                              capture_output=True, text=True, timeout=3600)
        assert done.returncode == 0, f"build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        print(f"bundle built in {time.perf_counter() - start:.0f} s")
        tarball = ROOT / "dist" / f"genloom-linux-{platform.machine()}.tar.gz"
    target = tmp_path_factory.mktemp("unpacked")
    with tarfile.open(tarball) as archive:
        archive.extractall(target, filter="tar")
    return target / "genloom"


def clean_env(tmp: Path, **extra) -> dict:
    """An environment that cannot reach the checkout's Python: only the bundle's own files are used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "GENLOOM_"))}
    env.update(GENLOOM_HOME=str(tmp / "home"), XDG_DATA_HOME=str(tmp / "xdg"), HOME=str(tmp), **extra)
    return env


def test_bundle_layout_is_trimmed(bundle):
    files = [p for p in bundle.rglob("*") if p.is_file()]
    names = [p.name for p in files]
    assert (bundle / "genloom").is_file() and os.access(bundle / "genloom", os.X_OK)
    assert (bundle / "install.sh").is_file()
    assert (bundle / "_internal" / "resources" / "models" / "faces-dcgan" / "genloom.json").is_file()
    assert (bundle / "_internal" / "resources" / "genloom.desktop").is_file()
    assert not [n for n in names if n.startswith(("libQt6Quick", "libQt6Qml", "libQt6Pdf", "libQt6WebEngine", "libQt6EglFs"))]
    assert not [p for p in files if "translations" in p.parts]
    assert not [n for n in names if n.startswith("libonnxruntime_providers_tensorrt")]
    assert not [p for p in files if "tests" in p.parts or "screenshots" in p.parts]
    assert not [n for n in names if n.startswith(("libtorch", "libc10", "libgtk-3", "libqgtk3"))]


def test_bundled_window_is_shown_headless(bundle, tmp_path):
    env = clean_env(tmp_path, QT_QPA_PLATFORM="offscreen", GENLOOM_SMOKE="1")
    done = subprocess.run([str(bundle / "genloom")], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "window shown" in done.stdout.splitlines()


def test_bundled_cli_generates_a_face(bundle, tmp_path):
    out = tmp_path / "faces"
    command = [str(bundle / "genloom"), "faces", "--seed", "1", "--count", "1", "--json", "--out", str(out)]
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        command = ["unshare", "-rn", *command]  # no network at all: a loopback-only namespace
    done = subprocess.run(command, cwd=tmp_path, env=clean_env(tmp_path), capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    pngs = sorted(out.glob("*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result["model"] == "faces-dcgan"


def test_bundle_install_script_adds_and_removes_the_menu_entry(bundle, tmp_path):
    probe = subprocess.run([str(bundle / "genloom"), "install-desktop-entry", "--help"], capture_output=True,
                           text=True, env=clean_env(tmp_path), timeout=120)
    if probe.returncode != 0:
        pytest.skip("this build's CLI has no install-desktop-entry command (models.cli.main.COMMANDS)")
    env = clean_env(tmp_path, GENLOOM_BIN_DIR=str(tmp_path / "bin"))
    done = subprocess.run([str(bundle / "install.sh")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    entry = tmp_path / "xdg" / "applications" / "genloom.desktop"
    assert f"Exec={(bundle / 'genloom').resolve()}" in entry.read_text().splitlines()
    assert (tmp_path / "xdg" / "icons" / "hicolor" / "256x256" / "apps" / "genloom.png").is_file()
    assert (tmp_path / "bin" / "genloom").resolve() == (bundle / "genloom").resolve()
    done = subprocess.run([str(bundle / "install.sh"), "--uninstall"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert not entry.exists() and not (tmp_path / "bin" / "genloom").exists()
    assert not list((tmp_path / "xdg").rglob("genloom*"))
