"""Latent maths of the VAE sliders: axes, slider <-> latent, random with locks, paths, grids, image loading."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from models.runtime.errors import BadInput, ModelError
from models.vae import explorer


def pca_like_axes(z_dim: int = 6, seed: int = 0) -> explorer.Axes:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((z_dim, z_dim)))
    sigma = np.sort(rng.uniform(0.2, 2.0, z_dim))[::-1]
    data = {"method": "pca", "mean": rng.standard_normal(z_dim).tolist(), "components": q.T.tolist(),
            "sigma": sigma.tolist(), "sample_2d": {"axes": [0, 1], "points": [[0.1, -0.2], [1.0, 2.0]]}}
    return explorer.axes_from_json(data, z_dim)


def test_slider_latent_round_trip():
    axes = pca_like_axes()
    values = np.array([1.5, -2.0, 0.0, 3.0, -0.5, 0.25])
    z = explorer.slider_to_latent(values, axes)
    assert z.shape == (6,)
    np.testing.assert_allclose(explorer.latent_to_sliders(z, axes), values, atol=1e-9)


def test_one_sigma_moves_latent_by_sigma_along_its_axis():
    axes = pca_like_axes()
    values = np.zeros(6)
    values[2] = 1.0
    step = explorer.slider_to_latent(values, axes) - axes.mean
    assert np.linalg.norm(step) == pytest.approx(axes.sigma[2])
    assert abs(np.dot(step, axes.components[2])) == pytest.approx(axes.sigma[2])


def test_reset_is_the_mean_latent():
    axes = pca_like_axes()
    np.testing.assert_allclose(explorer.slider_to_latent(explorer.reset_sliders(axes), axes), axes.mean)


def test_random_keeps_locked_axes_and_stays_in_span():
    axes = pca_like_axes()
    current = np.array([2.5, -1.0, 0.3, 0.0, 1.0, -2.0])
    values = explorer.random_sliders(axes, seed=3, current=current, locked=[0, 4])
    assert values[0] == 2.5 and values[4] == 1.0
    assert not np.allclose(values[[1, 2, 3, 5]], current[[1, 2, 3, 5]])
    many = np.stack([explorer.random_sliders(axes, seed=s) for s in range(200)])
    assert np.abs(many).max() <= explorer.SPAN
    assert 0.7 < many.std() < 1.2
    np.testing.assert_array_equal(explorer.random_sliders(axes, seed=7), explorer.random_sliders(axes, seed=7))


def test_random_with_bad_lock_is_bad_input():
    axes = pca_like_axes()
    with pytest.raises(BadInput):
        explorer.random_sliders(axes, seed=0, current=np.zeros(6), locked=[9])
    with pytest.raises(BadInput):
        explorer.random_sliders(axes, seed=0, locked=[1])


def test_lerp_and_slerp_endpoints_and_norm():
    a, b = np.array([3.0, 0.0]), np.array([0.0, 3.0])
    np.testing.assert_allclose(explorer.lerp(a, b, 0.5), [1.5, 1.5])
    mid = explorer.slerp(a, b, 0.5)
    assert np.linalg.norm(mid) == pytest.approx(3.0)
    np.testing.assert_allclose(explorer.slerp(a, b, 0.0), a, atol=1e-12)
    np.testing.assert_allclose(explorer.slerp(a, b, 1.0), b, atol=1e-12)
    centre = np.array([1.0, 1.0])
    mid_c = explorer.slerp(a + centre, b + centre, 0.5, centre)
    assert np.linalg.norm(mid_c - centre) == pytest.approx(3.0)
    np.testing.assert_allclose(explorer.slerp(a, 2 * a, 0.5), 1.5 * a)  # parallel falls back to lerp


def test_path_frames_and_method():
    a, b = np.zeros(4), np.ones(4)
    p = explorer.path(a, b, 5, "lerp")
    assert p.shape == (5, 4)
    np.testing.assert_allclose(p[2], 0.5)
    with pytest.raises(BadInput):
        explorer.path(a, b, 5, "cubic")


def test_traversal_grid_sets_the_two_axes_and_keeps_the_rest():
    axes = pca_like_axes()
    base_sliders = np.array([0.5, 0.1, -0.7, 1.2, 0.0, 0.4])
    grid = explorer.traversal_grid(explorer.slider_to_latent(base_sliders, axes), axes, 1, 3, 5)
    assert grid.shape == (5, 5, 6)
    values = explorer.traversal_values(5)
    np.testing.assert_allclose(values, [-3, -1.5, 0, 1.5, 3])
    s = explorer.latent_to_sliders(grid[4, 0], axes)
    np.testing.assert_allclose(s[[1, 3]], [3.0, -3.0], atol=1e-9)
    np.testing.assert_allclose(s[[0, 2, 4, 5]], base_sliders[[0, 2, 4, 5]], atol=1e-9)
    with pytest.raises(BadInput):
        explorer.traversal_grid(grid[0, 0], axes, 2, 2, 5)
    with pytest.raises(BadInput):
        explorer.traversal_grid(grid[0, 0], axes, 0, 6, 5)


def test_prior_axes_are_identity():
    axes = explorer.prior_axes(3)
    np.testing.assert_allclose(explorer.slider_to_latent([1, 2, 3], axes), [1, 2, 3])
    assert axes.share.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("latent", [[1.0, 2.0], [0.0] * 7, [[0.0] * 6], [0, 0, 0, float("nan"), 0, 0], "abc"])
def test_bad_latents_are_bad_input(latent):
    with pytest.raises(BadInput) as err:
        explorer.latent_to_sliders(latent, pca_like_axes())
    assert "\n" not in str(err.value)


def test_malformed_axes_are_model_errors():
    with pytest.raises(ModelError):
        explorer.axes_from_json({"mean": [0, 0], "components": [[1, 0, 0]], "sigma": [1]})
    with pytest.raises(ModelError):
        explorer.axes_from_json({"mean": [0, 0], "components": [[1, 0], [0, 1]], "sigma": [1, 0]})
    with pytest.raises(ModelError):
        explorer.axes_from_json({"components": [[1]]})
    with pytest.raises(ModelError):
        explorer.axes_from_json({"mean": [0, 0], "components": [[1, 0], [0, 1]], "sigma": [1, 1]}, z_dim=3)


def test_load_image_any_size_and_mode(tmp_path):
    rgba = Image.new("RGBA", (120, 80), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (40, 0, 80, 80))
    rgba.save(tmp_path / "a.png")
    x = explorer.load_image(tmp_path / "a.png")
    assert x.shape == (3, 64, 64) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_allclose(x[:, 32, 32], [0, 0, 1], atol=0.02)  # the opaque blue centre
    np.testing.assert_allclose(x[:, 32, 1], [1, 1, 1], atol=0.02)  # transparent -> white
    Image.new("L", (30, 50), 128).save(tmp_path / "g.jpg")
    g = explorer.load_image(tmp_path / "g.jpg", (16, 16))
    assert g.shape == (3, 16, 16)
    np.testing.assert_allclose(g, 128 / 255, atol=0.02)
    assert explorer.load_image(tmp_path / "g.jpg", channels=1).shape == (1, 64, 64)


def test_unreadable_image_is_one_line_bad_input(tmp_path):
    bad = tmp_path / "not-an-image.png"
    bad.write_bytes(b"hello\nworld")
    for target in (bad, tmp_path / "missing.png", tmp_path):
        with pytest.raises(BadInput) as err:
            explorer.load_image(target)
        assert "\n" not in str(err.value)
