"""Worst GUI event-loop stall while a 64-face generation runs on the worker (goal < 50 ms). JSON.

A 1 ms QTimer ticks on the GUI thread; the longest gap between ticks is the worst stall a user would
feel. Measured idle first (the peer: the same loop with nothing running), then during generation.
"""
from __future__ import annotations

import os
import time

from _common import emit, temp_home

temp_home()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402


def measure(app, seconds: float, while_running=None, until=None) -> float:
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer(interval=1, timeout=tick)
    timer.start()
    end = time.perf_counter() + seconds
    if while_running:
        while_running()
    while (until is None and time.perf_counter() < end) or (until is not None and not until() and time.perf_counter() < end + 60):
        app.processEvents()
        time.sleep(0.0005)
    timer.stop()
    return max(gaps) * 1000 if gaps else 0.0


def main() -> None:
    app = QApplication([])
    from desktop.main_window import MainWindow

    window = MainWindow(provider="cpu")
    window.show()
    panel = window.show_panel("faces")
    panel.count.setValue(64)
    idle = measure(app, 1.5)
    done = []
    window.worker.finished.connect(lambda *a: done.append(time.perf_counter()))
    start = time.perf_counter()
    busy = measure(app, 0.0, panel.generate, until=lambda: bool(done))
    window.close()
    emit({"benchmark": "gui_stall", "idle_worst_gap_ms": round(idle, 1),
          "during_64_faces_worst_gap_ms": round(busy, 1), "goal_ms": 50,
          "generation_s": round(done[0] - start, 2) if done else None})


if __name__ == "__main__":
    main()
