"""PNG metadata: the genloom JSON chunk and A1111's `parameters` text survive a save/load round trip."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from models.gallery import pngmeta
from models.runtime.errors import BadInput

from .conftest import image

PARAMS = {"prompt": "a lighthouse at dusk, oil painting", "negative": "blurry, text", "steps": 25,
          "scheduler": "DPM++ 2M Karras", "cfg": 7.5, "seed": 424242, "width": 512, "height": 384,
          "model": "tiny-sd"}


def test_genloom_json_round_trip(tmp_path):
    meta = {"kind": "image", "model": "tiny-sd", "seed": np.int64(7), "prompt": "ünïcode ✓",
            "params": {"steps": np.int32(4), "cfg": np.float32(7.5), "latent": np.zeros(2), "init": tmp_path}}
    path = tmp_path / "a.png"
    path.write_bytes(pngmeta.encode_png(image(0, 32), meta))
    read, a1111 = pngmeta.read_meta(path)
    assert a1111 is None
    assert read == {"kind": "image", "model": "tiny-sd", "seed": 7, "prompt": "ünïcode ✓",
                    "params": {"steps": 4, "cfg": 7.5, "latent": [0.0, 0.0], "init": str(tmp_path)}}
    with Image.open(path) as picture:
        assert np.array_equal(np.asarray(picture.convert("RGB")), image(0, 32))  # pixels untouched


def test_a1111_text_round_trip_through_png(tmp_path):
    text = pngmeta.a1111_parameters(PARAMS)
    assert text.splitlines() == [
        "a lighthouse at dusk, oil painting",
        "Negative prompt: blurry, text",
        "Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 424242, Size: 512x384, Model: tiny-sd",
    ]
    path = tmp_path / "b.png"
    path.write_bytes(pngmeta.encode_png(image(1), {"kind": "image", "params": PARAMS}, text))
    meta, stored = pngmeta.read_meta(path)
    assert stored == text and meta["params"] == PARAMS
    assert pngmeta.parse_a1111(stored) == PARAMS


def test_store_writes_both_chunks(store):
    text = pngmeta.a1111_parameters(PARAMS)
    item = store.get(store.add_image(image(2), kind="image", model="tiny-sd", params=PARAMS, seed=424242,
                                     prompt=PARAMS["prompt"], a1111=text))
    meta, stored = pngmeta.read_meta(item.path)
    assert meta["params"] == PARAMS and meta["seed"] == 424242 and meta["kind"] == "image"
    assert pngmeta.parse_a1111(stored)["seed"] == 424242


def test_parse_a1111_from_other_tools():
    text = ('masterpiece, a cat\nwearing a hat\nNegative prompt: lowres\nbad hands\n'
            'Steps: 30, Sampler: Euler a, CFG scale: 6, Seed: 12, Size: 640x448, Model hash: abc123, '
            'Model: sd15, Denoising strength: 0.55, Clip skip: 2, Lora hashes: "x: 1a, y: 2b", Version: v1.9')
    parsed = pngmeta.parse_a1111(text)
    assert parsed == {"prompt": "masterpiece, a cat\nwearing a hat", "negative": "lowres\nbad hands", "steps": 30,
                      "scheduler": "Euler a", "cfg": 6.0, "seed": 12, "width": 640, "height": 448,
                      "model": "sd15", "strength": 0.55}
    assert pngmeta.parse_a1111("just a prompt") == {"prompt": "just a prompt", "negative": ""}


def test_img2img_strength_written_only_with_an_init_image():
    plain = pngmeta.a1111_parameters({**PARAMS, "strength": 0.6})
    assert "Denoising strength" not in plain
    with_init = pngmeta.a1111_parameters({**PARAMS, "strength": 0.6, "init_image": "in.png"})
    assert pngmeta.parse_a1111(with_init)["strength"] == 0.6


def test_non_image_is_bad_input(tmp_path):
    path = tmp_path / "x.png"
    path.write_bytes(b"not a png at all")
    with pytest.raises(BadInput):
        pngmeta.read_meta(path)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    assert pngmeta.read_meta(path) == (None, None)  # a plain PNG has neither chunk
