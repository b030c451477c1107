"""Where Genloom keeps its data. GENLOOM_HOME overrides the platformdirs user data dir."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP = "genloom"


def home() -> Path:
    env = os.environ.get("GENLOOM_HOME")
    root = Path(env).expanduser() if env else Path(platformdirs.user_data_dir(APP, appauthor=False))
    root.mkdir(parents=True, exist_ok=True)
    return root


def models_dir() -> Path:
    return _sub("models")


def gallery_dir() -> Path:
    return _sub("gallery")


def downloads_dir() -> Path:
    return _sub("downloads")


def settings_path() -> Path:
    return home() / "settings.json"


def log_path() -> Path:
    return _sub("logs") / "genloom.log"


def resources_dir() -> Path:
    """The bundled resources folder, in a checkout, a wheel or a PyInstaller bundle."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def bundled_models_dir() -> Path:
    return resources_dir() / "models"


def _sub(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path
