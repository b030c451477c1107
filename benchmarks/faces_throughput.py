"""Faces/s at batch 16: Genloom's engine vs raw onnxruntime on the same ONNX file, same run.

Prints JSON. The goal is a wrapper cost under 10 %.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from _common import emit, temp_home

temp_home()

import onnxruntime as ort  # noqa: E402

from models import jobs  # noqa: E402
from models.gan.job import FacesRequest  # noqa: E402
from models.runtime.context import Context  # noqa: E402
from models.runtime.session import default_threads  # noqa: E402

BATCH, ROUNDS = 16, 15


def raw_peer(path) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = default_threads()
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    z = np.random.RandomState(0).randn(BATCH, 100, 1, 1).astype(np.float32)
    session.run(None, {name: z})
    start = time.perf_counter()
    out = session.run(None, {name: z})[0]
    images = np.clip(np.rint((out + 1) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)
    assert images.shape[0] == BATCH
    return BATCH / (time.perf_counter() - start)


def genloom(ctx) -> float:
    request = FacesRequest(seed=0, count=BATCH, save=False)
    start = time.perf_counter()
    jobs.drive(request, ctx)
    return BATCH / (time.perf_counter() - start)


def main() -> None:
    ctx = Context(provider="cpu")
    path = ctx.registry.get("gan").path("generator")
    genloom(ctx)  # warm-up: session creation
    ours, peer = [], []
    for _ in range(ROUNDS):  # interleaved so machine noise hits both alike
        ours.append(genloom(ctx))
        peer.append(raw_peer(path))
    g, p = statistics.median(ours), statistics.median(peer)
    start = time.perf_counter()
    jobs.drive(FacesRequest(seed=0, count=64, save=True), ctx)
    saved = 64 / (time.perf_counter() - start)
    emit({"benchmark": "faces_throughput", "batch": BATCH, "rounds": ROUNDS,
          "genloom_faces_per_s": round(g, 1), "raw_onnxruntime_faces_per_s": round(p, 1),
          "wrapper_overhead_pct": round((p / g - 1) * 100, 1), "goal_overhead_pct": 10,
          "with_png_and_gallery_save_faces_per_s": round(saved, 1)})


if __name__ == "__main__":
    main()
