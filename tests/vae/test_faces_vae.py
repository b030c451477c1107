"""The bundled faces-vae: manifest, axes file, determinism, and reconstruction of held-out DCGAN faces."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from models.runtime.registry import read_manifest
from models.vae import explorer, job

from .conftest import BUNDLED, DCGAN, events_of

pytestmark = pytest.mark.skipif(not (BUNDLED / "genloom.json").is_file(), reason="faces-vae is not built yet")
HELD_OUT_SEED0 = 900_000  # the recipe trains on seeds 0..32767; these were never seen


def test_manifest_and_small_files():
    manifest = read_manifest(BUNDLED)
    assert manifest.kind == "vae" and manifest.name == "faces-vae"
    assert manifest.files == {"encoder": "encoder.onnx", "decoder": "decoder.onnx", "axes": "axes.json"}
    assert manifest.params["z_dim"] == 32 and manifest.params["range"] == [-1, 1] and manifest.params["default"] is True
    assert manifest.license.startswith("MIT")
    for role in manifest.files:
        assert manifest.path(role).stat().st_size < 8_000_000
    assert (BUNDLED / "MODEL_CARD.md").is_file()


def test_axes_file_is_an_importance_ordered_orthonormal_basis():
    data = json.loads((BUNDLED / "axes.json").read_text())
    axes = explorer.axes_from_json(data, 32)
    assert data["method"] == "pca"
    np.testing.assert_allclose(axes.components @ axes.components.T, np.eye(32), atol=1e-4)
    assert np.all(np.diff(axes.sigma) <= 1e-9)
    assert axes.share.sum() == pytest.approx(1.0, abs=1e-4)
    assert axes.sample_2d is not None and 100 <= len(axes.sample_2d) <= 2000
    assert 0.6 < axes.sample_2d.std(0).mean() < 1.4  # the sample is in sigma units


def test_default_model_decodes_deterministically(ctx):
    axes = explorer.axes_for(ctx.registry.get("vae"))
    z = tuple(explorer.slider_to_latent(explorer.random_sliders(axes, seed=5), axes))
    first = events_of(job.run(job.DecodeRequest(latent=z), ctx))[1]
    second = events_of(job.run(job.DecodeRequest(latent=z), ctx))[1]
    assert first["model"] == "faces-vae" and first["images"][0].shape == (64, 64, 3)
    np.testing.assert_array_equal(first["images"][0], second["images"][0])
    assert first["images"][0].std() > 10  # a face, not a flat colour


@pytest.mark.skipif(not DCGAN.is_file(), reason="the faces-dcgan generator is not bundled")
def test_reconstruction_beats_the_mean_face_on_held_out_gan_faces(ctx, tmp_path):
    gan = ctx.sessions.get(DCGAN)
    z = np.stack([np.random.RandomState(HELD_OUT_SEED0 + i).randn(100) for i in range(12)]).astype(np.float32)
    faces = ctx.sessions.run(gan, {gan.get_inputs()[0].name: z[:, :, None, None]})[0]  # (12, 3, 64, 64)
    faces = np.clip(np.rint((faces + 1) * 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)  # (12, 64, 64, 3)
    axes = explorer.axes_for(ctx.registry.get("vae", "faces-vae"))
    mean_face = events_of(job.run(job.DecodeRequest(latent=tuple(axes.mean)), ctx))[1]["images"][0].astype(np.float64)
    pixel_mean = faces.astype(np.float64).mean(0)
    recon_err, mean_err, pixel_err = [], [], []
    for i, face in enumerate(faces):
        Image.fromarray(face).save(tmp_path / f"{i}.png")
        payload = events_of(job.run(job.EncodeRequest(image_path=str(tmp_path / f"{i}.png")), ctx))[1]
        np.testing.assert_array_equal(payload["input"], face)  # 64x64 PNG in, no resampling
        recon_err.append(np.mean((payload["images"][0] - face.astype(np.float64)) ** 2))
        mean_err.append(np.mean((mean_face - face) ** 2))
        pixel_err.append(np.mean((pixel_mean - face) ** 2))
    assert np.mean(recon_err) < 0.5 * np.mean(mean_err)
    assert np.mean(recon_err) < 0.5 * np.mean(pixel_err)


def test_encode_resizes_any_image(ctx, tmp_path):
    Image.new("RGBA", (200, 150), (200, 150, 120, 255)).save(tmp_path / "big.png")
    payload = events_of(job.run(job.EncodeRequest(image_path=str(tmp_path / "big.png"), save=True), ctx))[1]
    assert payload["images"][0].shape == (64, 64, 3) and len(payload["latent"]) == 32
    item = ctx.gallery.get(payload["gallery_ids"][0])
    assert item.kind == "vae" and item.params["source"].endswith("big.png")
