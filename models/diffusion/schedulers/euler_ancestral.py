"""Euler ancestral: an Euler step down to sigma_down, then fresh noise sigma_up ("Euler a" in A1111).

The split keeps the marginal right: sigma_down^2 + sigma_up^2 = sigma_next^2.
"""
from __future__ import annotations

import numpy as np

from .base import randn
from .sigma_base import SigmaScheduler


class EulerAncestral(SigmaScheduler):
    name = "Euler a"

    def step(self, model_output, t, sample, generator=None, noise=None):
        """Returns (prev_sample, pred_original_sample); `noise` overrides drawing from `generator`."""
        sigma, sigma_next = self.sigmas[self._index], self.sigmas[self._index + 1]
        x = sample.astype(np.float32)
        x0 = self._predict_x0_sigma(model_output, x, sigma)  # (B, C, h, w)
        sigma_up = np.sqrt(sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2)
        sigma_down = np.sqrt(sigma_next**2 - sigma_up**2)
        prev = x + (x - x0) / sigma * (sigma_down - sigma)
        if noise is None:
            noise = randn(generator, model_output.shape)
        prev = prev + noise * sigma_up
        self._index += 1
        return prev.astype(model_output.dtype), x0.astype(model_output.dtype)
