"""Genloom's ONNX pipeline vs diffusers' torch pipelines on the same weights, latents and noise."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from models.diffusion.pipeline import GenerateArgs, Output, generate
from models.diffusion.sd_model import open_model

from .conftest import FIXTURES

CASES = json.loads((FIXTURES / "pipeline_cases.json").read_text())
GOLD = np.load(FIXTURES / "pipeline.npz")


def finish(gen):
    events = list(gen)
    assert isinstance(events[-1], Output)
    return events[-1], events[:-1]


@pytest.mark.parametrize("case,name,steps,cfg,strength", CASES["runs"], ids=[r[0] for r in CASES["runs"]])
def test_matches_diffusers(case, name, steps, cfg, strength, sessions, tiny_folder, lcm_folder, tmp_path):
    folder = lcm_folder if name == "LCM" else tiny_folder
    model = open_model(folder, sessions.get)
    init = None
    if strength < 1.0:
        init = tmp_path / "init.png"
        Image.fromarray(GOLD["init_image"]).save(init)
    args = GenerateArgs(prompt=CASES["prompt"], negative=CASES["negative"], steps=steps, cfg=cfg, scheduler=name,
                        seed=CASES["seed"], width=64, height=64, init_image=str(init) if init else None,
                        strength=strength)
    out, _ = finish(generate(model, args))
    got = out.images[0].astype(np.float32) / 255.0
    want = GOLD[case].astype(np.float32) / 65535.0
    tol = 3 / 255 if name == "LCM" else 1.01 / 255  # uint8 rounding; LCM runs with fp16 I/O
    assert np.abs(got - want).max() <= tol, np.abs(got - want).max() * 255
    assert np.abs(got - want).mean() < 0.5 / 255
