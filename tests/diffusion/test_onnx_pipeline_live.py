"""Heavy: diffusers' own OnnxStableDiffusionPipeline on the same ONNX folder agrees with Genloom's pipeline."""
from __future__ import annotations

import numpy as np
import pytest

from models.diffusion.pipeline import GenerateArgs, Output, generate
from models.diffusion.sd_model import open_model

PEER = {"DDIM": "DDIMScheduler", "DPM++ 2M": "DPMSolverMultistepScheduler", "PLMS": "PNDMScheduler"}


@pytest.mark.heavy
@pytest.mark.parametrize("name", list(PEER))
def test_onnx_pipeline_agrees(name, sessions, tiny_folder):
    pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    pipe = diffusers.OnnxStableDiffusionPipeline.from_pretrained(
        str(tiny_folder), provider="CPUExecutionProvider", safety_checker=None, feature_extractor=None,
        requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    pipe.scheduler = getattr(diffusers, PEER[name]).from_config({**pipe.scheduler.config, "skip_prk_steps": True})
    seed, steps = 77, 7
    latents = np.random.default_rng(seed).standard_normal((1, 4, 8, 8), dtype=np.float32)  # Genloom's image 0 draw
    want = pipe("a blue square", negative_prompt="red", height=64, width=64, num_inference_steps=steps,
                guidance_scale=6.0, latents=latents, output_type="np").images[0]
    model = open_model(tiny_folder, sessions.get)
    events = list(generate(model, GenerateArgs(prompt="a blue square", negative="red", steps=steps, cfg=6.0,
                                               scheduler=name, seed=seed, width=64, height=64)))
    assert isinstance(events[-1], Output)
    got = events[-1].images[0].astype(np.float32) / 255
    assert np.abs(got - want).max() <= 1.01 / 255
