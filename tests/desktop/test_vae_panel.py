"""The VAE panel: sliders decode live (latest wins), lock + randomize, encode a dropped image, reuse."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop.main_window import MainWindow
from models.runtime.registry import Registry
from tests.vae.conftest import install


@pytest.fixture
def window(qtbot):
    install(Registry(), "tiny-vae", z_dim=4)
    window = MainWindow(provider="cpu")
    qtbot.addWidget(window)
    window.show()
    panel = window.show_panel("vae")
    panel.model.setCurrentText("tiny-vae")
    qtbot.waitUntil(lambda: panel.last_image is not None, timeout=20000)
    yield window
    window.worker.shutdown()


def test_one_slider_per_axis_and_live_decode(qtbot, window):
    panel = window.panels["vae"]
    assert len(panel.rows) == 4
    before = panel.last_image.copy()
    shown = panel.shown_id
    panel.rows[0].slider.setValue(250)
    qtbot.waitUntil(lambda: panel.shown_id > shown, timeout=10000)
    assert not np.array_equal(before, panel.last_image)


def test_a_drag_decodes_the_newest_latent_last(qtbot, window):
    panel = window.panels["vae"]
    for value in range(-300, 301, 20):  # a fast drag: 31 moves
        panel.rows[1].slider.setValue(value)
    last = panel.latest_id
    qtbot.waitUntil(lambda: panel.shown_id == last, timeout=20000)
    assert panel.rows[1].get() == 3.0


def test_randomize_keeps_locked_axes(qtbot, window):
    panel = window.panels["vae"]
    panel.rows[2].slider.setValue(123)
    panel.rows[2].lock.setChecked(True)
    panel.randomize()
    assert panel.rows[2].get() == 1.23
    panel.reset()
    assert all(v == 0 for v in panel.sliders())


def test_drop_an_image_encodes_it(qtbot, window, tmp_path):
    panel = window.panels["vae"]
    picture = tmp_path / "photo.jpg"
    Image.fromarray(np.random.RandomState(1).randint(0, 255, (40, 30, 3), np.uint8)).save(picture)
    window.open_path(picture)
    qtbot.waitUntil(lambda: panel.recon_view.pixmap() is not None and not panel.recon_view.pixmap().isNull(), timeout=20000)
    assert any(abs(v) > 0 for v in panel.sliders())
    assert window.gallery.list(kind="vae")


def test_reuse_restores_the_sliders_exactly(qtbot, window):
    panel = window.panels["vae"]
    latent = (0.5, -1.0, 0.25, 2.0)
    window.reuse("vae", {"model": "tiny-vae", "latent": list(latent)})
    assert np.allclose(panel.latent(), latent, atol=0.02)
