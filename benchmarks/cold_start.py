"""Cold start to window shown: Genloom vs a bare PySide6 QMainWindow, each in a fresh process. JSON."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from _common import ROOT, emit, temp_home

BARE = ("from PySide6.QtWidgets import QApplication, QMainWindow\n"
        "app = QApplication([]); w = QMainWindow(); w.show(); app.processEvents(); print('window shown', flush=True)")
GENLOOM = ("import os, sys\nsys.path.insert(0, %r)\n"
           "from desktop.app import run_app\nraise SystemExit(run_app())" % str(ROOT))


def time_to_shown(code: str, env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "window shown" in line:
            elapsed = time.perf_counter() - start
            break
    else:
        raise SystemExit(f"never shown (exit {proc.wait()})")
    proc.wait(timeout=30)
    return elapsed


def main() -> None:
    home = temp_home()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GENLOOM_SMOKE": "1", "GENLOOM_HOME": home,
           "GENLOOM_ALLOW_MULTIPLE": "1"}
    ours, bare = [], []
    for _ in range(5):
        ours.append(time_to_shown(GENLOOM, env))
        bare.append(time_to_shown(BARE, env))
    g, b = statistics.median(ours), statistics.median(bare)
    emit({"benchmark": "cold_start", "runs": 5, "genloom_s": round(g, 3), "bare_qt_window_s": round(b, 3),
          "ratio": round(g / b, 2)})


if __name__ == "__main__":
    main()
