"""Each scheduler: the shared contract plus its own properties."""
from __future__ import annotations

import numpy as np

from models.diffusion.schedulers import make

from .test_scheduler_contract import SD_CONFIG, SchedulerContract, sample_run


class TestEuler(SchedulerContract):
    name = "Euler"

    def test_step_ignores_generator(self):
        sched = self.make()
        sched.set_timesteps(5)
        x = np.ones((1, 4, 2, 2), np.float32)
        t = sched.timesteps[0]
        a, _ = sched.step(x * 0.1, t, x, np.random.default_rng(1))
        sched.set_timesteps(5)
        b, _ = sched.step(x * 0.1, t, x, np.random.default_rng(2))
        np.testing.assert_array_equal(a, b)

    def test_init_noise_sigma_for_leading_spacing(self):
        sched = self.make()
        sched.set_timesteps(10)
        top = sched.sigmas.max()
        assert abs(sched.init_noise_sigma - (top**2 + 1) ** 0.5) < 1e-9
        assert sched.sigmas[-1] == 0


class TestEulerAncestral(SchedulerContract):
    name = "Euler a"


class TestDPM2M(SchedulerContract):
    name = "DPM++ 2M"

    def test_init_noise_sigma_is_one(self):
        assert self.make().init_noise_sigma == 1.0


class TestDPM2MKarras(SchedulerContract):
    name = "DPM++ 2M Karras"

    def test_karras_sigmas_differ_from_plain(self):
        plain, karras = make("DPM++ 2M", SD_CONFIG), self.make()
        plain.set_timesteps(10)
        karras.set_timesteps(10)
        assert not np.allclose(plain.sigmas, karras.sigmas)
        assert karras.sigmas[-2] < plain.sigmas[-2]  # Karras spends more steps at low noise


class TestDDIM(SchedulerContract):
    name = "DDIM"

    def test_clip_sample_bounds_x0(self):
        sched = self.make(clip_sample=True, clip_sample_range=1.0)
        _, x0s = sample_run(sched, 4)
        assert max(np.abs(x0).max() for x0 in x0s) <= 1.0 + 1e-6


class TestLCM(SchedulerContract):
    name = "LCM"

    def test_timesteps_come_from_the_teacher_grid(self):
        sched = self.make()
        sched.set_timesteps(4)
        assert list(sched.timesteps) == [999, 759, 499, 259]

    def test_guidance_embedding_shape(self):
        from models.diffusion.schedulers.lcm import guidance_embedding

        emb = guidance_embedding(8.0, 256, 2)
        assert emb.shape == (2, 256) and emb.dtype == np.float32
        np.testing.assert_allclose(guidance_embedding(1.0, 8, 1)[0], [0, 0, 0, 0, 1, 1, 1, 1], atol=1e-7)


class TestPLMS(SchedulerContract):
    name = "PLMS"
    extra_calls = 1

    def test_first_step_is_repeated(self):
        sched = self.make()
        sched.set_timesteps(4)
        assert list(sched.timesteps) == [751, 501, 501, 251, 1]


class TestDDPM(SchedulerContract):
    name = "DDPM"

    def test_noise_except_on_the_step_to_t0(self):
        x = np.ones((1, 4, 2, 2), np.float32)

        def run(first_seed, last_seed):
            sched = self.make(timestep_spacing="linspace")
            sched.set_timesteps(2)
            assert list(sched.timesteps) == [999, 0]
            first, _ = sched.step(x * 0.1, 999, x, np.random.default_rng(first_seed))
            last, _ = sched.step(x * 0.1, 0, first, np.random.default_rng(last_seed))
            return first, last

        assert not np.allclose(run(1, 0)[0], run(2, 0)[0])  # fresh noise on the way to t = 499
        np.testing.assert_array_equal(run(1, 5)[1], run(1, 6)[1])  # none on the step that lands on t = 0
