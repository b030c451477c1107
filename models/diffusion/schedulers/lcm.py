"""LCM (Luo et al. 2023): a consistency-model sampler for 2-8 steps.

Each step maps the sample straight to a clean estimate (with the consistency boundary condition
c_skip * x + c_out * x0), then re-noises it to the next timestep with fresh noise.
Timesteps are drawn from the teacher's `original_inference_steps` grid. LCM models also take a
guidance embedding (`timestep_cond`), which the pipeline builds with `guidance_embedding`.
"""
from __future__ import annotations

import numpy as np

from models.runtime.errors import BadInput

from .base import Scheduler, check_steps, randn


class LCM(Scheduler):
    name = "LCM"
    DEFAULTS = {
        "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "timestep_spacing": "leading", "set_alpha_to_one": True,
    }

    def set_timesteps(self, n: int, strength: float = 1.0) -> None:
        check_steps(n, strength, self.config)
        original = self.config.original_inference_steps
        k = self.config.num_train_timesteps // original
        grid = np.arange(1, int(original * strength) + 1) * k - 1  # teacher timesteps, clean to noisy
        if n > len(grid):
            raise BadInput(f"LCM supports at most {len(grid)} steps at this strength (got {n}).")
        grid = grid[::-1]
        picks = np.floor(np.linspace(0, len(grid), num=n, endpoint=False)).astype(np.int64)
        self._start(n, strength, grid[picks].astype(np.int64))

    def _boundary(self, t: int) -> tuple[float, float]:
        """Consistency-model skip/out weights; c_skip -> 1 as t -> 0."""
        scaled = t * self.config.timestep_scaling
        sigma_data = 0.5
        c_skip = sigma_data**2 / (scaled**2 + sigma_data**2)
        c_out = scaled / (scaled**2 + sigma_data**2) ** 0.5
        return c_skip, c_out

    def step(self, model_output, t, sample, generator=None, noise=None):
        """Returns (prev_sample, denoised). The last step returns the denoised sample itself."""
        t = int(t)
        i = self._index
        prev_t = int(self.timesteps[i + 1]) if i + 1 < len(self.timesteps) else t
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev_t]
        x0 = self._predict_x0(model_output, sample, a_t)  # (B, C, h, w)
        if self.config.clip_sample:
            r = self.config.clip_sample_range
            x0 = np.clip(x0, -r, r)
        c_skip, c_out = self._boundary(t)
        denoised = c_out * x0 + c_skip * sample
        if i != len(self.timesteps) - 1:
            if noise is None:
                noise = randn(generator, model_output.shape)
            prev = np.sqrt(a_prev) * denoised + np.sqrt(1 - a_prev) * noise
        else:
            prev = denoised
        self._index += 1
        return prev.astype(model_output.dtype), denoised.astype(model_output.dtype)


def guidance_embedding(w: float, dim: int, batch: int) -> np.ndarray:
    """LCM's guidance-scale embedding (sinusoidal of (w - 1) * 1000), shape (batch, dim), float32."""
    w = (np.asarray([w] * batch, dtype=np.float64) - 1.0) * 1000.0  # (B,)
    half = dim // 2
    freqs = np.exp(np.arange(half) * -(np.log(10000.0) / (half - 1)))  # (half,)
    angles = w[:, None] * freqs[None, :]  # (B, half)
    emb = np.concatenate([np.sin(angles), np.cos(angles)], axis=1)
    if dim % 2 == 1:
        emb = np.pad(emb, ((0, 0), (0, 1)))
    return emb.astype(np.float32)
