"""The cheap latent -> RGB preview: default, fitting, loading, cost."""
from __future__ import annotations

import json
import time

import numpy as np

from models.diffusion.preview import default_preview, fit, load_preview, save_preview, smooth_latents


def test_default_sd_preview_shape_and_colours():
    preview = default_preview(4)
    latent = np.zeros((4, 8, 8), np.float32)
    latent[3] = -2.0  # SD's 4th channel drives blue strongly positive when negative
    img = preview(latent)
    assert img.shape == (16, 16, 3) and img.dtype == np.uint8
    assert img[..., 2].mean() > img[..., 0].mean() + 50


def test_fit_recovers_a_linear_decoder(tmp_path):
    rng = np.random.default_rng(0)
    true_m = rng.normal(size=(3, 4)).astype(np.float32) * 0.3
    true_b = np.array([0.1, -0.2, 0.05], np.float32)
    latents = smooth_latents(rng, 3, 4, 16)  # (3, 4, 16, 16)
    rgb = np.einsum("rc,nchw->nrhw", true_m, latents) + true_b[None, :, None, None]
    images = rgb.repeat(8, axis=2).repeat(8, axis=3)  # an "8x VAE" that is exactly linear
    preview = fit(latents, images)
    np.testing.assert_allclose(preview.matrix, true_m, atol=1e-4)
    np.testing.assert_allclose(preview.bias, true_b, atol=1e-4)
    save_preview(tmp_path, preview)
    loaded = load_preview(tmp_path, 4)
    np.testing.assert_allclose(loaded.matrix, true_m, atol=1e-4)


def test_load_accepts_c_by_3_and_falls_back_on_junk(tmp_path):
    (tmp_path / "preview.json").write_text(json.dumps({"matrix": [[1, 0, 0]] * 4, "bias": [0, 0, 0]}))
    assert load_preview(tmp_path, 4).matrix.shape == (3, 4)
    (tmp_path / "preview.json").write_text("{not json")
    np.testing.assert_array_equal(load_preview(tmp_path, 4).matrix, default_preview(4).matrix)
    assert load_preview(tmp_path, 16).matrix.shape == (3, 16)


def test_preview_is_cheap_at_sd_size():
    preview = default_preview(4)
    latent = np.random.default_rng(1).standard_normal((4, 64, 64), dtype=np.float32)  # a 512x512 image
    preview(latent)
    began = time.perf_counter()
    for _ in range(20):
        preview(latent)
    per_call = (time.perf_counter() - began) / 20
    assert per_call < 0.05  # SD 1.5 UNet steps take seconds on CPU; 5% of even 1 s is 50 ms
