"""The image panel, used as a person would: queue jobs, watch the preview, cancel, img2img, reuse, PNG drop."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from desktop.main_window import MainWindow
from models.diffusion.importer import import_model
from models.gallery import pngmeta
from models.runtime.registry import Registry

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_sd" / "model"


@pytest.fixture
def window(qtbot):
    import_model(FIXTURE, Registry(), name="tiny")
    window = MainWindow(provider="cpu")
    qtbot.addWidget(window)
    window.show()
    panel = window.show_panel("image")
    panel.model.setCurrentText("tiny")
    panel.width_box.setCurrentText("64")
    panel.height_box.setCurrentText("64")
    panel.steps.setValue(4)
    panel.filmstrip.setValue(3)
    yield window
    window.worker.shutdown()


def test_queue_runs_every_batch_with_preview_and_filmstrip(qtbot, window):
    panel = window.panels["image"]
    panel.prompt.setPlainText("a red circle")
    panel.seed.setValue(11)
    panel.batch_count.setValue(3)
    previews = []
    window.worker.partial.connect(lambda i, what, p: previews.append(what))
    panel.generate()
    assert len(panel.queue) == 2, "one job runs, two wait in the visible queue"
    qtbot.waitUntil(lambda: panel.results.count() == 3 and panel.request_id is None, timeout=60000)
    assert [panel.results.item(i).text() for i in range(3)] == ["seed 11", "seed 12", "seed 13"]
    assert "preview" in previews
    assert panel.strip_x0.count() == 3 and panel.strip_noisy.count() == 3
    items = window.gallery.list(kind="image")
    assert len(items) == 3
    meta, a1111 = pngmeta.read_meta(items[0].path)
    assert "Steps: 4" in a1111 and "Seed: 1" in a1111


def test_queue_items_can_be_removed_and_reordered(qtbot, window):
    panel = window.panels["image"]
    panel.prompt.setPlainText("first")
    panel.steps.setValue(30)
    panel.generate()  # runs
    panel.prompt.setPlainText("second")
    panel.generate()
    panel.prompt.setPlainText("third")
    panel.generate()
    assert [r.prompt for r in panel.queue.requests()] == ["second", "third"]
    panel.queue.list.setCurrentRow(1)
    panel.queue._move(-1)
    assert [r.prompt for r in panel.queue.requests()] == ["third", "second"]
    panel.queue.list.setCurrentRow(1)
    panel.queue.remove_selected()
    assert [r.prompt for r in panel.queue.requests()] == ["third"]
    panel.cancel()
    qtbot.waitUntil(lambda: panel.running is not None and panel.running.prompt == "third", timeout=30000)
    panel.cancel()
    qtbot.waitUntil(lambda: panel.request_id is None, timeout=30000)


def test_empty_prompt_is_refused_with_a_message(qtbot, window):
    panel = window.panels["image"]
    panel.prompt.setPlainText("   ")
    panel.generate()
    assert len(panel.queue) == 0 and panel.request_id is None
    assert "prompt" in window.message_bar.label.text().lower()


def test_bad_size_fails_with_one_line_and_the_app_lives(qtbot, window):
    panel = window.panels["image"]
    panel.prompt.setPlainText("x")
    panel.width_box.addItem("65")
    panel.width_box.setCurrentText("65")
    with qtbot.waitSignal(window.worker.failed, timeout=30000) as blocker:
        panel.generate()
    assert "8" in blocker.args[1] and "\n" not in blocker.args[1]
    assert window.message_bar.isVisible()
    assert panel.generate_button.isEnabled()


def test_img2img_by_drop_and_reuse_from_a1111_png(qtbot, window, tmp_path):
    panel = window.panels["image"]
    start = tmp_path / "start.png"
    Image.fromarray(np.full((64, 64, 3), 200, np.uint8)).save(start)
    window.open_path(start)  # a plain image on the image panel: img2img
    assert panel.init_image == str(start)
    a1111 = tmp_path / "other.png"
    text = "a blue star\nNegative prompt: blurry\nSteps: 7, Sampler: DDIM, CFG scale: 4.5, Seed: 99, Size: 64x64, Model: tiny"
    a1111.write_bytes(pngmeta.encode_png(np.zeros((8, 8, 3), np.uint8), None, text))
    window.open_path(a1111)
    assert panel.prompt.toPlainText() == "a blue star"
    assert panel.negative.toPlainText() == "blurry"
    assert panel.steps.value() == 7 and panel.scheduler.currentText() == "DDIM"
    assert panel.seed.value() == 99 and abs(panel.cfg.value() - 4.5) < 1e-6


def test_filmstrip_exports_as_a_gif_of_both_rows(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    panel = window.panels["image"]
    panel.prompt.setPlainText("a red circle")
    panel.generate()
    qtbot.waitUntil(lambda: panel.request_id is None and panel.results.count() == 1, timeout=60000)
    assert panel.strip_gif.isEnabled()
    target = tmp_path / "strip.gif"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    panel.strip_gif.click()
    with Image.open(target) as gif:
        assert gif.n_frames == 3
        width, height = gif.size
    assert height >= 256 and width > 2 * height * 0.9, "x̂₀ and the noisy latent side by side, enlarged"
    assert "Saved" in window.message_bar.label.text()


def test_queue_items_show_their_seed_first(qtbot, window):
    panel = window.panels["image"]
    panel.prompt.setPlainText("a long prompt that would push the seed out of a narrow queue list")
    panel.steps.setValue(30)
    panel.seed.setValue(5)
    panel.batch_count.setValue(3)
    panel.generate()
    texts = [panel.queue.list.item(i).text() for i in range(panel.queue.list.count())]
    assert [t.split(" · ")[0] for t in texts] == ["seed 6", "seed 7"]
    while len(panel.queue):
        panel.queue.list.setCurrentRow(0)
        panel.queue.remove_selected()
    panel.cancel()
    qtbot.waitUntil(lambda: panel.request_id is None, timeout=60000)
