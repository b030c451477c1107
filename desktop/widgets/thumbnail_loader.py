"""Gallery thumbnails made off the GUI thread, newest request first, kept in a small in-memory LRU.

The GUI thread asks `get(item)`: a cached QPixmap comes back at once; otherwise None (draw a placeholder)
and the item is queued. Worker runnables on a private QThreadPool take the most recent request first (the
tiles on screen now), read `<gallery>/thumbs/<id>.png` or make it from the file with Qt, scale it to the
tile size shown, and pass the QImage back; `ready(id)` is emitted on the GUI thread once it is cached.
Requests for tiles that scrolled away long ago are dropped once the queue is longer than `max_pending`.
"""
from __future__ import annotations

import json
import os
import sys
import threading
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QRect, QRunnable, QThreadPool, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QImageReader, QPainter, QPixmap

THUMB_SIZE = 192  # same size and file name as GalleryStore.thumbnail, so both share the disk cache


class ThumbnailCache:
    """An LRU of thumbnail pixmaps keyed by item id."""

    def __init__(self, capacity: int = 800):
        self.capacity = capacity
        self._images: OrderedDict[int, QPixmap] = OrderedDict()

    def get(self, item_id: int) -> QPixmap | None:
        image = self._images.get(item_id)
        if image is not None:
            self._images.move_to_end(item_id)
        return image

    def put(self, item_id: int, image: QPixmap) -> None:
        self._images[item_id] = image
        self._images.move_to_end(item_id)
        while len(self._images) > self.capacity:
            self._images.popitem(last=False)

    def discard(self, item_id: int) -> None:
        self._images.pop(item_id, None)

    def __len__(self) -> int:
        return len(self._images)


class _Job(QRunnable):
    """Drains the loader's request stack; several run at once, one per pool thread."""

    def __init__(self, loader: "ThumbnailLoader"):
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        lower_priority()
        loader = self.loader
        while True:
            request = loader._take()
            if request is None:
                return
            item_id, path, is_text = request
            try:
                image = text_tile(path) if is_text else image_thumb(path, loader.thumbs / f"{item_id}.png")
                tile = loader.tile
                if max(image.width(), image.height()) > tile:  # pre-scaled here, painting is a plain blit
                    image = image.scaled(tile, tile, Qt.KeepAspectRatio, Qt.SmoothTransformation)
            except Exception:  # a broken or vanished file: show a grey tile, never crash the pool
                image = None
            try:
                loader._finish(item_id, image)
            except RuntimeError:  # the panel was destroyed while this tile loaded (application exit)
                return


