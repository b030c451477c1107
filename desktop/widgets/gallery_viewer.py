"""Full-size view of one gallery item: the image scaled to fit (or the chat text) beside its parameters."""
from __future__ import annotations

import json
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QSizePolicy, QSplitter, QVBoxLayout


def describe(item) -> str:
    """The details text of an item: model, seed, date, then its parameters as pretty JSON."""
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(item.created))
    lines = [f"Kind: {item.kind}", f"Model: {item.model or '-'}", f"Seed: {item.seed if item.seed is not None else '-'}",
             f"Date: {when}", f"File: {item.path}"]
    if item.prompt:
        lines.append(f"Prompt: {item.prompt}")
    lines += ["", "Parameters:", json.dumps(item.params, indent=2, sort_keys=True, ensure_ascii=False, default=str)]
    return "\n".join(lines)


def conversation_text(meta: dict) -> str:
    """A chat item's messages as readable text."""
    parts = []
    for message in meta.get("messages") or []:
        parts.append(f"{str(message.get('role', '')).upper()}:\n{message.get('content', '')}\n")
    return "\n".join(parts) or str(meta.get("text", ""))


class ScaledImage(QLabel):
    """A label that keeps its pixmap scaled to fit while the dialog is resized."""

    def __init__(self, pixmap: QPixmap, parent=None):
        super().__init__(parent)
        self.original = pixmap
        self.setAlignment(Qt.AlignCenter)
        self.setMinimumSize(64, 64)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self.setToolTip("The image at full resolution, scaled to fit the window.")

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt naming
        super().resizeEvent(event)
        if not self.original.isNull():
            self.setPixmap(self.original.scaled(self.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))


class ItemViewer(QDialog):
    def __init__(self, item, text_meta: dict | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"{item.kind} #{item.id}")
        self.resize(1000, 700)
        layout = QVBoxLayout(self)
        splitter = QSplitter(Qt.Horizontal)
        if item.is_text:
            self.content = QPlainTextEdit(conversation_text(text_meta or {}))
            self.content.setReadOnly(True)
            self.content.setToolTip("The conversation saved with this chat item.")
        else:
            pixmap = QPixmap(str(item.path))
            self.content = ScaledImage(pixmap)
            if pixmap.isNull():
                self.content.setText("This image file could not be read.")
        self.details = QPlainTextEdit(describe(item))
        self.details.setReadOnly(True)
        self.details.setToolTip("The settings this item was made with.")
        splitter.addWidget(self.content)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout.addWidget(splitter, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.button(QDialogButtonBox.Close).setToolTip("Close this window.")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
