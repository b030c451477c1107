"""The main window: a sidebar of panels, a message bar, a status bar with the provider, drops, shortcuts."""
from __future__ import annotations

import importlib
import logging
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow, QProgressBar,
                               QStackedWidget, QVBoxLayout, QWidget)

from desktop import dialogs, icons
from desktop.panels.base import Panel, Services
from desktop.widgets.message_bar import MessageBar
from desktop.worker import InferenceWorker
from models.gallery import pngmeta
from models.gallery.store import GalleryStore
from models.runtime import providers, settings as settings_file
from models.runtime.errors import GenloomError, one_line
from models.runtime.registry import Registry

log = logging.getLogger("genloom.window")

# (module, class) of each panel, in sidebar order.
PANELS = [
    ("desktop.panels.chat_panel", "ChatPanel"),
    ("desktop.panels.image_panel", "ImagePanel"),
    ("desktop.panels.faces_panel", "FacesPanel"),
    ("desktop.panels.vae_panel", "VaePanel"),
    ("desktop.panels.gallery_panel", "GalleryPanel"),
]
MODEL_SUFFIXES = {".gguf", ".onnx"}


class MainWindow(QMainWindow):
    def __init__(self, provider: str | None = None):
        super().__init__()
        self.setWindowTitle("Genloom")
        self.setWindowIcon(icons.app_icon())
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self.settings = settings_file.load()
        self.provider = provider or self.settings.get("provider", "auto")
        self.worker = InferenceWorker(provider=self.provider)
        self.registry = Registry()
        self.gallery = GalleryStore()
        self.services = Services(self.worker, self.registry, self.gallery, self.settings, self.notify,
                                 self.reuse, self._on_items_saved)
        self.panels: dict[str, Panel] = {}
        self._build()
        self._wire_worker()
        self._shortcuts()
        self._restore()

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 0)
        self.message_bar = MessageBar()
        outer.addWidget(self.message_bar)
        row = QHBoxLayout()
        outer.addLayout(row, 1)
        self.sidebar = QListWidget()
        self.sidebar.setFixedWidth(150)
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setSpacing(2)
        self.stack = QStackedWidget()
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        for module_name, class_name in PANELS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:  # a panel left out of this build (e.g. a trimmed bundle)
                if exc.name != module_name:
                    raise
                log.warning("panel %s is not installed", module_name)
                continue
            panel_class = getattr(module, class_name)
            panel = panel_class(self.services)
            self.panels[panel.key] = panel
            item = QListWidgetItem(icons.panel_icon(panel.key), panel.title)
            item.setToolTip(panel.toolTip() or panel.title)
            self.sidebar.addItem(item)
            self.stack.addWidget(panel)
        self.sidebar.currentRowChanged.connect(self._on_panel_changed)
        self.setCentralWidget(central)

        status = self.statusBar()
        self.busy = QProgressBar()
        self.busy.setMaximumWidth(220)
        self.busy.setTextVisible(True)
        self.busy.hide()
        status.addPermanentWidget(self.busy)
        self.provider_label = QLabel()
        status.addPermanentWidget(self.provider_label)
        self.update_provider_label()

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self._action("Import model…", self.import_model_dialog, "Ctrl+I"))
        file_menu.addAction(self._action("Settings…", self.open_settings, "Ctrl+,"))
        file_menu.addSeparator()
        file_menu.addAction(self._action("Quit", self.close, "Ctrl+Q"))
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self._action("About Genloom", lambda: dialogs.AboutDialog(self).exec()))

    def _action(self, text, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        return action

    def _shortcuts(self) -> None:
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=lambda: self.current_panel().generate())
        QShortcut(QKeySequence("Escape"), self, activated=self.cancel_current)
        QShortcut(QKeySequence("Ctrl+S"), self, activated=self._save_current)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=self._focus_search)
        for index in range(len(PANELS)):
            QShortcut(QKeySequence(f"Ctrl+{index + 1}"), self, activated=lambda i=index: self.sidebar.setCurrentRow(i))

    def _wire_worker(self) -> None:
        self.worker.progress.connect(self._on_progress)
        self.worker.busy_changed.connect(self._on_busy_changed)
        self.worker.failed.connect(lambda _id, reason: self.notify(reason, "error"))

    # ---- panels --------------------------------------------------------------------------------
    def current_panel(self) -> Panel:
        return self.stack.currentWidget()

    def show_panel(self, key: str) -> Panel:
        panel = self.panels[key]
        self.sidebar.setCurrentRow(self.stack.indexOf(panel))
        return panel

    def _on_panel_changed(self, row: int) -> None:
        self.stack.setCurrentIndex(row)
        self.current_panel().on_shown()

    def panel_for_kind(self, kind: str) -> Panel | None:
        for panel in self.panels.values():
            if kind in panel.kinds:
                return panel
        return None

    def reuse(self, kind: str, params: dict) -> None:
        panel = self.panel_for_kind(kind)
        if panel is None:
            self.notify(f"No panel makes '{kind}' items.", "error")
            return
        self.show_panel(panel.key)
        panel.apply_params(params)
        self.notify(f"Settings restored in {panel.title}.", "info")

    def _on_items_saved(self, ids: list) -> None:
        gallery = self.panels.get("gallery")
        if gallery is not None and ids:
            gallery.refresh()

    # ---- messages, progress, provider ------------------------------------------------------------
    def notify(self, text: str, level: str = "info") -> None:
        if level == "error":
            log.warning("shown to user: %s", text)
        self.message_bar.show_message(text, level)

    def _on_progress(self, _id: int, step: int, total: int, eta: float) -> None:
        self.busy.setRange(0, max(1, total))
        self.busy.setValue(step)
        self.busy.setFormat(f"{step}/{total}" + (f" · ETA {eta:.1f}s" if eta >= 0 else ""))

    def _on_busy_changed(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        if busy:
            self.busy.setRange(0, 0)

    def cancel_current(self) -> None:
        if self.worker.running is not None:
            self.worker.cancel()
            self.statusBar().showMessage("Cancelling…", 2000)

    def update_provider_label(self) -> None:
        status = providers.resolve(self.provider)
        short = status.active.replace("ExecutionProvider", "")
        reason = status.reason if len(status.reason) < 70 else status.reason[:67] + "…"
        self.provider_label.setText(f"Provider: {short}" + (f" — {reason}" if reason else ""))
        self.provider_label.setToolTip(status.reason or f"Running on {short}.")

    # ---- shortcuts -----------------------------------------------------------------------------
    def _save_current(self) -> None:
        if not self.current_panel().save_current():
            self.statusBar().showMessage("Nothing to save here yet.", 2000)

    def _focus_search(self) -> None:
        panel = self.current_panel()
        search = getattr(panel, "search_box", None)
        if search is None:
            panel = self.show_panel("gallery")
            search = getattr(panel, "search_box", None)
        if search is not None:
            search.setFocus()
            search.selectAll()

    # ---- drag and drop -------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(Path(url.toLocalFile()))

    def open_path(self, path: Path) -> None:
        """A file dropped or opened: a model to import, a Genloom/A1111 PNG to reuse, or an image input."""
        try:
            if path.suffix.lower() in MODEL_SUFFIXES or (path.is_dir() and path.exists()):
                dialogs.import_model(self, path)
                return
            meta, a1111 = pngmeta.read_meta(path)
            if meta and meta.get("kind"):
                self.reuse(meta["kind"], {**meta.get("params", {}), "model": meta.get("model")})
            elif a1111:
                self.reuse("image", pngmeta.parse_a1111(a1111))
            elif self.current_panel().accepts_image_drop():
                self.current_panel().handle_image_drop(path)
            else:
                self.notify(f"{path.name} has no Genloom settings; drop it on the Image or VAE panel to use it as input.", "info")
        except GenloomError as exc:
            self.notify(one_line(exc), "error")

    def import_model_dialog(self) -> None:
        dialogs.import_model(self, None)

    def open_settings(self) -> None:
        dialog = dialogs.SettingsDialog(self, self.settings)
        if dialog.exec():
            self.settings.update(dialog.values())
            self._persist()
            self.notify("Settings saved. A provider change applies after a restart.", "info")

    # ---- persistence ---------------------------------------------------------------------------
    def _restore(self) -> None:
        panels = self.settings.get("panels", {})
        for key, panel in self.panels.items():
            try:
                panel.restore_settings(panels.get(key, {}))
            except Exception:  # a stale or hand-edited settings file must not stop the app
                log.exception("could not restore settings of %s", key)
        keys = list(self.panels)
        last = self.settings.get("last_panel", "faces")
        self.sidebar.setCurrentRow(keys.index(last) if last in keys else 0)

    def _persist(self) -> None:
        self.settings["panels"] = {key: panel.store_settings() for key, panel in self.panels.items()}
        self.settings["last_panel"] = self.current_panel().key
        try:
            settings_file.save(self.settings)
        except OSError as exc:
            log.warning("settings not saved: %s", exc)

    def closeEvent(self, event) -> None:
        self._persist()
        self.worker.shutdown()
        super().closeEvent(event)
