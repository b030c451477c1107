"""A log file in the data dir, for bug reports."""
from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from . import paths

_done = False


def path() -> Path:
    return paths.log_path()


def setup(level: int = logging.INFO) -> None:
    global _done
    if _done:
        return
    _done = True
    logger = logging.getLogger("genloom")
    logger.setLevel(level)
    try:
        handler = RotatingFileHandler(path(), maxBytes=2_000_000, backupCount=2, encoding="utf-8")
    except OSError:
        return  # an unwritable data dir must not stop the app; errors still reach the user
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
