"""PLMS: PNDM's pseudo linear multistep sampler (Liu et al. 2022) with Runge-Kutta warm-up skipped.

A 4th-order Adams-Bashforth combination of past noise predictions. The first step is taken twice
(a second-order start), so `timesteps` has steps + 1 entries, as in diffusers.
"""
from __future__ import annotations

import numpy as np

from .base import Scheduler, check_steps, spaced_timesteps

# Adams-Bashforth weights for 2, 3 and 4 remembered noise predictions (newest first)
AB = {2: (3 / 2, -1 / 2), 3: (23 / 12, -16 / 12, 5 / 12), 4: (55 / 24, -59 / 24, 37 / 24, -9 / 24)}


class PLMS(Scheduler):
    name = "PLMS"
    DEFAULTS = {"timestep_spacing": "leading"}

    def set_timesteps(self, n: int, strength: float = 1.0) -> None:
        check_steps(n, strength, self.config)
        ascending = spaced_timesteps(self.config, n, integer=True)[::-1]  # (n,) clean -> noisy
        plan = np.concatenate([ascending[:-1], ascending[-2:-1], ascending[-1:]])[::-1]  # (n+1,) first repeated
        self._start(n, strength, plan.astype(np.int64))
        self._eps: list = []  # past noise predictions, oldest first
        self._first_sample = None

    def _prev_sample(self, sample, t: int, prev_t: int, eps):
        """The DDIM-like transfer x_t -> x_prev given a noise estimate (Liu et al. eq. 9)."""
        a_t = self.alphas_cumprod[t]
        a_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else self._final_alpha()
        denom = a_t * np.sqrt(1 - a_prev) + np.sqrt(a_t * (1 - a_t) * a_prev)
        return np.sqrt(a_prev / a_t) * sample - (a_prev - a_t) * eps / denom

    def _final_alpha(self) -> float:
        return 1.0 if self.config.set_alpha_to_one else float(self.alphas_cumprod[0])

    def step(self, model_output, t, sample, generator=None, noise=None):
        """Returns (prev_sample, pred_original_sample). Deterministic."""
        t = int(t)
        ratio = self.config.num_train_timesteps // self.num_inference_steps
        prev_t = t - ratio
        if self._index != 1:
            self._eps = self._eps[-3:] + [model_output]  # raw outputs; combined before any v -> eps conversion
        else:  # the repeated first step: average the two estimates made at the first timestep
            prev_t, t = t, t + ratio
        if len(self._eps) == 1 and self._index == 0:
            out = model_output
            self._first_sample = sample
        elif len(self._eps) == 1 and self._index == 1:
            out = (model_output + self._eps[-1]) / 2
            sample, self._first_sample = self._first_sample, None
        else:
            out = sum(w * e for w, e in zip(AB[len(self._eps)], reversed(self._eps)))
        a = self.alphas_cumprod[t]
        eps = out if self.config.prediction_type == "epsilon" else np.sqrt(a) * out + np.sqrt(1 - a) * sample
        x0 = (sample - np.sqrt(1 - a) * eps) / np.sqrt(a)  # (B, C, h, w)
        prev = self._prev_sample(sample, t, prev_t, eps)
        self._index += 1
        return prev.astype(np.float32), x0.astype(np.float32)
