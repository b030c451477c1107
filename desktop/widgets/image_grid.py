"""A grid of images (numpy HxWx3 uint8), smoothly upscaled, with multi-selection and captions."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem


def to_pixmap(image: np.ndarray, size: int | None = None) -> QPixmap:
    """A QPixmap of an HxWx3 uint8 array, upscaled smoothly to `size` px on its long side."""
    array = np.ascontiguousarray(image, dtype=np.uint8)
    height, width = array.shape[:2]
    qimage = QImage(array.data, width, height, 3 * width, QImage.Format_RGB888).copy()
    pixmap = QPixmap.fromImage(qimage)
    if size:
        pixmap = pixmap.scaled(size, size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    return pixmap


class ImageGrid(QListWidget):
    def __init__(self, tile: int = 160, parent=None):
        super().__init__(parent)
        self.tile = tile
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setIconSize(QSize(tile, tile))
        self.setSpacing(6)
        self.images: list[np.ndarray] = []

    def set_tile(self, tile: int) -> None:
        self.tile = tile
        self.setIconSize(QSize(tile, tile))
        for row, image in enumerate(self.images):
            self.item(row).setIcon(QIcon(to_pixmap(image, tile)))

    def clear_images(self) -> None:
        self.clear()
        self.images = []

    def add_image(self, image: np.ndarray, caption: str = "", data=None, tooltip: str = "") -> QListWidgetItem:
        self.images.append(image)
        item = QListWidgetItem(QIcon(to_pixmap(image, self.tile)), caption)
        item.setData(Qt.UserRole, data)
        item.setToolTip(tooltip or caption)
        item.setTextAlignment(Qt.AlignHCenter)
        self.addItem(item)
        return item

    def selected_rows(self) -> list[int]:
        return sorted(self.row(item) for item in self.selectedItems())
