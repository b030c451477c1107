"""DPM-Solver++(2M): second-order multistep solver in log-SNR time, midpoint form (Lu et al. 2022).

"DPM++ 2M" in A1111; with `use_karras_sigmas` it is "DPM++ 2M Karras". Works on the variance-preserving
latent x = alpha * x0 + sigma_vp * eps, so the UNet input needs no scaling and init_noise_sigma is 1.
"""
from __future__ import annotations

import numpy as np

from .base import as_batch_column, check_steps, karras_sigmas, kept_steps, sigma_to_t
from .sigma_base import SigmaScheduler


def _alpha_sigma(sigma: float) -> tuple[float, float]:
    """Variance-exploding sigma -> (alpha_t, sigma_t) of the variance-preserving view."""
    alpha = 1.0 / np.sqrt(sigma**2 + 1)
    return alpha, sigma * alpha


class DPMSolverMultistep(SigmaScheduler):
    name = "DPM++ 2M"
    DEFAULTS = {"timestep_spacing": "linspace"}

    def set_timesteps(self, n: int, strength: float = 1.0) -> None:
        check_steps(n, strength, self.config)
        total = self.config.num_train_timesteps
        spacing = self.config.timestep_spacing
        if spacing == "linspace":
            timesteps = np.linspace(0, total - 1, n + 1).round()[::-1][:-1]
        elif spacing == "leading":
            ratio = total // (n + 1)
            timesteps = (np.arange(0, n + 1) * ratio).round()[::-1][:-1] + self.config.steps_offset
        else:  # trailing
            timesteps = np.arange(total, 0, -total / n).round() - 1
        timesteps = timesteps.astype(np.int64)
        if self.config.use_karras_sigmas:
            sigmas = karras_sigmas(self.train_sigmas[0], self.train_sigmas[-1], n)
            timesteps = sigma_to_t(sigmas, np.log(self.train_sigmas)).round().astype(np.int64)
        else:
            sigmas = np.interp(timesteps, np.arange(len(self.train_sigmas)), self.train_sigmas)
        sigmas = np.concatenate([sigmas, [0.0]])
        keep = kept_steps(n, strength)
        self.num_inference_steps = n
        self.timesteps = timesteps[n - keep:]
        self.sigmas = sigmas[n - keep:]
        self._index = 0
        self._previous_x0 = None  # model output (as x0) of the last step, for the 2nd-order correction

    @property
    def init_noise_sigma(self) -> float:
        return 1.0

    def scale_model_input(self, sample: np.ndarray, t) -> np.ndarray:
        return sample

    def add_noise(self, original: np.ndarray, noise: np.ndarray, t) -> np.ndarray:
        alpha, sigma = _alpha_sigma(as_batch_column(self._sigma_at(t), original.ndim))
        return (alpha * original + sigma * noise).astype(original.dtype)

    def step(self, model_output, t, sample, generator=None, noise=None):
        """Returns (prev_sample, pred_original_sample). Deterministic: generator and noise are unused."""
        i = self._index
        sigma_s, sigma_t = self.sigmas[i], self.sigmas[i + 1]
        alpha_s, sd_s = _alpha_sigma(sigma_s)
        x = sample.astype(np.float32)
        if self.config.prediction_type == "epsilon":
            x0 = (x - sd_s * model_output) / alpha_s  # (B, C, h, w)
        else:
            x0 = alpha_s * x - sd_s * model_output
        last = i == len(self.timesteps) - 1
        if sigma_t == 0:
            prev = x0  # the final step lands on the clean estimate
        else:
            alpha_t, sd_t = _alpha_sigma(sigma_t)
            lam_s, lam_t = np.log(alpha_s / sd_s), np.log(alpha_t / sd_t)
            h = lam_t - lam_s
            first_order = self._previous_x0 is None or (last and self.num_inference_steps < 15)
            if first_order:
                prev = (sd_t / sd_s) * x - alpha_t * np.expm1(-h) * x0
            else:
                alpha_p, sd_p = _alpha_sigma(self.sigmas[i - 1])
                r = (lam_s - np.log(alpha_p / sd_p)) / h
                d1 = (x0 - self._previous_x0) / r
                prev = (sd_t / sd_s) * x - alpha_t * np.expm1(-h) * x0 - 0.5 * alpha_t * np.expm1(-h) * d1
        self._previous_x0 = x0
        self._index += 1
        return prev.astype(model_output.dtype), x0.astype(model_output.dtype)
