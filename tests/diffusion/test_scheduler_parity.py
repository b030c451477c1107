"""Genloom's schedulers vs diffusers' on the same inputs (goldens made by models/zoo/tiny_sd_reference.py)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.diffusion.schedulers import make
from models.zoo.tiny_sd_reference import fake_denoiser

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_sd"
CASES = json.loads((FIXTURES / "scheduler_cases.json").read_text())
GOLD = np.load(FIXTURES / "schedulers.npz")
KEYS = [f"{n}|{c}|{s}|{st}" for n in CASES["names"] for c in CASES["configs"] for s, st in CASES["runs"]]


@pytest.mark.parametrize("key", KEYS)
def test_matches_diffusers(key):
    name, cfg_name, steps, strength = key.split("|")
    steps, strength = int(steps), float(strength)
    sched = make(name, CASES["configs"][cfg_name])
    sched.set_timesteps(steps, strength=strength)
    np.testing.assert_allclose(np.asarray(sched.timesteps, np.float64), GOLD[key + "|timesteps"], atol=1e-3)
    if strength == 1.0:
        assert sched.init_noise_sigma == pytest.approx(float(GOLD[key + "|init_noise_sigma"]), rel=1e-5)
    rng = np.random.default_rng(11)  # the goldens drew their step noise from this same stream
    start_noise = np.random.default_rng(3).standard_normal((1, 4, 4, 4), dtype=np.float32)
    if strength < 1.0:
        x = sched.add_noise(GOLD["image"], start_noise, sched.timesteps[0])
    else:
        x = start_noise * np.float32(sched.init_noise_sigma)
    np.testing.assert_allclose(x, GOLD[key + "|start"], rtol=1e-5, atol=1e-5)
    for i, t in enumerate(sched.timesteps):
        x_in = sched.scale_model_input(x, t)
        np.testing.assert_allclose(x_in, GOLD[key + "|scaled"][i], rtol=1e-4, atol=1e-5)
        x, x0 = sched.step(fake_denoiser(x_in, float(t), GOLD["base"]), t, x, rng)
        if GOLD[key + "|x0"][i].any():
            np.testing.assert_allclose(x0, GOLD[key + "|x0"][i], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(x, GOLD[key + "|final"], rtol=1e-4, atol=1e-4)
