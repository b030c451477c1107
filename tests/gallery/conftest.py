"""Gallery fixtures: a store in the per-test GENLOOM_HOME, a few sample items, and a panel with stub services."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from models.gallery.store import GalleryStore

ROOT = Path(__file__).resolve().parents[2]


def image(seed: int, size: int = 24) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)  # (H, W, 3)


@pytest.fixture
def store(genloom_home):
    gallery = GalleryStore()
    yield gallery
    gallery.close()


@pytest.fixture
def sample(store):
    """Five items: three images (two models), one VAE sample and one chat. Returns {name: id}."""
    ids = {
        "cat": store.add_image(image(1), kind="image", model="tiny-sd", seed=1234,
                               params={"prompt": "a red cat", "steps": 20, "cfg": 7.0, "seed": 1234},
                               prompt="a red cat"),
        "dog": store.add_image(image(2), kind="image", model="tiny-sd", seed=99,
                               params={"prompt": "a blue dog", "steps": 8, "seed": 99}, prompt="a blue dog"),
        "face": store.add_image(image(3), kind="faces", model="dcgan-faces", seed=7,
                                params={"seed": 7, "count": 1, "truncation": 0.7}),
        "vae": store.add_image(image(4), kind="vae", model="mnist-vae", seed=None, params={"z": [0.1, -0.2]}),
        "chat": store.add_text("Paris is the capital of France. It sits on the Seine.", kind="chat",
                               model="tiny-llama", seed=5, params={"temperature": 0.7, "title": "Capitals"},
                               prompt="What is the capital of France?"),
    }
    return ids


class Recorder:
    """Collects calls of services.notify / services.reuse."""

    def __init__(self):
        self.calls = []

    def __call__(self, *args):
        self.calls.append(args)

    def levels(self, level: str) -> list[str]:
        return [text for text, lvl in self.calls if lvl == level]


@pytest.fixture
def services(store):
    from desktop.panels.base import Services

    worker = SimpleNamespace(submit=lambda *a, **k: 0, cancel=lambda *a, **k: None)  # the gallery runs no jobs
    return Services(worker=worker, registry=None, gallery=store, settings={}, notify=Recorder(),
                    reuse=Recorder(), item_saved=Recorder())


@pytest.fixture
def make_panel(qtbot, services, monkeypatch):
    """Build (and show) a GalleryPanel; confirmations answer yes unless a test says otherwise."""
    from desktop.panels import gallery_panel

    monkeypatch.setattr(gallery_panel, "confirm", lambda *args: True)
    built = []

    def build():
        panel = gallery_panel.GalleryPanel(services)
        qtbot.addWidget(panel)
        panel.resize(1000, 700)
        panel.show()
        qtbot.waitExposed(panel)
        built.append(panel)
        return panel

    yield build
    for panel in built:
        panel.loader.clear_queue()
        panel.loader.wait(5000)


def load_benchmark():
    """The benchmark module (its `populate` bulk-creates items quickly)."""
    spec = importlib.util.spec_from_file_location("gallery_scroll", ROOT / "benchmarks" / "gallery_scroll.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
