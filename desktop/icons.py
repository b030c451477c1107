"""Icons from resources/icons (SVG, so they stay crisp on HiDPI screens)."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtGui import QIcon

from models.runtime import paths


def icon_path(name: str) -> str:
    return str(paths.resources_dir() / "icons" / f"{name}.svg")


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    return QIcon(icon_path(name))


def app_icon() -> QIcon:
    return icon("genloom")


def panel_icon(key: str) -> QIcon:
    return icon(key)
