"""Render resources/icons/genloom.svg to the PNG sizes desktops expect (resources/icons/png/genloom-<size>.png),
plus resources/icons/genloom.ico (16-256 px) for the Windows installer.

Run from the repository root:  QT_QPA_PLATFORM=offscreen python packaging/make_icons.py
"""
from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "resources" / "icons" / "genloom.svg"
OUT = ROOT / "resources" / "icons" / "png"


def render(renderer: QSvgRenderer, size: int) -> QImage:
    """One transparent size x size ARGB image of the whole SVG."""
    image = QImage(size, size, QImage.Format_ARGB32_Premultiplied)
    image.fill(Qt.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setRenderHint(QPainter.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter needs it
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        print(f"make_icons: cannot read {SOURCE}", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        target = OUT / f"genloom-{size}.png"
        if not render(renderer, size).save(str(target), "PNG"):
            print(f"make_icons: cannot write {target}", file=sys.stderr)
            return 2
        print(target.relative_to(ROOT))
    ico = ROOT / "resources" / "icons" / "genloom.ico"
    small = [Image.open(OUT / f"genloom-{n}.png") for n in SIZES if n < 256]  # each rendered at its own size
    Image.open(OUT / "genloom-256.png").save(ico, sizes=[(n, n) for n in SIZES if n <= 256], append_images=small)
    print(ico.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
