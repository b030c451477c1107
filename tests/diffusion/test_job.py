"""The diffusion engine through models.jobs with a real Context, registry and gallery."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from models import jobs
from models.diffusion.job import ImageRequest, request_from_params, resolve
from models.gallery.pngmeta import parse_a1111, read_meta
from models.runtime.errors import BadInput
from models.runtime.events import Partial, Progress, Result


def drive(ctx, request):
    events = []
    payload = jobs.drive(request, ctx, on_event=events.append)
    return payload, events


def test_txt2img_saves_with_a1111_metadata(ctx):
    request = ImageRequest(model="tiny", prompt="a red circle", negative="blurry", steps=3, cfg=5.0,
                           scheduler="DPM++ 2M Karras", seed=42, width=64, height=64, batch_size=2, batch_count=2)
    payload, events = drive(ctx, request)
    assert isinstance(events[-1], Result)
    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.step for p in progress] == list(range(1, 7)) and progress[-1].total == 6
    assert len(payload["files"]) == 4 and len(payload["gallery_ids"]) == 4 and len(payload["images"]) == 4
    assert payload["model"] == "tiny" and payload["seed"] == 42 and payload["scheduler"] == "DPM++ 2M Karras"
    assert payload["steps"] == 3 and payload["elapsed_s"] > 0 and payload["s_per_step"] > 0
    assert sum(isinstance(e, Partial) and e.what == "image" for e in events) == 4
    meta, a1111 = read_meta(payload["files"][3])
    parsed = parse_a1111(a1111)
    assert parsed["seed"] == 45 and parsed["scheduler"] == "DPM++ 2M Karras" and parsed["steps"] == 3
    assert parsed["prompt"] == "a red circle" and parsed["negative"] == "blurry"
    assert (parsed["width"], parsed["height"], parsed["cfg"]) == (64, 64, 5.0)
    assert meta["seed"] == 45 and ctx.gallery.get(payload["gallery_ids"][3]).seed == 45


def test_reuse_settings_reproduces_the_image(ctx):
    first, _ = drive(ctx, ImageRequest(model="tiny", prompt="blue square", steps=3, seed=7, width=64, height=64,
                                       scheduler="Euler a"))
    meta, a1111 = read_meta(first["files"][0])
    again, _ = drive(ctx, request_from_params({**parse_a1111(a1111), "model": "tiny", "save": False}))
    np.testing.assert_array_equal(first["images"][0], again["images"][0])
    assert again["files"] == [] and again["gallery_ids"] == []


def test_model_defaults_and_random_seed(ctx):
    settings = resolve(ImageRequest(prompt="x"), ctx.registry.get("diffusion", "tiny").params)
    assert settings["width"] == 64 and settings["scheduler"] == "Euler a" and settings["steps"] == 20
    assert 0 <= settings["seed"] < 2**32


def test_img2img_and_filmstrip(ctx, tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(np.full((80, 48, 3), 200, np.uint8)).save(src)  # resized to the request size
    payload, _ = drive(ctx, ImageRequest(model="tiny", prompt="x", steps=4, seed=1, width=64, height=64,
                                         init_image=str(src), strength=0.5, filmstrip=2, save=False))
    assert payload["images"][0].shape == (64, 64, 3)
    assert [f["step"] for f in payload["filmstrip"]] == [1, 2]


@pytest.mark.parametrize("bad,match", [
    ({"width": 63}, "multiples of 8"), ({"steps": 0}, "Steps"), ({"scheduler": "Nope"}, "Unknown scheduler"),
    ({"batch_size": 0}, "Batch size"), ({"model": "missing"}, "No diffusion model named"),
])
def test_bad_requests(ctx, bad, match):
    with pytest.raises(BadInput, match=match):
        drive(ctx, ImageRequest(**{"model": "tiny", "prompt": "x", "steps": 2, "width": 64, "height": 64, **bad}))
