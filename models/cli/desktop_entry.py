"""`genloom install-desktop-entry [--uninstall]`: put Genloom in the desktop's application menu (XDG).

Writes `applications/genloom.desktop` and the icons (`icons/hicolor/<n>x<n>/apps/genloom.png`,
`icons/hicolor/scalable/apps/genloom.svg`) under `$XDG_DATA_HOME` (default `~/.local/share`), with `Exec`
pointing at the `genloom` that is running now: the bundle's executable, the pipx/pip script, or
`python -m desktop.main` from a checkout. `--uninstall` removes exactly those files. No Qt here.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from models.runtime import paths
from models.runtime.errors import StorageError

from .common import print_json

APP_ID = "genloom"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
_EXEC_RESERVED = set(' \t\n"\'\\><~|&;$*?#()`')


@dataclass(frozen=True)
class Placement:
    """One file Genloom installs: where it comes from (None = generated) and where it goes."""

    source: Path | None
    target: Path


def data_home() -> Path:
    """`$XDG_DATA_HOME`, or `~/.local/share` when it is unset or not absolute (as the XDG spec says)."""
    env = os.environ.get("XDG_DATA_HOME", "")
    return Path(env) if env and os.path.isabs(env) else Path.home() / ".local" / "share"


def entry_path(root: Path | None = None) -> Path:
    return (root or data_home()) / "applications" / f"{APP_ID}.desktop"


def placements(root: Path | None = None) -> list[Placement]:
    """Every file install writes, in order: the entry, then the PNG icons, then the scalable SVG."""
    root = root or data_home()
    icons = paths.resources_dir() / "icons"
    hicolor = root / "icons" / "hicolor"
    files = [Placement(None, entry_path(root))]
    files += [Placement(icons / "png" / f"{APP_ID}-{n}.png", hicolor / f"{n}x{n}" / "apps" / f"{APP_ID}.png")
              for n in ICON_SIZES]
    files.append(Placement(icons / f"{APP_ID}.svg", hicolor / "scalable" / "apps" / f"{APP_ID}.svg"))
    return files


def launch_command() -> list[str]:
    """The command that starts this Genloom: frozen executable, the `genloom` script, or python -m
    (the last one runs in the folder holding the `desktop` package; see `entry_text`)."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 and argv0.name.startswith(APP_ID) and argv0.suffix != ".py" and argv0.is_file():
        return [str(argv0.resolve())]
    found = shutil.which(APP_ID)
    if found:
        return [str(Path(found).resolve())]
    # not resolved: a venv's python is a symlink to the base interpreter, which lacks the venv's packages
    return [os.path.abspath(sys.executable), "-m", "desktop.main"]


def quote_exec(arg: str) -> str:
    """Quote one argument for a desktop entry's Exec key (spec: double quotes, escape \" ` $ \\; % as %%)."""
    arg = arg.replace("%", "%%")
    if not any(ch in _EXEC_RESERVED for ch in arg):
        return arg
    escaped = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
    return f'"{escaped}"'


def entry_text(command: list[str]) -> str:
    """The bundled genloom.desktop with Exec/TryExec pointing at `command`."""
    template = paths.resources_dir() / f"{APP_ID}.desktop"
    try:
        lines = template.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StorageError(f"Genloom's desktop entry template is missing ({template}): {exc.strerror or exc}") from None
    exec_line = " ".join(quote_exec(part) for part in command)
    out = []
    for line in lines:
        if line.startswith("Exec="):
            line = f"Exec={exec_line}"
            if command[1:3] == ["-m", "desktop.main"]:  # a checkout: start where `desktop` is importable
                out.append(line)
                line = f"Path={Path(__file__).resolve().parents[2]}"
        elif line.startswith("TryExec="):
            line = f"TryExec={command[0]}"
        out.append(line)
    return "\n".join(out) + "\n"


def install(root: Path | None = None, command: list[str] | None = None) -> dict:
    """Write the entry and icons; returns {"action", "exec", "files"}."""
    command = command or launch_command()
    files = placements(root)
    missing = [str(p.source) for p in files if p.source is not None and not p.source.is_file()]
    if missing:
        raise StorageError(f"Genloom's icon files are missing: {missing[0]}")
    written = []
    try:
        for item in files:
            item.target.parent.mkdir(parents=True, exist_ok=True)
            tmp = item.target.with_name(item.target.name + ".tmp")
            if item.source is None:
                tmp.write_text(entry_text(command), encoding="utf-8")
                tmp.chmod(0o755)  # some desktops only trust executable entries
            else:
                shutil.copyfile(item.source, tmp)
            tmp.replace(item.target)
            written.append(str(item.target))
    except OSError as exc:
        raise StorageError(f"Could not write the desktop entry: {exc.strerror or exc} ({exc.filename})") from None
    _refresh_menu(entry_path(root).parent)
    return {"action": "install", "exec": command, "files": written}


def uninstall(root: Path | None = None) -> dict:
    """Remove exactly the files install writes (those present); returns {"action", "files"}."""
    removed = []
    try:
        for item in placements(root):
            if item.target.is_file() or item.target.is_symlink():
                item.target.unlink()
                removed.append(str(item.target))
    except OSError as exc:
        raise StorageError(f"Could not remove the desktop entry: {exc.strerror or exc} ({exc.filename})") from None
    _refresh_menu(entry_path(root).parent)
    return {"action": "uninstall", "files": removed}


def _refresh_menu(applications: Path) -> None:
    """Ask the desktop to re-read the menu when its tool is installed; menus also notice on their own."""
    tool = shutil.which("update-desktop-database")
    if tool and applications.is_dir():
        try:
            subprocess.run([tool, "-q", str(applications)], capture_output=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            pass


def register(subs) -> None:
    parser = subs.add_parser("install-desktop-entry",
                             help="add Genloom to the desktop's application menu (XDG), or remove it")
    parser.add_argument("--uninstall", action="store_true", help="remove the entry and icons instead")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args) -> int:
    result = uninstall() if args.uninstall else install()
    if args.json:
        print_json(result)
    elif args.uninstall:
        print(f"Removed {len(result['files'])} file(s) from {data_home()}.")
    else:
        print(f"Installed the Genloom menu entry: {result['files'][0]}")
        print(f"It starts: {' '.join(result['exec'])}")
    return 0
