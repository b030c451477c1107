"""A slim bar at the top of the window for errors and notices; the app keeps running underneath."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton

STYLES = {
    "error": "background:#7a2530; color:white;",
    "info": "background:#24507a; color:white;",
}


class MessageBar(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("messageBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(self.label.textInteractionFlags() | self.label.textInteractionFlags().TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self._timer = QTimer(self, singleShot=True, timeout=self.hide)
        self.hide()

    def show_message(self, text: str, level: str = "info") -> None:
        self.setStyleSheet(f"#messageBar {{{STYLES.get(level, STYLES['info'])} border-radius:4px;}}")
        self.label.setText(text)
        self.show()
        if level == "info":
            self._timer.start(8000)
        else:
            self._timer.stop()