class ThumbnailLoader(QObject):
    """Asynchronous thumbnails for gallery items (anything with `.id`, `.path`, `.is_text`)."""

    ready = Signal(int)  # item id whose thumbnail is now in the cache (or failed: get() keeps returning None)
    _delivered = Signal(int)  # internal: results are waiting (the int is only there to avoid a void signal)

    def __init__(self, thumbs_dir: Path, threads: int | None = None, capacity: int = 800, max_pending: int = 256,
                 parent=None):
        super().__init__(parent)
        self.thumbs = Path(thumbs_dir)
        self.tile = THUMB_SIZE  # the size tiles are shown at; set_tile() changes it
        self.cache = ThumbnailCache(capacity)
        self.max_pending = max_pending
        self.failed: set[int] = set()
        self.requested = 0  # how many requests were ever queued, including re-requests of dropped ones
        self.delivered = 0  # how many thumbnails were made or read from the disk cache
        self._lock = threading.Lock()
        self._stack: list[tuple[int, Path, bool]] = []
        self._queued: set[int] = set()
        self._running_jobs = 0
        self._paused = False
        self._results: list[tuple[int, QImage | None]] = []
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(threads or max(1, min(4, (os.cpu_count() or 2) // 2)))  # leave cores to the GUI
        self._delivered.connect(self._deliver, Qt.QueuedConnection)
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)

    # ---- GUI thread ----------------------------------------------------------------------------
    def get(self, item) -> QPixmap | None:
        image = self.cache.get(item.id)
        if image is not None or item.id in self.failed:
            return image
        self._request(item)
        return None

    def pause(self, paused: bool) -> None:
        """While the user flicks through the grid, make nothing: the tiles would be gone before they were
        ready, and the work would compete with painting for the CPU and the GIL. Resuming starts the
        most recent requests (the tiles on screen) first."""
        with self._lock:
            self._paused = paused
            start = 0 if paused else min(len(self._stack), self.pool.maxThreadCount() - self._running_jobs)
            self._running_jobs += max(0, start)
        for _ in range(max(0, start)):
            self.pool.start(_Job(self))

    def set_tile(self, tile: int) -> None:
        """Show tiles at `tile` px: cached pixmaps are dropped and remade (quickly, from the disk cache)."""
        tile = min(int(tile), THUMB_SIZE)
        if tile != self.tile:
            self.tile = tile
            self.cache = ThumbnailCache(self.cache.capacity)
            self.clear_queue()

    def forget(self, item_id: int) -> None:
        self.cache.discard(item_id)
        self.failed.discard(item_id)

    def pending(self) -> int:
        """Requests queued or being made (queued ones wait while paused)."""
        with self._lock:
            return len(self._stack) + self._running_jobs

    def clear_queue(self) -> None:
        """Drop queued requests (after a filter change the old tiles are no longer on screen)."""
        with self._lock:
            self._stack.clear()
            self._queued.clear()

    def shutdown(self) -> None:
        """Drop queued work and let the running tiles finish (called when the application quits)."""
        self.clear_queue()
        self.pool.waitForDone(3000)

    def wait(self, msecs: int = 10000) -> bool:
        return self.pool.waitForDone(msecs)

    def _request(self, item) -> None:
        start = False
        with self._lock:
            if item.id in self._queued:
                return
            self._queued.add(item.id)
            self._stack.append((item.id, Path(item.path), bool(item.is_text)))
            self.requested += 1
            if len(self._stack) > self.max_pending:
                dropped = self._stack.pop(0)
                self._queued.discard(dropped[0])
            if not self._paused and self._running_jobs < self.pool.maxThreadCount():
                self._running_jobs += 1
                start = True
        if start:
            self.pool.start(_Job(self))

    def _deliver(self, _count: int = 0) -> None:
        with self._lock:
            results, self._results = self._results, []
        self.delivered += len(results)
        for item_id, image in results:
            if image is None:
                self.failed.add(item_id)
            else:
                self.cache.put(item_id, QPixmap.fromImage(image))  # pixmaps draw fastest; made on the GUI thread
            self.ready.emit(item_id)

    # ---- pool threads --------------------------------------------------------------------------
    def _take(self) -> tuple[int, Path, bool] | None:
        with self._lock:
            if not self._stack or self._paused:
                self._running_jobs -= 1
                return None
            return self._stack.pop()  # newest first: what is on screen now

    def _finish(self, item_id: int, image: QImage | None) -> None:
        with self._lock:
            self._queued.discard(item_id)
            first = not self._results
            self._results.append((item_id, image))
        if first:  # one queued call per batch keeps the GUI event queue short
            self._delivered.emit(1)


def lower_priority() -> None:
    """Make the calling pool thread nicer than the GUI thread (Linux sets niceness per thread id)."""
    if sys.platform.startswith("linux") and hasattr(os, "setpriority"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, max(os.getpriority(os.PRIO_PROCESS, tid), 10))
        except OSError:
            pass


def image_thumb(path: Path, cached: Path) -> QImage:
    """The thumbnail of an image file: read from the disk cache, or decoded and scaled by Qt and cached.

    Everything heavy runs inside Qt (which releases the GIL), so the GUI thread is not starved while
    tiles load; Python-level image code here would hold the GIL in long slices and stutter scrolling.
    """
    if cached.exists():
        image = QImage(str(cached))
        if not image.isNull():
            return image
    reader = QImageReader(str(path))
    size = reader.size()
    if size.isValid() and size.width() > 0 and size.height() > 0:
        reader.setScaledSize(size.scaled(THUMB_SIZE, THUMB_SIZE, Qt.KeepAspectRatio))  # smooth up- or downscale
    image = reader.read()
    if image.isNull():
        raise OSError(f"{path.name}: {reader.errorString()}")
    _write_cache(cached, image)
    return image


def _write_cache(target: Path, image: QImage) -> None:
    """Best effort: a unique temp name per thread, then an atomic rename; a read-only disk is fine."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"cannot write {tmp}")
        os.replace(tmp, target)
    except OSError:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def text_tile(path: Path, words: int = 40) -> QImage:
    """A paper-like tile with the first words of a chat answer (or of the question if there is none)."""
    meta = json.loads(Path(path).read_text(encoding="utf-8")).get("genloom", {})
    all_words = str(meta.get("text") or meta.get("prompt") or "").split()
    text = " ".join(all_words[:words]) + (" …" if len(all_words) > words else "")
    image = QImage(THUMB_SIZE, THUMB_SIZE, QImage.Format_RGB32)
    image.fill(QColor("#f4f1e8"))
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.TextAntialiasing)
        painter.setPen(QColor("#8a7f66"))
        title = QFont()
        title.setPixelSize(13)
        title.setBold(True)
        painter.setFont(title)
        painter.drawText(QRect(10, 6, THUMB_SIZE - 20, 20), Qt.AlignLeft | Qt.AlignVCenter, "¶ chat")
        body = QFont()
        body.setPixelSize(12)
        painter.setFont(body)
        painter.setPen(QColor("#2b2b2b"))
        painter.drawText(QRect(10, 28, THUMB_SIZE - 20, THUMB_SIZE - 36),
                         Qt.AlignLeft | Qt.AlignTop | Qt.TextWordWrap, text)
    finally:
        painter.end()
    return image
