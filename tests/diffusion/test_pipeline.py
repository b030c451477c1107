"""Pipeline behaviour on the tiny fixture model: events, errors, batching, guidance modes, img2img."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from models.diffusion import pipeline
from models.diffusion.pipeline import GenerateArgs, Output, generate
from models.diffusion.sd_model import open_model
from models.runtime.errors import BadInput, ModelError
from models.runtime.events import Notice, Partial, Progress


def collect(model, **kw):
    args = GenerateArgs(**{"prompt": "a red circle", "steps": 4, "width": 64, "height": 64, **kw})
    events = list(generate(model, args))
    assert isinstance(events[-1], Output)
    return events[-1], events[:-1]


@pytest.fixture(scope="module")
def model(sessions, tiny_folder):
    return open_model(tiny_folder, sessions.get)


class CountingSession:
    """Wraps an ORT session and records the batch size of every call."""

    def __init__(self, inner):
        self.inner, self.batches = inner, []

    def get_inputs(self):
        return self.inner.get_inputs()

    def run(self, outputs, feeds):
        self.batches.append(feeds["sample"].shape[0])
        return self.inner.run(outputs, feeds)


def test_events_progress_and_previews(model):
    out, events = collect(model, steps=5, preview_every=2)
    progress = [e for e in events if isinstance(e, Progress)]
    assert [p.step for p in progress] == [1, 2, 3, 4, 5] and progress[-1].total == 5
    previews = [e for e in events if isinstance(e, Partial) and e.what == "preview"]
    assert len(previews) == 3  # steps 2, 4 and the last
    assert previews[0].payload.dtype == np.uint8 and previews[0].payload.shape == (16, 16, 3)
    assert out.images[0].shape == (64, 64, 3) and out.images[0].dtype == np.uint8


def test_same_seed_same_image_and_batch_rows_match_single_runs(model):
    a, _ = collect(model, seed=5, scheduler="Euler a")
    b, _ = collect(model, seed=5, scheduler="Euler a")
    np.testing.assert_array_equal(a.images[0], b.images[0])
    batch, _ = collect(model, seed=5, scheduler="Euler a", batch_size=2)
    second, _ = collect(model, seed=6, scheduler="Euler a")
    np.testing.assert_array_equal(batch.images[0], a.images[0])
    assert np.abs(batch.images[1].astype(int) - second.images[0].astype(int)).max() <= 1
    assert not np.array_equal(batch.images[0], batch.images[1])


def test_cfg_batches_uncond_and_cond_in_one_call(model):
    counting = CountingSession(model.unet)
    model.unet = counting
    try:
        collect(model, cfg=7.0, batch_size=2, steps=3)
        assert counting.batches == [4, 4, 4]
        counting.batches.clear()
        _, events = collect(model, cfg=1.0, batch_size=2, steps=3, negative="blurry")  # Turbo-style
        assert counting.batches == [2, 2, 2]  # no negative pass
        assert any("negative prompt is ignored" in e.text for e in events if isinstance(e, Notice))
    finally:
        model.unet = counting.inner


def test_sizes_must_be_multiples_of_8(model):
    with pytest.raises(BadInput, match="multiples of 8"):
        collect(model, width=60)


def test_too_large_is_refused_up_front_with_an_estimate(model, monkeypatch):
    monkeypatch.setattr(pipeline, "available_bytes", lambda: 1 << 30)
    with pytest.raises(BadInput, match=r"needs about [\d.]+ GB but only 1.0 GB"):
        collect(model, width=2048, height=2048)


def test_long_prompt_gives_a_notice(model):
    _, events = collect(model, prompt="red circle " * 60)
    notes = [e.text for e in events if isinstance(e, Notice)]
    assert any("longer than 75 tokens" in n for n in notes)


def test_filmstrip_frames(model):
    out, _ = collect(model, steps=6, filmstrip=3)
    assert [f["step"] for f in out.filmstrip] == [1, 3, 6]  # first, middle, last
    assert out.filmstrip[0]["x0"][0].shape == (32, 32, 3)
    assert out.filmstrip[0]["noisy"][0].shape == (32, 32, 3)


def test_img2img_unreadable_image_is_bad_input(model, tmp_path):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(BadInput, match="start image"):
        collect(model, init_image=str(bad))


def test_img2img_low_strength_follows_the_image(model, tmp_path):
    paths = []
    for k, value in enumerate((0, 255)):
        pixels = np.full((64, 64, 3), value, np.uint8)
        pixels[:, 32:] = 255 - value
        paths.append(tmp_path / f"in{k}.png")
        Image.fromarray(pixels).save(paths[-1])
    out, events = collect(model, init_image=str(paths[0]), strength=0.25, steps=8)
    assert sum(isinstance(e, Progress) for e in events) == 2  # 8 * 0.25 steps run

    def image_effect(strength):  # how much swapping the start image changes the result (same seed)
        a = collect(model, init_image=str(paths[0]), strength=strength, steps=8, seed=1)[0].images[0]
        b = collect(model, init_image=str(paths[1]), strength=strength, steps=8, seed=1)[0].images[0]
        return np.abs(a.astype(float) - b.astype(float)).mean()

    assert image_effect(0.25) > 2 * image_effect(1.0)


def test_img2img_without_encoder_is_a_model_error(sessions, tiny_folder, tmp_path, ):
    folder = tmp_path / "m"
    shutil.copytree(tiny_folder, folder)
    shutil.rmtree(folder / "vae_encoder")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "in.png")
    with pytest.raises(ModelError, match="no vae_encoder"):
        collect(open_model(folder, sessions.get), init_image=str(tmp_path / "in.png"))


def test_missing_submodel_is_one_line_model_error(sessions, tiny_folder, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(tiny_folder, folder)
    shutil.rmtree(folder / "unet")
    with pytest.raises(ModelError, match="missing unet/model.onnx") as info:
        open_model(folder, sessions.get)
    assert "\n" not in str(info.value)
    shutil.copytree(tiny_folder / "unet", folder / "unet")
    shutil.rmtree(folder / "tokenizer")
    with pytest.raises(ModelError, match="tokenizer"):
        open_model(folder, sessions.get)


def test_mismatched_latent_channels(sessions, tiny_folder, tmp_path):
    import onnx

    folder = tmp_path / "m"
    shutil.copytree(tiny_folder, folder)
    path = folder / "vae_decoder" / "model.onnx"
    graph = onnx.load(str(path))
    graph.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 16
    onnx.save(graph, str(path))
    with pytest.raises(ModelError, match="4 latent channels but the VAE decoder expects 16"):
        open_model(folder, sessions.get)


def test_nan_output_is_explained(model):
    class NanSession(CountingSession):
        def run(self, outputs, feeds):
            out = self.inner.run(outputs, feeds)
            return [np.full_like(out[0], np.nan)]

    model.unet = NanSession(model.unet)
    try:
        out, events = collect(model, steps=2)
    finally:
        model.unet = model.unet.inner
    notes = " ".join(e.text for e in events if isinstance(e, Notice))
    assert "NaN" in notes and "black" in notes
    assert out.images[0].max() == 0


def test_lcm_feeds_fp16_scalar_timestep_and_guidance_embedding(sessions, lcm_folder):
    lcm = open_model(lcm_folder, sessions.get)
    assert lcm.lcm
    seen = {}

    class Spy(CountingSession):
        def run(self, outputs, feeds):
            seen.update({k: (v.dtype, v.shape) for k, v in feeds.items()})
            return self.inner.run(outputs, feeds)

    lcm.unet = Spy(lcm.unet)
    out, _ = collect(lcm, scheduler="LCM", steps=2, cfg=8.0)
    assert seen["sample"] == (np.float16, (1, 4, 8, 8))  # no CFG batch for LCM
    assert seen["timestep"] == (np.int64, ())
    assert seen["timestep_cond"] == (np.float16, (1, 8))
    assert out.images[0].shape == (64, 64, 3)


def test_run_casts_feeds_to_declared_dtypes(tmp_path):
    """int64 ids, fp16 inputs: feeds are cast to what the session declares and outputs come back float32."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from models.diffusion.sd_model import run

    graph = helper.make_graph(
        [helper.make_node("Cast", ["input_ids"], ["as_half"], to=TensorProto.FLOAT16),
         helper.make_node("Add", ["as_half", "bias"], ["out"])], "g",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, 3]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT16, [1, 3])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT16, [1, 3])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(tmp_path / "m.onnx"))
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    out = run(session, {"input_ids": np.array([[1, 2, 3]], np.int32), "bias": np.full((1, 3), 0.5, np.float32)})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1.5, 2.5, 3.5]])
