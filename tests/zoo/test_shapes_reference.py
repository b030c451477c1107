"""Reference check: diffusers' own ONNX SD pipeline runs the exported shapes folder unchanged."""
from pathlib import Path

import numpy as np
import pytest

MODEL = Path(__file__).resolve().parents[2] / "resources" / "models" / "shapes-sd"


@pytest.mark.heavy
def test_diffusers_onnx_pipeline_runs_shapes_model():
    pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    transformers = pytest.importorskip("transformers")
    tok = transformers.CLIPTokenizer.from_pretrained(str(MODEL / "tokenizer"))
    from models.zoo.shapes import tokenizer as ours

    text = "a large red square in the center on a blue background"
    assert tok(text, padding="max_length", max_length=77).input_ids == \
        ours.encode(ours.load(MODEL / "tokenizer"), [text])[0].tolist()
    pipe = diffusers.OnnxStableDiffusionPipeline.from_pretrained(str(MODEL), provider="CPUExecutionProvider")
    # diffusers' legacy ONNX pipeline multiplies numpy latents by Euler's tensor sigma; DDIM avoids that.
    pipe.scheduler = diffusers.DDIMScheduler.from_config(pipe.scheduler.config)
    # diffusers' ONNX pipeline assumes 8 pixels per latent pixel: 128 asks for our 16x16 latents.
    out = pipe(text, height=128, width=128, num_inference_steps=12, guidance_scale=5.0,
               generator=np.random.RandomState(0), output_type="np")
    img = (out.images[0] * 255).round().astype(np.uint8)
    assert img.shape == (64, 64, 3)
    assert np.abs(img[2, 2].astype(int) - (30, 60, 220)).max() < 60  # blue background corner
