"""Gallery scrolling benchmark: 20,000 items, time to the first screen of thumbnails, worst event-loop stall.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gallery_scroll.py [--items 20000] [--keep DIR]

Items are bulk-inserted into a temporary GENLOOM_HOME (a few distinct small PNGs and chats, hard-linked
under many names, rows inserted with one executemany), then the real GalleryPanel is opened offscreen and
scrolled programmatically to the end (a few screens per 16 ms tick, fetching pages as the view asks).
A 1 ms heartbeat timer measures the longest gap in the GUI event loop. Prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

KINDS = ("image", "faces", "vae")
MODELS = {"image": "tiny-sd", "faces": "dcgan-faces", "vae": "mnist-vae", "chat": "tiny-llama"}


def populate(store, count: int, variants: int = 16, chat_every: int = 50) -> None:
    """Add `count` items to `store` fast: distinct files are hard links to a few variants (copies if needed)."""
    import numpy as np

    from models.gallery import pngmeta

    folder = store.files / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    sources = []
    for v in range(variants):
        kind = KINDS[v % len(KINDS)]
        pixels = np.random.default_rng(v).integers(0, 256, (8, 8, 3), dtype=np.uint8)
        pixels = np.kron(pixels, np.ones((8, 8, 1), dtype=np.uint8))  # (64, 64, 3) blocky, compresses well
        meta = {"kind": kind, "model": MODELS[kind], "params": {"seed": v}, "seed": v, "prompt": f"variant {v}"}
        source = folder / f"variant-{v}.png.src"
        source.write_bytes(pngmeta.encode_png(pixels, meta))
        sources.append((kind, source))
    chat_meta = {"kind": "chat", "model": MODELS["chat"], "params": {"temperature": 0.7}, "seed": 1,
                 "prompt": "Tell me about looms", "text": "A loom weaves threads into cloth. " * 8,
                 "messages": []}
    chat_source = folder / "chat.json.src"
    chat_source.write_text(json.dumps({"genloom": chat_meta}), encoding="utf-8")
    rows = []
    start = time.time() - count
    for i in range(count):
        if chat_every and i % chat_every == 0:
            kind, source, suffix = "chat", chat_source, ".json"
        else:
            kind, source = sources[i % variants]
            suffix = ".png"
        target = folder / f"{kind}-{i}{suffix}"
        try:
            os.link(source, target)
        except OSError:
            shutil.copyfile(source, target)
        prompt = chat_meta["prompt"] if kind == "chat" else f"item {i} of a {kind}"
        rows.append((kind, MODELS[kind], start + i, json.dumps({"seed": i, "prompt": prompt}), i, prompt,
                     str(target.relative_to(store.files))))
    with store.db:
        store.db.executemany("INSERT INTO items(kind, model, created, params, seed, prompt, file) "
                             "VALUES (?,?,?,?,?,?,?)", rows)
    for _kind, source in sources:
        source.unlink()
    chat_source.unlink()


def visible_rows(view) -> list[int]:
    from PySide6.QtCore import QPoint

    model, area = view.model(), view.viewport().rect()
    first = view.indexAt(area.topLeft() + QPoint(8, 8))
    start = max(0, first.row()) if first.isValid() else 0
    rows = []
    for row in range(start, model.rowCount()):
        rect = view.visualRect(model.index(row))
        if rect.top() > area.bottom():
            break
        if rect.intersects(area):
            rows.append(row)
    return rows


def screen_ready(panel) -> bool:
    rows = visible_rows(panel.view)
    cache, failed = panel.loader.cache, panel.loader.failed
    return bool(rows) and all(cache.get(panel.model.item_at(r).id) is not None or panel.model.item_at(r).id in failed
                              for r in rows)


def wait_for(app, predicate, timeout: float) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("timed out")
        app.processEvents()
        time.sleep(0.001)
    return time.perf_counter() - start


def run(count: int, home: Path, pages_per_step: int = 8) -> dict:
    os.environ["GENLOOM_HOME"] = str(home)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.panels.base import Services
    from desktop.panels.gallery_panel import GalleryPanel
    from models.gallery.store import GalleryStore

    app = QApplication.instance() or QApplication([])
    t = time.perf_counter()
    populate_store = GalleryStore()
    populate(populate_store, count)
    populate_store.close()
    populate_s = time.perf_counter() - t

    t = time.perf_counter()
    store = GalleryStore()  # includes recover(): a scan of every file
    store_open_s = time.perf_counter() - t
    messages = []
    services = Services(worker=None, registry=None, gallery=store, settings={},
                        notify=lambda text, level: messages.append((level, text)),
                        reuse=lambda kind, params: None, item_saved=lambda ids: None)
    t = time.perf_counter()
    panel = GalleryPanel(services)
    panel.resize(1200, 800)
    panel.show()
    build_s = time.perf_counter() - t
    first_screen_s = build_s + wait_for(app, lambda: screen_ready(panel), 60)

    gaps = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setTimerType(Qt.PreciseTimer)
    heartbeat.setInterval(1)
    heartbeat.timeout.connect(beat)
    bar = panel.view.verticalScrollBar()
    done = [False]

    def step() -> None:
        if bar.value() >= bar.maximum() and not panel.model.canFetchMore():
            done[0] = True
            return
        bar.setValue(bar.value() + pages_per_step * bar.pageStep())

    driver = QTimer()
    driver.setInterval(16)  # `pages_per_step` screens per 60 Hz frame: a fast flick through everything
    driver.timeout.connect(step)
    t = time.perf_counter()
    last[0] = t
    heartbeat.start()
    driver.start()
    wait_for(app, lambda: done[0], 600)
    scroll_s = time.perf_counter() - t
    driver.stop()
    last_screen_s = wait_for(app, lambda: screen_ready(panel), 60)
    heartbeat.stop()
    gaps.sort()

    rows_loaded = panel.model.rowCount()
    t = time.perf_counter()
    panel.refresh()
    refresh_ms = (time.perf_counter() - t) * 1000
    result = {
        "items": count, "pages_per_step": pages_per_step, "rows_loaded": rows_loaded,
        "page_queries": panel.model.queries,
        "populate_s": round(populate_s, 2), "store_open_s": round(store_open_s, 3),
        "panel_build_s": round(build_s, 3), "first_screen_s": round(first_screen_s, 3),
        "scroll_to_end_s": round(scroll_s, 2), "last_screen_after_scroll_s": round(last_screen_s, 3),
        "worst_stall_ms": round(gaps[-1] * 1000, 1) if gaps else None,
        "p99_gap_ms": round(gaps[int(len(gaps) * 0.99)] * 1000, 1) if gaps else None,
        "event_loop_beats": len(gaps), "thumbnail_requests": panel.loader.requested,
        "thumbnails_delivered": panel.loader.delivered,
        "thumbnails_cached": len(panel.loader.cache), "refresh_ms": round(refresh_ms, 1), "rows_after_refresh": panel.model.rowCount(),
        "errors": [text for level, text in messages if level == "error"],
    }
    panel.loader.clear_queue()
    panel.loader.wait(10000)
    panel.close()
    store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--pages-per-step", type=int, default=8, help="screens scrolled per 16 ms tick")
    parser.add_argument("--keep", help="use (and keep) this folder as GENLOOM_HOME instead of a temp one")
    args = parser.parse_args()
    if args.keep:
        print(json.dumps(run(args.items, Path(args.keep), args.pages_per_step)))
        return
    with tempfile.TemporaryDirectory(prefix="genloom-bench-", ignore_cleanup_errors=True) as home:
        print(json.dumps(run(args.items, Path(home), args.pages_per_step)))


if __name__ == "__main__":
    main()
