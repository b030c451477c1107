"""DDPM (Ho et al. 2020) ancestral sampling on a spaced schedule, with the "fixed_small" posterior variance.

Stochastic: it draws fresh noise at every step except the one that lands on t = 0. Needs many steps.
"""
from __future__ import annotations

import numpy as np

from .base import Scheduler, check_steps, randn, spaced_timesteps


class DDPM(Scheduler):
    name = "DDPM"
    DEFAULTS = {"timestep_spacing": "leading", "clip_sample": True}

    def set_timesteps(self, n: int, strength: float = 1.0) -> None:
        check_steps(n, strength, self.config)
        self._start(n, strength, spaced_timesteps(self.config, n, integer=True))  # (n,) int

    def step(self, model_output, t, sample, generator=None, noise=None):
        """Returns (prev_sample, pred_original_sample); `noise` overrides drawing from `generator`."""
        t, i = int(t), self._index
        prev_t = int(self.timesteps[i + 1]) if i + 1 < len(self.timesteps) else -1
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else 1.0
        alpha_step = a_t / a_prev  # the signal kept over this jump
        beta_step = 1 - alpha_step
        x0 = self._predict_x0(model_output, sample, a_t)  # (B, C, h, w)
        if self.config.clip_sample:
            r = self.config.clip_sample_range
            x0 = np.clip(x0, -r, r)
        # posterior mean of q(x_prev | x_t, x0)
        prev = (np.sqrt(a_prev) * beta_step / (1 - a_t)) * x0 + (np.sqrt(alpha_step) * (1 - a_prev) / (1 - a_t)) * sample
        if t > 0:
            if noise is None:
                noise = randn(generator, model_output.shape)
            variance = max((1 - a_prev) / (1 - a_t) * beta_step, 1e-20)
            prev = prev + np.sqrt(variance) * noise
        self._index += 1
        return prev.astype(model_output.dtype), x0.astype(model_output.dtype)
