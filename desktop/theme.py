"""Dark and light themes. 'system' follows the desktop's colour scheme."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette

DARK = {
    QPalette.Window: "#1f2126", QPalette.WindowText: "#e6e6e6", QPalette.Base: "#16181c",
    QPalette.AlternateBase: "#24272d", QPalette.Text: "#e6e6e6", QPalette.Button: "#2b2e35",
    QPalette.ButtonText: "#e6e6e6", QPalette.Highlight: "#3d7be0", QPalette.HighlightedText: "#ffffff",
    QPalette.ToolTipBase: "#2b2e35", QPalette.ToolTipText: "#e6e6e6", QPalette.PlaceholderText: "#8a8f98",
    QPalette.Link: "#6aa6ff",
}


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is None:
        return True
    return scheme() != Qt.ColorScheme.Light


def apply(app, theme: str = "system") -> str:
    """Apply 'dark', 'light' or 'system'; returns the theme actually used."""
    app.setStyle("Fusion")
    dark = system_is_dark() if theme == "system" else theme == "dark"
    if dark:
        palette = QPalette()
        for role, colour in DARK.items():
            palette.setColor(role, QColor(colour))
        palette.setColor(QPalette.Disabled, QPalette.Text, QColor("#6b7078"))
        palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#6b7078"))
        app.setPalette(palette)
    else:
        app.setPalette(app.style().standardPalette())
    return "dark" if dark else "light"
