"""ThumbnailLoader: LRU eviction, newest request first, broken files, and work done off the GUI thread."""
from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from PySide6.QtGui import QPixmap

from desktop.widgets import thumbnail_loader
from desktop.widgets.thumbnail_loader import ThumbnailCache, ThumbnailLoader


def test_lru_cache_evicts_least_recently_used(qapp):
    cache = ThumbnailCache(capacity=2)
    cache.put(1, QPixmap(4, 4))
    cache.put(2, QPixmap(4, 4))
    assert cache.get(1) is not None  # 1 is now the most recent
    cache.put(3, QPixmap(4, 4))
    assert cache.get(2) is None and cache.get(1) is not None and cache.get(3) is not None and len(cache) == 2


def test_loader_works_off_gui_thread_and_survives_broken_files(qtbot, store, sample, tmp_path, monkeypatch):
    threads = []
    original = thumbnail_loader.image_thumb

    def spy(path, cached):
        threads.append(threading.current_thread())
        return original(path, cached)

    monkeypatch.setattr(thumbnail_loader, "image_thumb", spy)
    loader = ThumbnailLoader(store.thumbs, threads=1)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    items = [store.get(sample["cat"]), store.get(sample["chat"]),
             SimpleNamespace(id=999, path=broken, is_text=False)]
    ready = []
    loader.ready.connect(ready.append)
    for item in items:
        assert loader.get(item) is None  # placeholder first
    assert loader.get(items[0]) is None and loader.requested == 3  # asked again: not queued twice
    qtbot.waitUntil(lambda: len(ready) == 3, timeout=10000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    assert loader.get(items[0]).width() == 192  # tile defaults to the thumbnail size and loader.get(items[1]) is not None
    assert loader.get(items[2]) is None and 999 in loader.failed and loader.requested == 3  # not retried
    assert not list(Path(store.thumbs).glob("*.tmp"))
    loader.wait()


def test_newest_request_first_and_stale_requests_dropped(qtbot, store, sample):
    loader = ThumbnailLoader(store.thumbs, threads=1, max_pending=2)
    order = []
    loader.ready.connect(order.append)
    gate = threading.Event()
    original = loader._take

    def slow_take():
        gate.wait(5)
        return original()

    loader._take = slow_take  # hold the single worker until every request is queued
    ids = [sample["cat"], sample["dog"], sample["face"], sample["vae"]]
    for item_id in ids:
        loader.get(store.get(item_id))
    gate.set()
    qtbot.waitUntil(lambda: loader.pending() == 0, timeout=10000)
    qtbot.wait(50)
    assert order[:2] == [ids[3], ids[2]]  # what was asked last (on screen now) comes first
    assert sorted(order) == sorted(ids[2:])  # the two oldest requests were dropped (scrolled away)
    loader.wait()


def test_paused_while_scrolling_then_resumes(qtbot, store, sample):
    loader = ThumbnailLoader(store.thumbs, threads=1)
    loader.pause(True)
    item = store.get(sample["dog"])
    assert loader.get(item) is None
    qtbot.wait(200)
    assert loader.get(item) is None and loader.pending() == 1  # queued, nothing made while paused
    loader.pause(False)
    qtbot.waitUntil(lambda: loader.get(item) is not None, timeout=10000)
    loader.wait()
