"""`genloom install-desktop-entry`: XDG files written with the right Exec, and removed exactly by --uninstall."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from models.cli import desktop_entry
from models.cli.main import OneLineParser
from models.runtime.errors import StorageError

SIZES = desktop_entry.ICON_SIZES


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    root = tmp_path / "xdg-data"
    monkeypatch.setenv("XDG_DATA_HOME", str(root))
    return root


def parse(*argv):
    parser = OneLineParser(prog="genloom")
    subs = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    desktop_entry.register(subs)
    return parser.parse_args(list(argv))


def entry_keys(path: Path) -> dict:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def test_install_writes_entry_and_every_icon(xdg, capsys):
    args = parse("install-desktop-entry", "--json")
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    entry = xdg / "applications" / "genloom.desktop"
    icons = [xdg / "icons" / "hicolor" / f"{n}x{n}" / "apps" / "genloom.png" for n in SIZES]
    svg = xdg / "icons" / "hicolor" / "scalable" / "apps" / "genloom.svg"
    assert report["files"] == [str(p) for p in [entry, *icons, svg]]
    keys = entry_keys(entry)
    assert keys["Type"] == "Application" and keys["Name"] == "Genloom" and keys["Icon"] == "genloom"
    assert keys["Terminal"] == "false" and keys["StartupWMClass"] == "genloom"
    assert keys["Categories"] == "Graphics;Development;"
    assert keys["Exec"].split(" ")[0] == report["exec"][0] and Path(report["exec"][0]).is_absolute()
    for n, icon in zip(SIZES, icons):
        data = icon.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert (width, height) == (n, n)
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert not list(xdg.rglob("*.tmp"))


def test_uninstall_removes_exactly_those_files(xdg, capsys):
    other = xdg / "applications" / "someone-else.desktop"
    other.parent.mkdir(parents=True)
    other.write_text("[Desktop Entry]\nName=Other\n")
    desktop_entry.install()
    args = parse("install-desktop-entry", "--uninstall", "--json")
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["files"]) == 1 + len(SIZES) + 1
    assert not list(xdg.rglob("genloom*"))
    assert other.read_text().startswith("[Desktop Entry]")  # nothing else touched
    assert desktop_entry.uninstall()["files"] == []  # a second uninstall is a no-op


def test_install_is_idempotent(xdg):
    first = desktop_entry.install()
    second = desktop_entry.install()
    assert first["files"] == second["files"]
    assert len(list((xdg / "applications").iterdir())) == 1


def test_exec_quotes_paths_with_spaces(xdg):
    command = ["/opt/My Apps/genloom 1.0/genloom", "--x=$HOME"]
    desktop_entry.install(command=command)
    exec_line = entry_keys(xdg / "applications" / "genloom.desktop")["Exec"]
    assert exec_line == '"/opt/My Apps/genloom 1.0/genloom" "--x=\\$HOME"'
    assert desktop_entry.quote_exec("50%") == "50%%"


def test_frozen_bundle_points_at_its_executable(monkeypatch, tmp_path):
    exe = tmp_path / "bundle" / "genloom"
    exe.parent.mkdir()
    exe.write_text("")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert desktop_entry.launch_command() == [str(exe.resolve())]


def test_checkout_fallback_runs_python_module_in_the_source_folder(xdg, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["-c"])
    monkeypatch.setattr(desktop_entry.shutil, "which", lambda name: None)
    command = desktop_entry.launch_command()
    # the venv's python symlink is kept: resolving it would start the base python without the venv's packages
    assert command == [os.path.abspath(sys.executable), "-m", "desktop.main"]
    desktop_entry.install(command=command)
    keys = entry_keys(xdg / "applications" / "genloom.desktop")
    assert (Path(keys["Path"]) / "desktop" / "main.py").is_file()


def test_relative_xdg_data_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert desktop_entry.data_home() == tmp_path / ".local" / "share"


def test_unwritable_target_is_one_line_storage_error(xdg):
    xdg.mkdir(parents=True)
    (xdg / "applications").write_text("a file where a folder should be")
    with pytest.raises(StorageError) as info:
        desktop_entry.install()
    assert "\n" not in str(info.value) and "desktop entry" in str(info.value)
