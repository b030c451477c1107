"""The conversation list: search box (titles and message text), New, Rename, Delete, Export."""
from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLineEdit, QListWidget, QListWidgetItem, QMenu, QPushButton,
                               QSizePolicy, QToolButton, QVBoxLayout, QWidget)


class ConversationList(QWidget):
    selected = Signal(object)  # conversation id or None
    new_requested = Signal()
    rename_requested = Signal()
    delete_requested = Signal()
    export_requested = Signal(str)  # "md" | "txt" | "json"

    def __init__(self, store, parent=None):
        super().__init__(parent)
        self.store = store
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search chats…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setToolTip("Find conversations by title or by any word in their messages")
        self.search_box.textChanged.connect(lambda _t: self.reload())
        self.list = QListWidget()
        self.list.setToolTip("Your conversations, newest first; they are saved as you go")
        self.list.setTextElideMode(Qt.ElideRight)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.list.currentItemChanged.connect(self._on_current_changed)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("New")
        self.new_button.setToolTip("Start a new conversation")
        self.new_button.clicked.connect(self.new_requested)
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Rename the selected conversation")
        self.rename_button.clicked.connect(self.rename_requested)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected conversation (asks first)")
        self.delete_button.clicked.connect(self.delete_requested)
        self.export_button = QToolButton()
        self.export_button.setText("Export conversation ▾")
        self.export_button.setToolButtonStyle(Qt.ToolButtonTextOnly)
        self.export_button.setToolTip("Save the whole conversation as Markdown, plain text or JSON")
        self.export_button.setPopupMode(QToolButton.InstantPopup)
        menu = QMenu(self.export_button)
        for fmt, text in (("md", "Markdown (.md)"), ("txt", "Plain text (.txt)"), ("json", "JSON (.json)")):
            menu.addAction(text, lambda f=fmt: self.export_requested.emit(f))
        self.export_button.setMenu(menu)
        for button in (self.new_button, self.rename_button, self.delete_button):
            buttons.addWidget(button)
        self.export_button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        layout.addWidget(self.search_box)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.export_button)

    def reload(self, select=None) -> None:
        """Refill from the store (keeping or setting the selection) without emitting `selected`."""
        current = self.current_id() if select is None else select
        self.list.blockSignals(True)
        self.list.clear()
        for conversation in self.store.list(search=self.search_box.text().strip() or None):
            item = QListWidgetItem(conversation.title)
            item.setData(Qt.UserRole, conversation.id)
            changed = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.updated))
            item.setToolTip(f"{conversation.title}\nLast change {changed}")
            self.list.addItem(item)
            if conversation.id == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        has = self.current_id() is not None
        for button in (self.rename_button, self.delete_button, self.export_button):
            button.setEnabled(has)

    def current_id(self):
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.UserRole)

    def ids(self) -> list[int]:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]

    def select(self, conversation_id) -> None:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.UserRole) == conversation_id:
                self.list.setCurrentRow(i)
                return

    def _on_current_changed(self, current, _previous) -> None:
        has = current is not None
        for button in (self.rename_button, self.delete_button, self.export_button):
            button.setEnabled(has)
        self.selected.emit(None if current is None else current.data(Qt.UserRole))
