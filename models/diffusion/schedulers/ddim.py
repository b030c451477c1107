"""DDIM (Song et al. 2020), deterministic (eta = 0): jump from t to the previous timestep via the x0 estimate."""
from __future__ import annotations

import numpy as np

from .base import Scheduler, check_steps, spaced_timesteps


class DDIM(Scheduler):
    name = "DDIM"
    DEFAULTS = {"timestep_spacing": "leading", "clip_sample": True, "set_alpha_to_one": True}

    def set_timesteps(self, n: int, strength: float = 1.0) -> None:
        check_steps(n, strength, self.config)
        self._start(n, strength, spaced_timesteps(self.config, n, integer=True))  # (n,) int

    def _final_alpha(self) -> float:
        return 1.0 if self.config.set_alpha_to_one else float(self.alphas_cumprod[0])

    def step(self, model_output, t, sample, generator=None, noise=None):
        """Returns (prev_sample, pred_original_sample). eta = 0, so no noise is drawn."""
        t = int(t)
        prev_t = t - self.config.num_train_timesteps // self.num_inference_steps
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else self._final_alpha()
        if self.config.prediction_type == "epsilon":
            x0 = (sample - np.sqrt(1 - a_t) * model_output) / np.sqrt(a_t)  # (B, C, h, w)
            eps = model_output
        else:  # v_prediction
            x0 = np.sqrt(a_t) * sample - np.sqrt(1 - a_t) * model_output
            eps = np.sqrt(a_t) * model_output + np.sqrt(1 - a_t) * sample
        if self.config.clip_sample:
            r = self.config.clip_sample_range
            x0 = np.clip(x0, -r, r)
        prev = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps
        self._index += 1
        return prev.astype(model_output.dtype), x0.astype(model_output.dtype)
