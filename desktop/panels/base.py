"""What every panel shares: the services it talks to and the hooks the main window calls."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtWidgets import QWidget

from desktop.worker import InferenceWorker
from models.gallery.store import GalleryStore
from models.runtime.registry import Registry


@dataclass
class Services:
    """Handed to every panel by the main window."""

    worker: InferenceWorker
    registry: Registry
    gallery: GalleryStore  # GUI-thread connection, for reading and small updates only
    settings: dict
    notify: Callable[[str, str], None]  # (text, level: "info" | "error")
    reuse: Callable[[str, dict], None]  # (gallery kind, params): open the panel that made it
    item_saved: Callable[[list], None]  # gallery ids just saved by a job


class Panel(QWidget):
    """Base class: `key` names the gallery kind(s) it owns; hooks default to doing nothing visible."""

    key = ""
    title = ""
    kinds: tuple[str, ...] = ()

    def __init__(self, services: Services, parent=None):
        super().__init__(parent)
        self.services = services

    # Hooks used by the main window's shortcuts, drag and drop and "reuse settings".
    def generate(self) -> None:
        """Ctrl+Enter."""

    def save_current(self) -> bool:
        """Ctrl+S: save/export what is shown; return False if there is nothing to save."""
        return False

    def apply_params(self, params: dict) -> None:
        """Restore the controls from a saved request's parameters."""

    def accepts_image_drop(self) -> bool:
        return False

    def handle_image_drop(self, path: Path) -> None:
        """A plain image (without Genloom metadata) was dropped while this panel is shown."""

    def store_settings(self) -> dict:
        """Values to remember between runs."""
        return {}

    def restore_settings(self, values: dict) -> None:
        """Apply remembered values."""

    def on_shown(self) -> None:
        """The panel became the visible one."""
