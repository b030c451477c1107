"""One contract every scheduler honours; each scheduler's test class subclasses SchedulerContract."""
from __future__ import annotations

import numpy as np
import pytest

from models.diffusion.schedulers import NAMES, make
from models.runtime.errors import BadInput, ModelError

SD_CONFIG = {"beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "steps_offset": 1,
             "set_alpha_to_one": False, "clip_sample": False, "timestep_spacing": "leading"}
SHAPE = (2, 4, 8, 8)


def fake_unet(x: np.ndarray, t) -> np.ndarray:
    return (0.5 * np.tanh(x) + 0.05 * np.cos(float(t) / 200.0)).astype(np.float32)


def sample_run(sched, steps, seed=0, strength=1.0, image=None):
    """A whole sampling loop with a fake UNet; returns (final, list of x0)."""
    sched.set_timesteps(steps, strength=strength)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(SHAPE, dtype=np.float32)
    if image is None:
        x = noise * np.float32(sched.init_noise_sigma)
    else:
        x = sched.add_noise(image, noise, sched.timesteps[0])
    x0s = []
    for t in sched.timesteps:
        out = fake_unet(sched.scale_model_input(x, t), t)
        x, x0 = sched.step(out, t, x, rng)
        x0s.append(x0)
    return x, x0s


class SchedulerContract:
    """Subclasses set `name` (an A1111 scheduler name)."""

    name = ""
    config = SD_CONFIG
    extra_calls = 0  # UNet calls beyond `steps` (PLMS repeats its first step)

    def make(self, **extra):
        return make(self.name, {**self.config, **extra})

    @pytest.mark.parametrize("steps", [1, 4, 20])
    def test_timesteps_length_and_order(self, steps):
        sched = self.make()
        sched.set_timesteps(steps)
        ts = np.asarray(sched.timesteps, dtype=np.float64)
        assert len(ts) == steps + (self.extra_calls if steps > 1 else 0)
        assert np.all(np.diff(ts) <= 0), ts  # noisy -> clean
        assert 0 <= ts.min() and ts.max() < 1000

    def test_step_shapes_and_dtype(self):
        sched = self.make()
        sched.set_timesteps(5)
        x = np.random.default_rng(0).standard_normal(SHAPE, dtype=np.float32)
        t = sched.timesteps[0]
        scaled = sched.scale_model_input(x, t)
        assert scaled.shape == SHAPE and scaled.dtype == np.float32
        prev, x0 = sched.step(fake_unet(scaled, t), t, x, np.random.default_rng(1))
        assert prev.shape == SHAPE and x0.shape == SHAPE
        assert prev.dtype == np.float32 and x0.dtype == np.float32
        assert np.isfinite(prev).all() and np.isfinite(x0).all()

    def test_deterministic_with_seeded_generator(self):
        a, _ = sample_run(self.make(), 6, seed=5)
        b, _ = sample_run(self.make(), 6, seed=5)
        c, _ = sample_run(self.make(), 6, seed=6)
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)

    def test_set_timesteps_resets_state(self):
        sched = self.make()
        first, _ = sample_run(sched, 6, seed=2)
        again, _ = sample_run(sched, 6, seed=2)
        np.testing.assert_array_equal(first, again)

    def test_strength_keeps_the_last_steps(self):
        full = self.make()
        full.set_timesteps(10)
        part = self.make()
        part.set_timesteps(10, strength=0.5)
        assert len(part.timesteps) == 5 + self.extra_calls
        if self.name != "LCM":  # LCM rescales its grid by strength, as diffusers does
            np.testing.assert_allclose(part.timesteps, full.timesteps[5:])
        assert part.timesteps[0] < full.timesteps[0]

    def test_img2img_low_strength_stays_near_image(self):
        image = np.random.default_rng(9).uniform(-1, 1, SHAPE).astype(np.float32)
        far = np.abs(sample_run(self.make(), 10, strength=1.0, image=image)[0] - image).mean()
        near = np.abs(sample_run(self.make(), 10, strength=0.3, image=image)[0] - image).mean()
        assert near < far

    def test_add_noise_at_t0_is_nearly_identity(self):
        sched = self.make()
        sched.set_timesteps(10)
        x = np.random.default_rng(4).standard_normal(SHAPE, dtype=np.float32)
        noise = np.random.default_rng(5).standard_normal(SHAPE, dtype=np.float32)
        noisy = sched.add_noise(x, noise, 0)
        assert noisy.shape == SHAPE and noisy.dtype == np.float32
        assert np.abs(noisy - x).mean() < 0.05
        loud = sched.add_noise(x, noise, sched.timesteps[0])
        assert np.abs(loud - x).mean() > 0.5

    def test_bad_steps_and_strength_refused(self):
        sched = self.make()
        for steps, strength in ((0, 1.0), (5, 0.0), (5, 1.5)):
            with pytest.raises(BadInput):
                sched.set_timesteps(steps, strength=strength)

    def test_v_prediction_differs_from_epsilon(self):
        eps, _ = sample_run(self.make(), 4, seed=1)
        v, _ = sample_run(self.make(prediction_type="v_prediction"), 4, seed=1)
        assert not np.allclose(eps, v)


def test_registry_has_the_a1111_names():
    assert set(NAMES) >= {"Euler a", "Euler", "DPM++ 2M", "DPM++ 2M Karras", "DDIM", "LCM", "PLMS", "DDPM"}
    with pytest.raises(BadInput, match="Unknown scheduler"):
        make("Heun++ 9000", SD_CONFIG)


def test_unsupported_config_is_a_model_error():
    with pytest.raises(ModelError, match="beta_schedule"):
        make("Euler", {"beta_schedule": "squaredcos_cap_v3"})
    with pytest.raises(ModelError, match="prediction_type"):
        make("DDIM", {"prediction_type": "flow"})


def test_unknown_config_keys_are_ignored():
    sched = make("DDIM", {**SD_CONFIG, "_class_name": "PNDMScheduler", "skip_prk_steps": True})
    sched.set_timesteps(3)
    assert list(sched.timesteps) == [667, 334, 1]
