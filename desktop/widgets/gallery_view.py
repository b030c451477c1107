"""The gallery's thumbnail grid: a QListView in icon mode with a delegate that draws placeholders."""
from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate

CAPTION_HEIGHT = 20
SETTLE_MS = 120  # thumbnails wait until scrolling pauses this long


class GalleryDelegate(QStyledItemDelegate):
    """Draws a tile: the thumbnail fitted into a square (a grey placeholder until it is ready) and a caption."""

    def __init__(self, tile: int = 160, parent=None):
        super().__init__(parent)
        self.tile = tile

    def sizeHint(self, option, index) -> QSize:  # noqa: N802 - Qt naming
        return QSize(self.tile + 8, self.tile + CAPTION_HEIGHT + 8)

    def paint(self, painter: QPainter, option, index) -> None:
        painter.save()
        rect = option.rect.adjusted(4, 4, -4, -4)
        square = QRect(rect.left(), rect.top(), self.tile, self.tile)
        selected = bool(option.state & QStyle.State_Selected)
        if selected:
            painter.fillRect(option.rect, option.palette.color(QPalette.Highlight))
        pixmap = index.data(Qt.DecorationRole)
        if pixmap is None or pixmap.isNull():
            painter.fillRect(square, option.palette.color(QPalette.Midlight))  # opaque: blending is slow
        else:
            size = pixmap.size()
            if size.width() > square.width() or size.height() > square.height():  # zoom changed, not remade yet
                painter.setRenderHint(QPainter.SmoothPixmapTransform)
                size = size.scaled(square.size(), Qt.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(square.center())
            painter.drawPixmap(target, pixmap)
        text_rect = QRect(rect.left(), square.bottom() + 2, self.tile, CAPTION_HEIGHT)
        role = QPalette.HighlightedText if selected else QPalette.Text
        painter.setPen(option.palette.color(role))
        text = option.fontMetrics.elidedText(index.data(Qt.DisplayRole) or "", Qt.ElideRight, self.tile)
        painter.drawText(text_rect, Qt.AlignHCenter | Qt.AlignVCenter, text)
        painter.restore()


class GalleryView(QListView):
    """Icon-mode grid with multi-selection; Delete asks to delete, Enter opens the current item."""

    delete_pressed = Signal(int)  # the ints only avoid void signals
    open_pressed = Signal(int)

    def __init__(self, tile: int = 160, parent=None):
        super().__init__(parent)
        self.delegate = GalleryDelegate(tile, self)
        self.setItemDelegate(self.delegate)
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.Batched)
        self.setBatchSize(400)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollPerPixel)
        self.setSpacing(4)
        self.set_tile(tile)
        self.settled = QTimer(self)  # fires once scrolling has stopped for a moment
        self.settled.setSingleShot(True)
        self.settled.setInterval(SETTLE_MS)
        self.verticalScrollBar().valueChanged.connect(lambda _value: self.settled.start())

    def set_tile(self, tile: int) -> None:
        self.delegate.tile = tile
        self.setGridSize(self.delegate.sizeHint(None, None) + QSize(4, 4))
        self.verticalScrollBar().setSingleStep(max(1, tile // 4))
        self.scheduleDelayedItemsLayout()

    def selected_rows(self) -> list[int]:
        return sorted(index.row() for index in self.selectionModel().selectedIndexes())

    def keyPressEvent(self, event) -> None:  # noqa: N802 - Qt naming
        if event.key() == Qt.Key_Delete:
            self.delete_pressed.emit(1)
            return
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.open_pressed.emit(1)
            return
        super().keyPressEvent(event)
