"""Shared scheduler pieces: the config, the training noise schedule, timestep spacing and noise drawing.

Conventions (same as diffusers so `scheduler_config.json` files mean the same thing):
- `alphas_cumprod[t]` is the fraction of signal kept at training timestep t (0 = clean, T-1 = noisiest).
- A "sigma" is the noise-to-signal ratio sqrt((1 - a) / a) of the variance-exploding view (k-diffusion).
- `timesteps` run from noisy to clean; `step()` moves one entry along them.

Random numbers: every scheduler draws noise with NumPy's `Generator.standard_normal(shape, dtype=float32)`.
`generator` may be one `np.random.Generator` or a list with one per batch row (so each image of a batch is
reproducible on its own from its seed).
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from models.runtime.errors import BadInput, ModelError

SPACINGS = ("leading", "trailing", "linspace")
PREDICTIONS = ("epsilon", "v_prediction")


@dataclass(frozen=True)
class SchedulerConfig:
    """The subset of diffusers' scheduler_config.json that Genloom understands."""

    num_train_timesteps: int = 1000
    beta_start: float = 0.0001
    beta_end: float = 0.02
    beta_schedule: str = "linear"  # "linear" | "scaled_linear"
    trained_betas: tuple | None = None
    prediction_type: str = "epsilon"  # "epsilon" | "v_prediction"
    timestep_spacing: str = "linspace"  # "leading" | "trailing" | "linspace"
    steps_offset: int = 0
    set_alpha_to_one: bool = True
    clip_sample: bool = False
    clip_sample_range: float = 1.0
    use_karras_sigmas: bool = False
    original_inference_steps: int = 50  # LCM: the teacher's step count
    timestep_scaling: float = 10.0  # LCM boundary-condition scaling


def make_config(data: dict, defaults: dict) -> SchedulerConfig:
    """A SchedulerConfig from a scheduler_config.json dict; unknown keys are ignored, missing ones use `defaults`."""
    known = {f.name for f in fields(SchedulerConfig)}
    values = {**defaults, **{k: v for k, v in (data or {}).items() if k in known and v is not None}}
    if values.get("trained_betas") is not None:
        values["trained_betas"] = tuple(float(b) for b in values["trained_betas"])
    config = replace(SchedulerConfig(), **values)
    if config.beta_schedule not in ("linear", "scaled_linear") and config.trained_betas is None:
        raise ModelError(f"Unsupported beta_schedule '{config.beta_schedule}' (use linear or scaled_linear).")
    if config.prediction_type not in PREDICTIONS:
        raise ModelError(f"Unsupported prediction_type '{config.prediction_type}' (use epsilon or v_prediction).")
    if config.timestep_spacing not in SPACINGS:
        raise ModelError(f"Unsupported timestep_spacing '{config.timestep_spacing}' (use {', '.join(SPACINGS)}).")
    return config


def alphas_cumprod(config: SchedulerConfig) -> np.ndarray:
    """The training schedule's cumulative signal fraction, shape (T,), float64."""
    n = config.num_train_timesteps
    if config.trained_betas is not None:
        betas = np.asarray(config.trained_betas, dtype=np.float64)
    elif config.beta_schedule == "linear":
        betas = np.linspace(config.beta_start, config.beta_end, n, dtype=np.float64)
    else:  # scaled_linear: linear in sqrt(beta), the Stable Diffusion schedule
        betas = np.linspace(config.beta_start**0.5, config.beta_end**0.5, n, dtype=np.float64) ** 2
    return np.cumprod(1.0 - betas)


def spaced_timesteps(config: SchedulerConfig, n: int, integer: bool) -> np.ndarray:
    """`n` training timesteps from noisy to clean, spaced per config.timestep_spacing, shape (n,)."""
    total = config.num_train_timesteps
    if config.timestep_spacing == "linspace":
        steps = np.linspace(0, total - 1, n)[::-1]
        steps = steps.round() if integer else steps
    elif config.timestep_spacing == "leading":
        ratio = total // n
        steps = (np.arange(0, n) * ratio).round()[::-1] + config.steps_offset
    else:  # trailing: always includes the last training timestep, best for few steps
        steps = np.arange(total, 0, -total / n).round() - 1
    return steps.astype(np.int64 if integer else np.float64).copy()


def check_steps(n: int, strength: float, config: SchedulerConfig) -> None:
    """BadInput unless 1 <= n <= num_train_timesteps and 0 < strength <= 1."""
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise BadInput(f"Steps must be a whole number of at least 1 (got {n}).")
    if n > config.num_train_timesteps:
        raise BadInput(f"Steps must be at most {config.num_train_timesteps} for this model (got {n}).")
    if not 0.0 < strength <= 1.0:
        raise BadInput(f"Strength must be in (0, 1] (got {strength}).")


