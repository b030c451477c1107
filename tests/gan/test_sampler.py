"""Latent sampling: StyleGAN-style seeds, truncation, slerp paths, distances."""
from __future__ import annotations

import numpy as np
import pytest

from models.gan import sampler


def test_face_i_uses_seed_plus_i():
    z = sampler.latents(10, 3, 100)
    assert z.shape == (3, 100) and z.dtype == np.float32
    for i in range(3):
        np.testing.assert_array_equal(z[i], np.random.RandomState(10 + i).randn(100).astype(np.float32))


def test_seeds_wrap_at_2_pow_32():
    np.testing.assert_array_equal(sampler.latents(2**32 - 1, 2, 5)[1], sampler.latent(0, 5))


def test_truncation_scales_towards_mean():
    z = sampler.latent(3, 50)
    np.testing.assert_allclose(sampler.truncate(z, 0.5), 0.5 * z, rtol=1e-6)
    np.testing.assert_array_equal(sampler.truncate(z, 1.0), z)
    assert not sampler.truncate(z, 0.0).any()
    mean = np.full(50, 2.0, np.float32)
    np.testing.assert_allclose(sampler.truncate(z, 0.0, mean), mean)


def test_slerp_endpoints_and_norm():
    a, b = sampler.latent(1, 100), sampler.latent(2, 100)
    np.testing.assert_allclose(sampler.slerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(sampler.slerp(a, b, 1.0), b, atol=1e-6)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    mid = sampler.slerp(a, b, 0.5)
    # halfway along the great circle: equal angles to both ends, unit norm (not the shrunk chord)
    assert np.linalg.norm(mid) == pytest.approx(1.0, rel=1e-5)
    assert sampler.angle(a, mid) == pytest.approx(sampler.angle(mid, b), rel=1e-4)
    lerp = 0.5 * (a + b)
    assert np.linalg.norm(mid) > np.linalg.norm(lerp)


def test_slerp_parallel_falls_back_to_lerp():
    a = np.ones(4, np.float32)
    np.testing.assert_allclose(sampler.slerp(a, 3 * a, 0.5), 2 * a, rtol=1e-6)


def test_interpolation_path_is_exact_at_both_ends():
    a, b = sampler.latent(5, 100), sampler.latent(6, 100)
    path = sampler.interpolation_path(a, b, 7)
    assert path.shape == (7, 100)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    unit = sampler.interpolation_path(a / np.linalg.norm(a), b / np.linalg.norm(b), 7)
    steps = [sampler.angle(unit[i], unit[i + 1]) for i in range(6)]
    np.testing.assert_allclose(steps, steps[0], rtol=1e-3)  # constant angular speed on the sphere
    with pytest.raises(ValueError):
        sampler.interpolation_path(a, b, 1)


def test_distance_and_angle():
    a, b = sampler.latent(1, 512), sampler.latent(2, 512)
    assert sampler.distance(a, a) == 0.0
    assert sampler.distance(a, b) == pytest.approx(np.sqrt(2 * 512), rel=0.15)
    assert sampler.angle(a, -a) == pytest.approx(np.pi)
    assert sampler.angle(a, 2 * a) == pytest.approx(0.0, abs=1e-6)
