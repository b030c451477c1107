"""The exported default model in resources/models/shapes-sd (onnxruntime only, no torch)."""
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from models.zoo.shapes import render, score, tokenizer

MODEL = Path(__file__).resolve().parents[2] / "resources" / "models" / "shapes-sd"
PARTS = ("text_encoder", "unet", "vae_decoder", "vae_encoder")


def _session(part: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(MODEL / part / "model.onnx"), providers=["CPUExecutionProvider"])


def _params() -> dict:
    return json.loads((MODEL / "genloom.json").read_text())["params"]


def test_layout_files_and_manifest():
    for rel in ("model_index.json", "MODEL_CARD.md", "preview.json", "scheduler/scheduler_config.json",
                "tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json",
                "tokenizer/special_tokens_map.json") + tuple(f"{p}/model.onnx" for p in PARTS):
        assert (MODEL / rel).is_file(), rel
    man = json.loads((MODEL / "genloom.json").read_text())
    assert man["kind"] == "diffusion" and man["name"] == "shapes"
    assert man["files"] == {"model_index": "model_index.json"}
    p = man["params"]
    assert p["default"] is True and p["width"] >= 64 and p["height"] >= 64
    assert p["latent_channels"] == 4 and p["vae_scale_factor"] in (4, 8) and p["scaling_factor"] > 0
    sched = json.loads((MODEL / "scheduler" / "scheduler_config.json").read_text())
    for key in ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "prediction_type",
                "timestep_spacing", "steps_offset"):
        assert key in sched
    assert sched["prediction_type"] == "epsilon"
    total = sum((MODEL / p / "model.onnx").stat().st_size for p in PARTS)
    assert total <= 30 * 2**20


def test_onnx_io_names_and_shapes():
    p = _params()
    h, w = p["height"] // p["vae_scale_factor"], p["width"] // p["vae_scale_factor"]
    tok = tokenizer.load(MODEL / "tokenizer")
    ids = tokenizer.encode(tok, ["a large red square in the center", ""])  # (2, 77)
    text = _session("text_encoder")
    assert text.get_inputs()[0].name == "input_ids"
    assert text.get_inputs()[0].type in ("tensor(int32)", "tensor(int64)")
    hidden = text.run(["last_hidden_state"], {"input_ids": ids.astype(np.int32 if "int32" in text.get_inputs()[0].type else np.int64)})[0]
    assert hidden.shape[:2] == (2, 77)
    unet = _session("unet")
    assert [i.name for i in unet.get_inputs()] == ["sample", "timestep", "encoder_hidden_states"]
    assert unet.get_outputs()[0].name == "out_sample"
    sample = np.zeros((2, 4, h, w), np.float32)
    for t in (np.array([500.0, 500.0], np.float32), np.array([500.0], np.float32)):
        out = unet.run(None, {"sample": sample, "timestep": t, "encoder_hidden_states": hidden})[0]
        assert out.shape == sample.shape and np.isfinite(out).all()
    dec = _session("vae_decoder")
    assert dec.get_inputs()[0].name == "latent_sample" and dec.get_outputs()[0].name == "sample"
    img = dec.run(None, {"latent_sample": sample})[0]
    assert img.shape == (2, 3, p["height"], p["width"]) and img.min() >= -1 and img.max() <= 1


def test_vae_round_trip_keeps_colour_and_preview_matches():
    p = _params()
    scene = render.Scene([render.Obj("red", "square", "large", "center")], "blue")
    img = render.draw(scene)
    x = (img.astype(np.float32) / 127.5 - 1).transpose(2, 0, 1)[None]  # (1, 3, 64, 64)
    enc, dec = _session("vae_encoder"), _session("vae_decoder")
    assert enc.get_inputs()[0].name == "sample" and enc.get_outputs()[0].name == "latent_sample"
    z = enc.run(None, {"sample": x})[0]  # (1, 4, 16, 16)
    assert z.shape == (1, 4, 64 // p["vae_scale_factor"], 64 // p["vae_scale_factor"])
    back = dec.run(None, {"latent_sample": z})[0]
    rgb = ((back[0].transpose(1, 2, 0) + 1) * 127.5).clip(0, 255).astype(np.uint8)
    assert score.find(rgb, (0, 64, 0, 64)).colour == "red"
    prev = json.loads((MODEL / "preview.json").read_text())
    m, b = np.array(prev["matrix"]), np.array(prev["bias"])
    assert m.shape == (3, 4) and b.shape == (3,)
    guess = np.einsum("rc,chw->rhw", m, z[0] * p["scaling_factor"]) + b[:, None, None]  # (3, 16, 16)
    nearest = lambda v: score.NAMES[int(np.argmin(((score.PALETTE - (v + 1) * 127.5) ** 2).sum(1)))]
    assert nearest(guess[:, 8, 8]) == "red"
    corner = guess[:, 1, 1]  # a linear map is rough: the blue background must at least read as blue
    assert corner[2] > corner[0] + 0.3 and corner[2] > corner[1] + 0.3
    assert np.abs(guess - x[0, :, ::4, ::4]).mean() < 0.35
