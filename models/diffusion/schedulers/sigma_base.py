"""Base for the k-diffusion style schedulers (Euler, Euler a): they walk a list of sigmas.

In this view the latent is x = x0 + sigma * eps, so the UNet input is scaled by 1 / sqrt(sigma^2 + 1)
to get back the variance-preserving sample it was trained on.
"""
from __future__ import annotations

import numpy as np

from .base import Scheduler, as_batch_column, check_steps, karras_sigmas, kept_steps, sigma_to_t, spaced_timesteps


class SigmaScheduler(Scheduler):
    """Holds `timesteps` (n,) and `sigmas` (n + 1,) ending in 0."""

    DEFAULTS = {"timestep_spacing": "linspace"}

    def __init__(self, config):
        super().__init__(config)
        self.train_sigmas = np.sqrt((1 - self.alphas_cumprod) / self.alphas_cumprod)  # (T,) increasing
        self.sigmas = np.zeros(1)

    def set_timesteps(self, n: int, strength: float = 1.0) -> None:
        check_steps(n, strength, self.config)
        timesteps = spaced_timesteps(self.config, n, integer=False)  # (n,) float
        sigmas = np.interp(timesteps, np.arange(len(self.train_sigmas)), self.train_sigmas)
        if self.config.use_karras_sigmas:
            sigmas = karras_sigmas(sigmas[-1], sigmas[0], n)
            timesteps = sigma_to_t(sigmas, np.log(self.train_sigmas))
        sigmas = np.concatenate([sigmas, [0.0]])
        keep = kept_steps(n, strength)
        self.num_inference_steps = n
        self.timesteps = timesteps[n - keep:]
        self.sigmas = sigmas[n - keep:]
        self._index = 0

    @property
    def init_noise_sigma(self) -> float:
        top = float(self.sigmas.max())
        if self.config.timestep_spacing in ("linspace", "trailing"):
            return top
        return (top**2 + 1) ** 0.5

    def scale_model_input(self, sample: np.ndarray, t) -> np.ndarray:
        sigma = self.sigmas[self._index]
        return (sample / np.sqrt(sigma**2 + 1)).astype(sample.dtype)

    def _sigma_at(self, t) -> np.ndarray:
        """Sigma for timestep(s) t: the schedule's own entry when t is on it, else the training curve."""
        out = []
        for value in np.atleast_1d(np.asarray(t, dtype=np.float64)):
            hits = np.flatnonzero(np.isclose(self.timesteps, value))
            if hits.size:
                out.append(self.sigmas[hits[0]])
            else:
                out.append(np.interp(value, np.arange(len(self.train_sigmas)), self.train_sigmas))
        return np.asarray(out) if np.ndim(t) else np.asarray(out[0])

    def add_noise(self, original: np.ndarray, noise: np.ndarray, t) -> np.ndarray:
        """x0 + sigma(t) * noise (variance-exploding view); the pipeline then skips init_noise_sigma."""
        sigma = as_batch_column(self._sigma_at(t), original.ndim)
        return (original + sigma * noise).astype(original.dtype)

    def _predict_x0_sigma(self, model_output, sample, sigma):
        if self.config.prediction_type == "epsilon":
            return sample - sigma * model_output
        return model_output * (-sigma / np.sqrt(sigma**2 + 1)) + sample / (sigma**2 + 1)  # v_prediction
