"""A small scatter plot: encoded training faces on two axes, and where the current latent sits."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QWidget


class LatentPlot(QWidget):
    def __init__(self, span: float = 3.0, parent=None):
        super().__init__(parent)
        self.span = span
        self.points = np.zeros((0, 2))
        self.current = (0.0, 0.0)
        self.labels = ("axis 1", "axis 2")
        self.setMinimumSize(180, 180)
        self.setToolTip("Grey dots: training faces encoded onto the two chosen axes (in σ). "
                        "Orange: the face you are looking at.")

    def set_points(self, points, labels=("axis 1", "axis 2")) -> None:
        self.points = np.zeros((0, 2)) if points is None else np.asarray(points, float).reshape(-1, 2)
        self.labels = labels
        self.update()

    def set_current(self, x: float, y: float) -> None:
        self.current = (float(x), float(y))
        self.update()

    def _to_screen(self, rect: QRectF, x: float, y: float) -> QPointF:
        sx = rect.left() + (x + self.span) / (2 * self.span) * rect.width()
        sy = rect.bottom() - (y + self.span) / (2 * self.span) * rect.height()
        return QPointF(sx, sy)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        side = min(self.width(), self.height()) - 24
        rect = QRectF(18, 4, side, side)
        painter.fillRect(rect, self.palette().base())
        painter.setPen(QPen(QColor(128, 128, 128, 120), 1))
        painter.drawLine(self._to_screen(rect, -self.span, 0), self._to_screen(rect, self.span, 0))
        painter.drawLine(self._to_screen(rect, 0, -self.span), self._to_screen(rect, 0, self.span))
        painter.setPen(Qt.NoPen)
        painter.setBrush(QColor(150, 160, 175, 110))
        for x, y in self.points:
            painter.drawEllipse(self._to_screen(rect, x, y), 1.6, 1.6)
        painter.setBrush(QColor("#ff9a3c"))
        x, y = (max(-self.span, min(self.span, v)) for v in self.current)
        painter.drawEllipse(self._to_screen(rect, x, y), 5, 5)
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(18, side + 6, side, 16), Qt.AlignCenter, self.labels[0])
        painter.save()
        painter.translate(12, 4 + side / 2)
        painter.rotate(-90)
        painter.drawText(QRectF(-side / 2, -12, side, 14), Qt.AlignCenter, self.labels[1])
        painter.restore()