def kept_steps(n: int, strength: float) -> int:
    """How many of `n` steps an img2img run with `strength` keeps (the last ones), as diffusers does."""
    return min(int(n * strength), n)


def randn(generator, shape: tuple) -> np.ndarray:
    """Standard normal float32 noise; one generator, or a list with one generator per batch row."""
    if isinstance(generator, (list, tuple)):
        if len(generator) != shape[0]:
            raise ValueError(f"{len(generator)} generators for a batch of {shape[0]}")
        return np.stack([g.standard_normal(shape[1:], dtype=np.float32) for g in generator])
    if generator is None:
        generator = np.random.default_rng()
    return generator.standard_normal(shape, dtype=np.float32)


def sigma_to_t(sigma: np.ndarray, log_sigmas: np.ndarray) -> np.ndarray:
    """Fractional training timestep whose sigma is `sigma`, by linear interpolation in log-sigma."""
    log_sigma = np.log(np.maximum(sigma, 1e-10))
    dists = log_sigma - log_sigmas[:, None]  # (T, n)
    low = np.cumsum(dists >= 0, axis=0).argmax(axis=0).clip(max=log_sigmas.shape[0] - 2)
    high = low + 1
    w = np.clip((log_sigmas[low] - log_sigma) / (log_sigmas[low] - log_sigmas[high]), 0, 1)
    return (1 - w) * low + w * high


def karras_sigmas(sigma_min: float, sigma_max: float, n: int, rho: float = 7.0) -> np.ndarray:
    """Karras et al. (2022) sigmas: evenly spaced in sigma^(1/rho), from sigma_max down to sigma_min."""
    ramp = np.linspace(0, 1, n)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return (hi + ramp * (lo - hi)) ** rho


def as_batch_column(value, ndim: int) -> np.ndarray:
    """A scalar or per-row vector shaped to broadcast over a (B, C, H, W) array."""
    value = np.asarray(value, dtype=np.float64)
    return value.reshape(value.shape + (1,) * (ndim - value.ndim)) if value.ndim else value


class Scheduler:
    """Common surface of every scheduler; subclasses fill in the maths.

    Use: `set_timesteps(n, strength)`, then for each t in `.timesteps`:
    `x_in = scale_model_input(x, t)`, run the UNet, `x, x0 = step(out, t, x, generator)`.
    """

    name = ""
    DEFAULTS: dict = {}

    def __init__(self, config: SchedulerConfig):
        self.config = config
        self.alphas_cumprod = alphas_cumprod(config)  # (T,)
        self.timesteps = np.zeros(0)
        self.num_inference_steps = 0
        self._index = 0

    @classmethod
    def from_config(cls, data: dict | None = None) -> "Scheduler":
        return cls(make_config(data or {}, cls.DEFAULTS))

    @property
    def init_noise_sigma(self) -> float:
        return 1.0

    @property
    def step_index(self) -> int:
        return self._index

    def _start(self, n: int, strength: float, plan: np.ndarray) -> None:
        """Run the last `kept_steps(n, strength)` entries of `plan` (img2img starts part-way), from step 0."""
        self.num_inference_steps = n
        self.timesteps = plan[n - kept_steps(n, strength):]
        self._index = 0

    def scale_model_input(self, sample: np.ndarray, t) -> np.ndarray:
        return sample

    def _alpha(self, t) -> np.ndarray:
        """alphas_cumprod at integer timestep(s) t."""
        return self.alphas_cumprod[np.asarray(t, dtype=np.int64)]

    def add_noise(self, original: np.ndarray, noise: np.ndarray, t) -> np.ndarray:
        """The training forward process: sqrt(a_t) x0 + sqrt(1 - a_t) noise; t a scalar or one per row."""
        a = as_batch_column(self._alpha(t), original.ndim)
        return (np.sqrt(a) * original + np.sqrt(1 - a) * noise).astype(original.dtype)

    def _predict_x0(self, model_output, sample, alpha_prod):
        """Clean-sample estimate from a UNet output in the DDPM (variance-preserving) view."""
        if self.config.prediction_type == "epsilon":
            return (sample - np.sqrt(1 - alpha_prod) * model_output) / np.sqrt(alpha_prod)
        return np.sqrt(alpha_prod) * sample - np.sqrt(1 - alpha_prod) * model_output  # v_prediction
