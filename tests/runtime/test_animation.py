"""GIF and PNG-frame export of interpolation strips."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from models.runtime.animation import save_gif, save_png_frames
from models.runtime.errors import BadInput


def frames(n=4):
    return [np.full((8, 8, 3), 40 * i, np.uint8) for i in range(n)]


def test_gif_has_every_frame_and_the_speed(tmp_path):
    path = save_gif(frames(), tmp_path / "a.gif", fps=10)
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.info["duration"] == 100 and gif.info.get("loop") == 0


def test_gif_bounce_plays_back(tmp_path):
    with Image.open(save_gif(frames(), tmp_path / "b.gif", bounce=True)) as gif:
        assert gif.n_frames == 6


def test_gif_refuses_bad_input(tmp_path):
    with pytest.raises(BadInput):
        save_gif([], tmp_path / "c.gif")
    with pytest.raises(BadInput):
        save_gif(frames(), tmp_path / "c.png")
    with pytest.raises(BadInput):
        save_gif(frames(), tmp_path / "c.gif", fps=0)


def test_png_frames_are_numbered_in_order(tmp_path):
    paths = save_png_frames(frames(3), tmp_path / "out", stem="face")
    assert [p.name for p in paths] == ["face-000.png", "face-001.png", "face-002.png"]
    assert np.asarray(Image.open(paths[2]))[0, 0].tolist() == [80, 80, 80]
