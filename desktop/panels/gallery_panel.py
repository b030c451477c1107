"""The gallery: every saved image and chat, as a lazily loaded thumbnail grid with filters and actions.

Rows come from `services.gallery` (GUI-thread SQLite, one page at a time); thumbnails are made off the GUI
thread by a ThumbnailLoader, so the grid stays smooth with tens of thousands of items.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtCore import QItemSelection, QItemSelectionModel, Qt, QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QMessageBox,
                               QPlainTextEdit, QPushButton, QSlider, QSplitter, QVBoxLayout)

from desktop.panels.base import Panel
from desktop.widgets.gallery_model import Filters, GalleryModel
from desktop.widgets.gallery_view import GalleryView
from desktop.widgets.gallery_viewer import ItemViewer, describe
from desktop.widgets.thumbnail_loader import ThumbnailLoader
from models.gallery.store import TEXT_FORMATS
from models.runtime.errors import GenloomError, one_line

KINDS = [("All kinds", ""), ("Faces", "faces"), ("Images", "image"), ("VAE", "vae"), ("Chats", "chat")]
SEARCH_DELAY_MS = 250
KEEP_ROWS_ON_REFRESH = 1200  # a refresh reloads at most this many rows at once to keep the scroll position


def confirm(parent, title: str, text: str) -> bool:
    """Ask a yes/no question (tests replace this function)."""
    answer = QMessageBox.question(parent, title, text, QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
    return answer == QMessageBox.Yes


def choose_folder(parent, title: str) -> str:
    """Ask for a folder; '' when cancelled (tests replace this function)."""
    return QFileDialog.getExistingDirectory(parent, title)


class GalleryPanel(Panel):
    key = "gallery"
    title = "Gallery"
    kinds = ()

    def __init__(self, services, parent=None):
        super().__init__(services, parent)
        self.setToolTip("Browse, search, export and reuse everything you have made")
        self.store = services.gallery
        self.viewer: ItemViewer | None = None
        self._stale = False
        self.loader = ThumbnailLoader(self.store.thumbs, parent=self)
        self.model = GalleryModel(self.store, self.loader, parent=self)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DELAY_MS)
        self._search_timer.timeout.connect(self.apply_filters)
        self._build()
        self.model.modelReset.connect(self._update_status)
        self.model.rowsInserted.connect(self._update_status)
        self.view.selectionModel().selectionChanged.connect(self._on_selection)
        self.reload_models()
        self.apply_filters()

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        bar = QHBoxLayout()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search prompt, parameters, model or seed (Ctrl+F)")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setToolTip("Show only items whose prompt, parameters, model or seed contain every word typed.")
        self.search_box.textChanged.connect(lambda _text: self._search_timer.start())
        self.search_box.returnPressed.connect(self.apply_filters)
        self.kind_combo = QComboBox()
        for label, kind in KINDS:
            self.kind_combo.addItem(label, kind)
        self.kind_combo.setToolTip("Show only one kind of item (faces, images, VAE samples or chats).")
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("Show only items made with one model.")
        self.favourites_check = QCheckBox("Favourites")
        self.favourites_check.setToolTip("Show only items marked as favourites.")
        self.trash_check = QCheckBox("Trash")
        self.trash_check.setToolTip("Show the trash: deleted items you can restore until the trash is emptied.")
        for combo in (self.kind_combo, self.model_combo):
            combo.currentIndexChanged.connect(lambda _index: self.apply_filters())
        for check in (self.favourites_check, self.trash_check):
            check.toggled.connect(lambda _on: self.apply_filters())
        self.zoom = QSlider(Qt.Horizontal)
        self.zoom.setRange(64, 256)
        self.zoom.setValue(160)
        self.zoom.setMaximumWidth(120)
        self.zoom.setToolTip("Thumbnail size.")
        self.zoom.valueChanged.connect(self._on_zoom)
        bar.addWidget(self.search_box, 1)
        for widget in (self.kind_combo, self.model_combo, self.favourites_check, self.trash_check, self.zoom):
            bar.addWidget(widget)
        layout.addLayout(bar)

        splitter = QSplitter(Qt.Horizontal)
        self.view = GalleryView(self.zoom.value())
        self.loader.set_tile(self.zoom.value())
        self.view.setModel(self.model)
        self.view.setToolTip("Your saved items, newest first. Double-click or Enter opens one; Delete moves "
                             "the selection to the trash.")
        self.view.doubleClicked.connect(lambda _index: self.open_current())
        self.view.open_pressed.connect(lambda _n: self.open_current())
        self.view.delete_pressed.connect(lambda _n: self.delete_selected())
        self.view.verticalScrollBar().valueChanged.connect(lambda _value: self.loader.pause(True))
        self.view.settled.timeout.connect(lambda: self.loader.pause(False))
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setToolTip("Model, seed, date and parameters of the selected item.")
        self.details.setPlaceholderText("Select an item to see its settings.")
        splitter.addWidget(self.view)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)

        actions = QHBoxLayout()
        self.open_button = self._button("Open", "Show the selected item at full size with its settings (Enter).",
                                        self.open_current)
        self.reuse_button = self._button("Reuse settings", "Open the panel that made this item with its settings "
                                         "filled in.", self.reuse_current)
        self.favourite_button = self._button("★ Favourite", "Mark the selected items as favourites, or unmark "
                                             "them if they all are already.", self.toggle_favourite)
        self.export_button = self._button("Export…", "Copy the selected items to a folder (chats in the format "
                                          "chosen next to this button).", self.export_selected)
        self.format_combo = QComboBox()
        self.format_combo.addItems(list(TEXT_FORMATS))
        self.format_combo.setToolTip("File format for exported chats: Markdown, plain text or JSON.")
        self.delete_button = self._button("Delete", "Move the selected items to the trash (Delete key).",
                                          self.delete_selected)
        self.restore_button = self._button("Restore", "Take the selected items out of the trash.",
                                           self.restore_selected)
        self.empty_button = self._button("Empty trash…", "Delete every item in the trash for good.", self.empty_trash)
        self.status = QLabel()
        self.status.setToolTip("How many items are loaded and selected.")
        for widget in (self.open_button, self.reuse_button, self.favourite_button, self.export_button,
                       self.format_combo, self.delete_button, self.restore_button, self.empty_button):
            actions.addWidget(widget)
        actions.addStretch(1)
        actions.addWidget(self.status)
        layout.addLayout(actions)

    def _on_zoom(self, tile: int) -> None:
        self.loader.set_tile(tile)
        self.view.set_tile(tile)
        self.view.viewport().update()

    def _button(self, text: str, tip: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _checked=False: slot())
        return button

    # ---- filters and loading -------------------------------------------------------------------
    def filters(self) -> Filters:
        return Filters(kind=self.kind_combo.currentData() or "", model=self.model_combo.currentData() or "",
                       search=self.search_box.text(), favourites=self.favourites_check.isChecked(),
                       trashed=self.trash_check.isChecked())

    def apply_filters(self) -> None:
        """Reload from the top with the current filters (the search box calls this after a pause)."""
        self._search_timer.stop()
        self._reload(self.filters(), keep_rows=0)

    def refresh(self) -> None:
        """Reload keeping the filters, the selection and (up to a point) the scroll position.

        While the panel is hidden (items saved from another panel) the reload waits until it is shown.
        """
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self.reload_models()
        scroll = self.view.verticalScrollBar().value()
        keep = min(self.model.rowCount(), KEEP_ROWS_ON_REFRESH)
        self._reload(self.filters(), keep_rows=keep, reselect=self.selected_ids())
        if scroll:
            self.view.doItemsLayout()  # lay the reloaded rows out now so the old position exists again
            self.view.verticalScrollBar().setValue(scroll)

    def reload_models(self) -> None:
        """Refill the model filter from the store, keeping the chosen model."""
        current = self.model_combo.currentData() or ""
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItem("All models", "")
        for name in self.store.models():
            if name:
                self.model_combo.addItem(name, name)
        if current and self.model_combo.findData(current) < 0:
            self.model_combo.addItem(current, current)  # still filtering by it, though nothing is left
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(current)))
        self.model_combo.blockSignals(False)

    def _reload(self, filters: Filters, keep_rows: int, reselect: list[int] | None = None) -> None:
        try:
            self.model.set_filters(filters, keep_rows)
        except (GenloomError, sqlite3.Error) as exc:  # e.g. the index is locked by another Genloom
            self.services.notify(f"The gallery could not be read: {one_line(exc)}", "error")
        if reselect:
            self.select_ids(reselect)
        self._update_actions()
        self._show_details()

    # ---- selection -----------------------------------------------------------------------------
    def selected_items(self) -> list:
        return [self.model.item_at(row) for row in self.view.selected_rows()]

    def selected_ids(self) -> list[int]:
        return [item.id for item in self.selected_items()]

    def current_item(self):
        """The focused item if it is selected, else the first selected one (None when nothing is)."""
        index = self.view.currentIndex()
        rows = self.view.selected_rows()
        if index.isValid() and index.row() in rows:
            return self.model.item_at(index.row())
        return self.model.item_at(rows[0]) if rows else None

    def select_ids(self, ids: list[int]) -> None:
        selection = QItemSelection()
        rows = [self.model.row_of(i) for i in ids]
        for row in rows:
            if row is not None:
                index = self.model.index(row)
                selection.select(index, index)
        model = self.view.selectionModel()
        model.select(selection, QItemSelectionModel.ClearAndSelect)
        found = [r for r in rows if r is not None]
        if found:
            model.setCurrentIndex(self.model.index(found[0]), QItemSelectionModel.NoUpdate)

    def _on_selection(self, *_args) -> None:
        self._update_actions()
        self._show_details()

    def _show_details(self) -> None:
        count = len(self.view.selected_rows())
        item = self.current_item()
        if item is None:
            self.details.clear()
        elif count > 1:
            self.details.setPlainText(f"{count} items selected.\n\n{describe(item)}")
        else:
            self.details.setPlainText(describe(item))
        self._update_status()

    def _update_actions(self) -> None:
        count = len(self.view.selected_rows())
        trash = self.trash_check.isChecked()
        for button in (self.open_button, self.reuse_button):
            button.setEnabled(count >= 1)
        for button in (self.favourite_button, self.export_button, self.delete_button):
            button.setEnabled(count >= 1 and not trash)
        self.restore_button.setEnabled(count >= 1 and trash)

    def _update_status(self, *_args) -> None:
        loaded = self.model.rowCount()
        more = "+" if self.model.canFetchMore() else ""
        where = " in the trash" if self.trash_check.isChecked() else ""
        selected = len(self.view.selected_rows())
        self.status.setText(f"{loaded}{more} items{where}" + (f" · {selected} selected" if selected else ""))

    # ---- actions -------------------------------------------------------------------------------
    def toggle_favourite(self) -> None:
        items = self.selected_items()
        if not items:
            return
        value = not all(item.favourite for item in items)
        try:
            for item in items:
                self.store.set_favourite(item.id, value)
                self.model.update_item(self.store.get(item.id))
        except GenloomError as exc:
            self.services.notify(one_line(exc), "error")
        if self.favourites_check.isChecked() and not value:
            self.refresh()
        self._show_details()

    def delete_selected(self) -> None:
        ids = self.selected_ids()
        if not ids or self.trash_check.isChecked():
            return
        if not confirm(self, "Delete", f"Move {len(ids)} item(s) to the trash? You can restore them until "
                                       "the trash is emptied."):
            return
        self._change(lambda: self.store.trash(ids), f"Moved {len(ids)} item(s) to the trash.")

    def restore_selected(self) -> None:
        ids = self.selected_ids()
        if ids and self.trash_check.isChecked():
            self._change(lambda: self.store.trash(ids, trashed=False), f"Restored {len(ids)} item(s).")

    def empty_trash(self) -> None:
        trashed = self.store.list(trashed=True)
        if not trashed:
            self.services.notify("The trash is already empty.", "info")
            return
        if not confirm(self, "Empty trash", f"Delete {len(trashed)} item(s) in the trash for good? "
                                            "This cannot be undone."):
            return
        self._change(self.store.empty_trash, f"Deleted {len(trashed)} item(s) for good.")
        for item in trashed:
            self.loader.forget(item.id)

    def _change(self, action, message: str) -> None:
        try:
            action()
        except (GenloomError, sqlite3.Error) as exc:
            self.services.notify(one_line(exc), "error")
        else:
            self.services.notify(message, "info")
        self.refresh()

    def export_selected(self) -> None:
        if not self.selected_ids():
            self.services.notify("Select the items to export first.", "info")
            return
        folder = choose_folder(self, "Export gallery items to")
        if folder:
            self.export_to(Path(folder))

    def export_to(self, folder: Path, text_format: str | None = None) -> list[Path]:
        """Export the selection; errors (an unwritable folder) become a message, never a crash."""
        ids = self.selected_ids()
        fmt = text_format or self.format_combo.currentText()
        try:
            written = self.store.export(ids, folder, text_format=fmt)
        except GenloomError as exc:
            self.services.notify(one_line(exc), "error")
            return []
        self.services.notify(f"Exported {len(written)} item(s) to {folder}.", "info")
        return written

    def save_current(self) -> bool:
        """Ctrl+S exports the selection."""
        if not self.selected_ids():
            return False
        self.export_selected()
        return True

    def open_current(self) -> None:
        item = self.current_item()
        if item is None:
            return
        text_meta = None
        if item.is_text:
            try:
                text_meta = self.store.text_of(item)
            except (OSError, ValueError) as exc:
                self.services.notify(f"Cannot read {item.path.name}: {exc}", "error")
                return
        elif not item.path.exists():
            self.services.notify(f"The file of item {item.id} is missing: {item.path}", "error")
            return
        if self.viewer is not None:
            self.viewer.close()
        self.viewer = ItemViewer(item, text_meta, self)
        self.viewer.show()

    def reuse_current(self) -> None:
        item = self.current_item()
        if item is not None:
            self.services.reuse(item.kind, {**item.params, "model": item.model})

    # ---- main-window hooks ---------------------------------------------------------------------
    def on_shown(self) -> None:
        self.view.setFocus()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().showEvent(event)
        if self._stale:
            QTimer.singleShot(0, self._refresh_if_stale)

    def _refresh_if_stale(self) -> None:
        if self._stale:
            self.refresh()

    def store_settings(self) -> dict:
        return {"zoom": self.zoom.value(), "text_format": self.format_combo.currentText()}

    def restore_settings(self, values: dict) -> None:
        if values.get("zoom"):
            self.zoom.setValue(int(values["zoom"]))
        if values.get("text_format") in TEXT_FORMATS:
            self.format_combo.setCurrentText(values["text_format"])
