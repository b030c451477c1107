"""The VAE engine on tiny ONNX models: decode, encode, traversal, interpolation, errors, gallery."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from models.runtime.errors import BadInput, ModelError
from models.runtime.events import Partial
from models.vae import job
from models.vae.explorer import encode_unavailable_reason

from .conftest import events_of, install


@pytest.fixture(scope="module")
def models(ctx):
    reg = ctx.registry
    install(reg, "tiny-vae", z_dim=4)
    install(reg, "tiny-decoder-only", z_dim=4, encoder=False)
    install(reg, "tiny-grey", z_dim=3, encoder=False, channels=1, head="Sigmoid", value_range=(0, 1))
    q, _ = np.linalg.qr(np.random.default_rng(1).standard_normal((4, 4)))
    axes = {"method": "pca", "mean": [0.1, -0.2, 0.3, 0.0], "components": q.T.tolist(), "sigma": [2.0, 1.0, 0.5, 0.25]}
    install(reg, "tiny-axes", z_dim=4, axes=axes)
    folder = install(reg, "tiny-wrong-z", z_dim=4, encoder=False)
    manifest = json.loads((folder / "genloom.json").read_text())
    manifest["params"]["z_dim"] = 5
    (folder / "genloom.json").write_text(json.dumps(manifest))
    return reg


def test_decode_is_deterministic_and_reports_time(ctx, models):
    request = job.DecodeRequest(model="tiny-vae", latent=(0.5, -1.0, 0.25, 2.0))
    events, first = events_of(job.run(request, ctx))
    _, second = events_of(job.run(request, ctx))
    assert first["images"][0].shape == (8, 8, 3) and first["images"][0].dtype == np.uint8
    np.testing.assert_array_equal(first["images"][0], second["images"][0])
    assert first["latent"] == [0.5, -1.0, 0.25, 2.0]
    assert first["decode_ms"] > 0 and first["files"] == [] and first["gallery_ids"] == []
    assert first["model"] == "tiny-vae"
    assert any(isinstance(e, Partial) and e.what == "image" for e in events)
    other = events_of(job.run(job.DecodeRequest(model="tiny-vae", latent=(0.0, 1.0, 0.0, 0.0)), ctx))[1]
    assert not np.array_equal(other["images"][0], first["images"][0])


@pytest.mark.parametrize("latent", [(0.0, 1.0), (0.0,) * 5, (), (0.0, float("inf"), 0.0, 0.0)])
def test_bad_latent_is_bad_input(ctx, models, latent):
    with pytest.raises(BadInput) as err:
        list(job.run(job.DecodeRequest(model="tiny-vae", latent=latent), ctx))
    assert "\n" not in str(err.value)


def test_decoder_only_model_disables_encode(ctx, models, tmp_path):
    manifest = ctx.registry.get("vae", "tiny-decoder-only")
    reason = encode_unavailable_reason(manifest)
    assert reason and "decoder" in reason and "\n" not in reason
    assert encode_unavailable_reason(ctx.registry.get("vae", "tiny-vae")) is None
    Image.new("RGB", (8, 8)).save(tmp_path / "x.png")
    with pytest.raises(BadInput) as err:
        list(job.run(job.EncodeRequest(model="tiny-decoder-only", image_path=str(tmp_path / "x.png")), ctx))
    assert str(err.value) == reason
    # decoding still works without an encoder
    payload = events_of(job.run(job.DecodeRequest(model="tiny-decoder-only", latent=(0.0,) * 4), ctx))[1]
    assert payload["images"][0].shape == (8, 8, 3)


def test_encode_recovers_the_latent_of_a_decoded_image(ctx, models, tmp_path):
    z = (0.3, -0.2, 0.1, 0.4)
    image = events_of(job.run(job.DecodeRequest(model="tiny-vae", latent=z), ctx))[1]["images"][0]
    Image.fromarray(image).resize((40, 40), Image.NEAREST).save(tmp_path / "face.png")
    payload = events_of(job.run(job.EncodeRequest(model="tiny-vae", image_path=str(tmp_path / "face.png")), ctx))[1]
    assert payload["input"].shape == (8, 8, 3)
    assert len(payload["latent"]) == 4 and len(payload["logvar"]) == 4
    assert payload["encode_ms"] > 0 and payload["decode_ms"] > 0
    # the tiny encoder inverts tanh only approximately, but the reconstruction must be close to the input
    error = np.abs(payload["images"][0].astype(int) - image.astype(int)).mean()
    assert error < 25


def test_encode_unreadable_file_is_bad_input(ctx, models, tmp_path):
    (tmp_path / "bad.png").write_text("nope")
    with pytest.raises(BadInput):
        list(job.run(job.EncodeRequest(model="tiny-vae", image_path=str(tmp_path / "bad.png")), ctx))
    with pytest.raises(BadInput):
        list(job.run(job.EncodeRequest(model="tiny-vae", image_path=""), ctx))


def test_traversal_grid_images_and_save(ctx, models):
    request = job.TraversalRequest(model="tiny-axes", latent=(0.1, -0.2, 0.3, 0.0), axis_a=0, axis_b=2, steps=3, save=True)
    events, payload = events_of(job.run(request, ctx))
    assert len(payload["images"]) == 9 and payload["grid"] == [3, 3]
    assert payload["values"] == [-3.0, 0.0, 3.0]
    assert sum(isinstance(e, Partial) for e in events) == 9
    np.testing.assert_allclose(payload["sliders"], 0.0, atol=1e-6)  # the base latent is the mean
    assert len(payload["gallery_ids"]) == 1
    item = ctx.gallery.get(payload["gallery_ids"][0])
    assert item.kind == "vae" and item.params["axis_a"] == 0 and len(item.params["latent"]) == 4
    assert Image.open(payload["files"][0]).size == (24, 24)
    with pytest.raises(BadInput):
        list(job.run(job.TraversalRequest(model="tiny-axes", latent=(0.0,) * 4, axis_a=0, axis_b=4), ctx))
    with pytest.raises(BadInput):
        list(job.run(job.TraversalRequest(model="tiny-axes", latent=(0.0,) * 4, steps=1), ctx))


def test_interpolate_ends_on_both_latents_and_saves_each_frame(ctx, models):
    za, zb = (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, -1.0, 0.5)
    payload = events_of(job.run(job.InterpolateRequest(model="tiny-vae", latent_a=za, latent_b=zb, frames=5, save=True), ctx))[1]
    assert len(payload["images"]) == 5 and len(payload["gallery_ids"]) == 5
    a = events_of(job.run(job.DecodeRequest(model="tiny-vae", latent=za), ctx))[1]["images"][0]
    b = events_of(job.run(job.DecodeRequest(model="tiny-vae", latent=zb), ctx))[1]["images"][0]
    np.testing.assert_array_equal(payload["images"][0], a)
    np.testing.assert_array_equal(payload["images"][-1], b)
    params = ctx.gallery.get(payload["gallery_ids"][2]).params
    assert params["frame"] == 2 and params["t"] == 0.5 and len(params["latent"]) == 4
    with pytest.raises(BadInput):
        list(job.run(job.InterpolateRequest(model="tiny-vae", latent_a=za, latent_b=zb, frames=1), ctx))
    with pytest.raises(BadInput):
        list(job.run(job.InterpolateRequest(model="tiny-vae", latent_a=za, latent_b=zb[:3]), ctx))


def test_decode_save_stores_latent_in_gallery(ctx, models):
    payload = events_of(job.run(job.DecodeRequest(model="tiny-vae", latent=(0.0, 0.5, 0.0, 0.0), save=True), ctx))[1]
    item = ctx.gallery.get(payload["gallery_ids"][0])
    assert item.params["latent"] == [0.0, 0.5, 0.0, 0.0] and item.model == "tiny-vae"
    assert payload["files"] == [str(item.path)]


def test_grey_sigmoid_decoder_gives_rgb(ctx, models):
    payload = events_of(job.run(job.DecodeRequest(model="tiny-grey", latent=(0.0, 0.0, 0.0)), ctx))[1]
    image = payload["images"][0]
    assert image.shape == (8, 8, 3)
    assert np.all(image == 128)  # sigmoid(0) = 0.5 of the [0, 1] range, repeated to R, G and B


def test_manifest_z_dim_mismatch_is_model_error(ctx, models):
    with pytest.raises(ModelError):
        list(job.run(job.DecodeRequest(model="tiny-wrong-z", latent=(0.0,) * 5), ctx))


def test_unknown_request_is_bad_input(ctx):
    with pytest.raises(BadInput):
        job.run(object(), ctx)
