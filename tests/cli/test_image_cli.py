"""`genloom image` with the bundled shapes model: reproducible PNGs with A1111 parameters, the filmstrip GIF, bad input."""
from __future__ import annotations

import json

from PIL import Image

from tests.conftest import run_cli


def _image(tmp_path, *extra):
    home = {"GENLOOM_HOME": str(tmp_path / "home")}
    return run_cli("image", "--prompt", "a yellow star", "--steps", "20", "--seed", "1", "--json", *extra, env=home)


def test_same_request_same_png_with_parameters(tmp_path):
    runs = [_image(tmp_path, "--out", tmp_path / f"out{i}") for i in (1, 2)]
    for run in runs:
        assert run.returncode == 0, run.stderr
    first, second = (json.loads(run.stdout) for run in runs)
    assert first["model"] == "shapes" and first["seed"] == 1 and first["steps"] == 20
    assert len(first["gallery_ids"]) == 1 and second["gallery_ids"] != first["gallery_ids"]
    a, b = (open(r["files"][0], "rb").read() for r in (first, second))
    assert a == b
    with Image.open(first["files"][0]) as png:
        assert png.size == (64, 64)
        assert png.info["parameters"].startswith("a yellow star\nSteps: 20, Sampler: ")


def test_filmstrip_flag_writes_a_gif(tmp_path):
    run = _image(tmp_path, "--filmstrip", "--out", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    gif = json.loads(run.stdout)["filmstrip_file"]
    assert gif.endswith("filmstrip-s1.gif")
    with Image.open(gif) as animation:
        assert animation.n_frames == 8 and animation.size[1] >= 256


def test_odd_size_is_one_line_exit_2(tmp_path):
    run = _image(tmp_path, "--width", "65")
    assert run.returncode == 2 and "multiples of" in run.stderr and len(run.stderr.strip().splitlines()) == 1
