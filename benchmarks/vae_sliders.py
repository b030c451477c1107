"""VAE slider-to-pixels latency while a scripted drag sends 60 moves/s: latest-wins vs a naive queue. JSON.

Each move submits a decode of the new latent to the one inference worker. Latency = time from the move to
the decoded frame arriving on the GUI thread. Latest-wins drops superseded moves, so no backlog can build;
the naive worker decodes every move in order. A second round slows the decoder (an extra 30 ms per decode,
like a bigger model or a busy machine) to show what a backlog does. Goal: p95 < 16 ms on this CPU.
"""
from __future__ import annotations

import os
import statistics
import time

from _common import emit, temp_home

temp_home()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.worker import InferenceWorker  # noqa: E402
from models import jobs  # noqa: E402
from models.jobs import Task  # noqa: E402
from models.runtime.context import Context  # noqa: E402
from models.vae import explorer  # noqa: E402
from models.vae.job import DecodeRequest  # noqa: E402

MOVES, RATE = 180, 60.0


def slow_decode(ctx, request, delay):
    time.sleep(delay)
    yield from jobs.run(request, ctx)


def drag(app, worker, latents, latest_wins: bool, delay: float) -> dict:
    sent: dict[int, float] = {}
    latencies: list[float] = []
    done = []
    worker.finished.connect(lambda rid, _r: latencies.append(time.perf_counter() - sent[rid]) if rid in sent else None)
    worker.finished.connect(lambda rid, _r: done.append(rid))
    moves = iter(range(len(latents)))

    def move():
        try:
            i = next(moves)
        except StopIteration:
            timer.stop()
            return
        request = DecodeRequest(latent=tuple(latents[i]))
        job = Task("slow", slow_decode, (request, delay)) if delay else request
        sent[worker.submit(job, latest_wins=latest_wins)] = time.perf_counter()

    timer = QTimer(interval=int(1000 / RATE), timeout=move)
    timer.start()
    last_id = [None]
    start = time.perf_counter()
    while timer.isActive() or (worker.pending() or worker.running is not None):
        app.processEvents()
        time.sleep(0.0005)
        if time.perf_counter() - start > 120:
            break
    end_lag = time.perf_counter() - start - len(latents) / RATE
    worker.finished.disconnect()
    ms = sorted(x * 1000 for x in latencies)
    return {"frames_shown": len(ms), "p50_ms": round(statistics.median(ms), 1),
            "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 1), "max_ms": round(ms[-1], 1),
            "last_frame_after_drag_ms": round(max(0.0, end_lag) * 1000, 1)}


def main() -> None:
    app = QApplication([])
    ctx = Context(provider="cpu")
    manifest = ctx.registry.get("vae")
    axes = explorer.axes_for(manifest, int(manifest.params["z_dim"]))
    values = np.zeros(axes.count)
    latents = []
    for i in range(MOVES):  # a drag of axis 1 from -3σ to +3σ and back
        values[0] = 3 * np.sin(2 * np.pi * i / MOVES)
        latents.append(explorer.slider_to_latent(values, axes))
    worker = InferenceWorker(context_factory=lambda: ctx)
    jobs.drive(DecodeRequest(latent=tuple(latents[0])), ctx)  # warm the session
    results = {}
    for name, latest, delay in (("latest_wins", True, 0.0), ("naive_queue", False, 0.0),
                                ("latest_wins_slow_decoder", True, 0.03), ("naive_queue_slow_decoder", False, 0.03)):
        results[name] = drag(app, worker, latents, latest, delay)
    worker.shutdown()
    emit({"benchmark": "vae_sliders", "moves": MOVES, "moves_per_s": RATE, "goal_p95_ms": 16, **results})


if __name__ == "__main__":
    main()
