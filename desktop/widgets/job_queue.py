"""A visible queue of requests: add, remove, reorder; the owner pops the next one when idle."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QListWidgetItem, QToolButton, QVBoxLayout, QWidget


class JobQueue(QWidget):
    changed = Signal()

    def __init__(self, describe, parent=None):
        super().__init__(parent)
        self.describe = describe
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setToolTip("Jobs waiting to run, top first")
        self.list.setMaximumHeight(110)
        buttons = QHBoxLayout()
        for text, tip, slot in (("▲", "Move the selected job up", lambda: self._move(-1)),
                                ("▼", "Move the selected job down", lambda: self._move(1)),
                                ("✕", "Remove the selected job from the queue", self.remove_selected)):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addWidget(self.list)
        layout.addLayout(buttons)

    def add(self, request) -> None:
        item = QListWidgetItem(self.describe(request))
        item.setData(Qt.UserRole, request)
        self.list.addItem(item)
        self.changed.emit()

    def pop(self):
        if self.list.count() == 0:
            return None
        item = self.list.takeItem(0)
        self.changed.emit()
        return item.data(Qt.UserRole)

    def __len__(self) -> int:
        return self.list.count()

    def requests(self) -> list:
        return [self.list.item(i).data(Qt.UserRole) for i in range(self.list.count())]

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.changed.emit()

    def _move(self, delta: int) -> None:
        row = self.list.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < self.list.count():
            return
        item = self.list.takeItem(row)
        self.list.insertItem(target, item)
        self.list.setCurrentRow(target)
        self.changed.emit()
