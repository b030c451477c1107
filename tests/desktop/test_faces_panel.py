"""The faces panel, driven as a user would: generate, browse, interpolate, reuse, bad drops."""
from __future__ import annotations

import pytest

from desktop.main_window import MainWindow
from models.gallery import pngmeta


@pytest.fixture
def window(qtbot):
    window = MainWindow(provider="cpu")
    qtbot.addWidget(window)
    window.show()
    yield window
    window.worker.shutdown()


def generate(qtbot, window, count=4, seed=3):
    panel = window.show_panel("faces")
    panel.count.setValue(count)
    panel.seed.setValue(seed)
    panel.generate()
    wait_done(qtbot, panel)
    return panel


def wait_done(qtbot, panel):
    """Wait for this panel's own job (other panels' jobs also fire worker.finished)."""
    qtbot.waitUntil(lambda: panel.request_id is None, timeout=60000)


def test_generate_fills_the_grid_and_the_gallery(qtbot, window):
    panel = generate(qtbot, window)
    assert panel.grid.count() == 4
    assert [panel.grid.item(i).text() for i in range(4)] == ["seed 3", "seed 4", "seed 5", "seed 6"]
    items = window.gallery.list(kind="faces")
    assert len(items) == 4
    assert sorted(i.seed for i in items) == [3, 4, 5, 6]


def test_next_seeds_moves_by_the_count(qtbot, window):
    panel = generate(qtbot, window, count=2, seed=10)
    panel.next_button.click()
    wait_done(qtbot, panel)
    assert panel.seed.value() == 12
    assert panel.grid.item(0).text() == "seed 12"


def test_interpolate_two_selected_faces(qtbot, window):
    panel = generate(qtbot, window, count=3, seed=0)
    panel.frames.setValue(5)
    panel.grid.item(0).setSelected(True)
    panel.grid.item(2).setSelected(True)
    panel.interpolate_button.click()
    wait_done(qtbot, panel)
    assert panel.grid.count() == 5
    assert panel.grid.item(0).text().endswith("|Δz| 0.0")
    assert panel.gif_button.isEnabled()
    first = panel.last["images"][0]
    assert first.shape == (64, 64, 3)


def test_interpolate_needs_two_faces(qtbot, window):
    panel = generate(qtbot, window, count=2)
    panel.grid.clearSelection()
    panel.interpolate_button.click()
    assert window.message_bar.isVisible()
    assert "exactly two" in window.message_bar.label.text()


def test_dropping_a_genloom_png_restores_the_settings(qtbot, window, tmp_path):
    panel = window.show_panel("faces")
    png = tmp_path / "face.png"
    png.write_bytes(pngmeta.encode_png(__import__("numpy").zeros((4, 4, 3), "uint8"),
                                       {"kind": "faces", "model": "faces-dcgan",
                                        "params": {"seed": 4242, "count": 9, "truncation": 0.7}}))
    window.open_path(png)
    assert panel.seed.value() == 4242
    assert panel.count.value() == 9
    assert abs(panel.truncation.value() - 0.7) < 1e-6


def test_dropping_a_non_image_shows_a_message(qtbot, window, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    window.open_path(text)
    assert window.message_bar.isVisible()
    assert "not a readable image" in window.message_bar.label.text()


def test_cancel_from_escape(qtbot, window):
    panel = window.show_panel("faces")
    panel.count.setValue(64)
    panel.generate()
    qtbot.waitUntil(lambda: window.worker.running == panel.request_id, timeout=10000)
    window.cancel_current()
    qtbot.waitUntil(lambda: panel.generate_button.isEnabled(), timeout=30000)
    # Either the cancel landed (caption says so, fewer faces) or the job had already finished: never half-way.
    if panel.caption.text() == "Stopped.":
        assert panel.grid.count() < 64
    else:
        assert panel.grid.count() == 64
    assert not panel.cancel_button.isEnabled()
