"""Settings stored as one JSON file in the data dir (per-panel sections). Written atomically."""
from __future__ import annotations

import json
import os
from pathlib import Path

from . import paths

DEFAULTS = {"provider": "auto", "threads": 0, "theme": "system"}


def load(path: Path | None = None) -> dict:
    path = path or paths.settings_path()
    data = dict(DEFAULTS)
    try:
        stored = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(stored, dict):
            data.update(stored)
    except (OSError, ValueError):
        pass  # a missing or damaged settings file falls back to defaults
    return data


def save(data: dict, path: Path | None = None) -> None:
    path = Path(path or paths.settings_path())
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
