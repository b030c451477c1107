"""Euler: the first-order ODE step of Karras et al. (2022), deterministic ("Euler" in A1111)."""
from __future__ import annotations

import numpy as np

from .sigma_base import SigmaScheduler


class EulerDiscrete(SigmaScheduler):
    name = "Euler"

    def step(self, model_output, t, sample, generator=None, noise=None):
        """One Euler step from sigma_i to sigma_{i+1}; returns (prev_sample, pred_original_sample)."""
        sigma, sigma_next = self.sigmas[self._index], self.sigmas[self._index + 1]
        x = sample.astype(np.float32)
        x0 = self._predict_x0_sigma(model_output, x, sigma)  # (B, C, h, w)
        derivative = (x - x0) / sigma  # dx/dsigma
        prev = x + derivative * (sigma_next - sigma)
        self._index += 1
        return prev.astype(model_output.dtype), x0.astype(model_output.dtype)
