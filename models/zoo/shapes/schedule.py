"""The DDPM noise schedule shared by training, export and the sampler (numpy, no torch)."""
from __future__ import annotations

import numpy as np

NUM_TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END, BETA_SCHEDULE = 0.0001, 0.02, "linear"


def alphas_cumprod() -> np.ndarray:
    """(1000,) float64 cumulative product of 1 - beta for the linear schedule."""
    betas = np.linspace(BETA_START, BETA_END, NUM_TRAIN_TIMESTEPS, dtype=np.float64)
    return np.cumprod(1.0 - betas)


def scheduler_config() -> dict:
    """diffusers-style scheduler_config.json content (EulerAncestral-compatible fields)."""
    return {
        "_class_name": "EulerAncestralDiscreteScheduler",
        "_diffusers_version": "0.30.0",
        "num_train_timesteps": NUM_TRAIN_TIMESTEPS,
        "beta_start": BETA_START,
        "beta_end": BETA_END,
        "beta_schedule": BETA_SCHEDULE,
        "prediction_type": "epsilon",
        "timestep_spacing": "trailing",
        "steps_offset": 1,
        "trained_betas": None,
        "clip_sample": False,
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
    }
