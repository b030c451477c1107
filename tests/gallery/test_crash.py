"""SIGKILL during a burst of saves never leaves a row without a complete file, nor temp files after recover()."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from models.gallery import pngmeta
from models.gallery.store import GalleryStore

from .conftest import ROOT, image

SAVER = """
import sys, numpy as np
from models.gallery.store import GalleryStore
store = GalleryStore()
print("ready", flush=True)
rng = np.random.default_rng(int(sys.argv[1]))
i = 0
while True:
    size = int(rng.integers(16, 96))
    pixels = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)  # (H, W, 3) noise: slow to compress
    if i % 7 == 6:
        store.add_text("answer " * 200, kind="chat", model="tiny-llama", params={"i": i}, seed=i, prompt=f"q{i}")
    else:
        store.add_image(pixels, kind="image", model="tiny-sd", params={"i": i, "prompt": f"p{i}"}, seed=i)
    i += 1
"""

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def kill_during_saves(seed: int, delay: float) -> None:
    process = subprocess.Popen([sys.executable, "-c", SAVER, str(seed)], cwd=ROOT, env=os.environ.copy(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        time.sleep(delay)
        assert process.poll() is None, process.stderr.read()  # still saving when killed
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        process.stdout.close()
        process.stderr.close()


def test_sigkill_during_saves_keeps_store_consistent(genloom_home):
    rng = random.Random(20261202)
    store = GalleryStore()
    files = store.files
    store.close()
    for round_number in range(6):
        kill_during_saves(round_number, rng.uniform(0.05, 0.6))

    # A kill between the rename and the INSERT leaves a complete file without a row; a kill while writing
    # leaves a .tmp file. Make sure both cases are present at least once, whatever the kills hit.
    orphan = files / "2000-01" / "image-1-s77.png"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(pngmeta.encode_png(image(5), {"kind": "image", "model": "tiny-sd", "seed": 77,
                                                      "params": {"prompt": "orphan"}, "prompt": "orphan"}))
    stale = files / "2000-01" / "image-2.png.tmp"
    stale.write_bytes(b"\x89PNG\r\n\x1a\n half")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))  # left by a writer killed an hour ago
    for leftover in files.rglob("*.tmp"):  # the kills above happened seconds ago: age them like a restart would
        os.utime(leftover, (time.time() - 3600, time.time() - 3600))

    store = GalleryStore()  # runs recover()
    try:
        items = store.list() + store.list(trashed=True)
        assert len(items) > 6, "the savers should have saved something before being killed"
        for item in items:
            assert item.path.is_file(), item.path
            if item.is_text:
                assert json.loads(item.path.read_text(encoding="utf-8"))["genloom"]["kind"] == "chat"
            else:
                with Image.open(item.path) as picture:
                    picture.verify()  # raises on a truncated or corrupt PNG
        assert not list(files.rglob("*.tmp"))
        on_disk = {p.resolve() for p in files.rglob("*") if p.is_file()}
        assert on_disk == {item.path for item in items}  # every complete file was indexed
        reindexed = [item for item in items if item.path == orphan.resolve()]
        assert reindexed and reindexed[0].seed == 77 and reindexed[0].prompt == "orphan"
        assert store.recover() == 0  # idempotent
    finally:
        store.close()
