"""Genloom's schedulers vs diffusers' on the same inputs.

The committed goldens (schedulers.npz, made by models/zoo/tiny_sd_reference.py) run in CI without torch;
the heavy test re-runs diffusers live on more step counts and configs.
"""
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


def compare(name: str, config: dict, steps: int, strength: float, want: dict, base, image) -> None:
    """Run Genloom's loop on the same fake denoiser and noise stream as diffusers did; assert closeness.

    diffusers builds its noise schedule in float32, Genloom in float64, so values agree to ~1e-4 relative
    (largest at t = 0 of the linear schedule, where 1 - alpha is tiny).
    """
    sched = make(name, config)
    sched.set_timesteps(steps, strength=strength)
    np.testing.assert_allclose(np.asarray(sched.timesteps, np.float64), want["timesteps"], atol=1e-3)
    if strength == 1.0:
        assert sched.init_noise_sigma == pytest.approx(float(want["init_noise_sigma"]), rel=1e-4)
    rng = np.random.default_rng(11)  # diffusers drew its step noise from this same stream
    start_noise = np.random.default_rng(3).standard_normal(base.shape, dtype=np.float32)
    if strength < 1.0:
        x = sched.add_noise(image, start_noise, sched.timesteps[0])
    else:
        x = start_noise * np.float32(sched.init_noise_sigma)
    np.testing.assert_allclose(x, want["start"], rtol=1e-4, atol=1e-4)
    for i, t in enumerate(sched.timesteps):
        x_in = sched.scale_model_input(x, t)
        np.testing.assert_allclose(x_in, want["scaled"][i], rtol=1e-4, atol=1e-4)
        x, x0 = sched.step(fake_denoiser(x_in, float(t), base), t, x, rng)
        if want["x0"][i].any():
            np.testing.assert_allclose(x0, want["x0"][i], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(x, want["final"], rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("key", KEYS)
def test_matches_diffusers_goldens(key):
    name, cfg_name, steps, strength = key.split("|")
    want = {f: GOLD[f"{key}|{f}"] for f in ("timesteps", "init_noise_sigma", "start", "scaled", "x0", "final")}
    compare(name, CASES["configs"][cfg_name], int(steps), float(strength), want, GOLD["base"], GOLD["image"])


@pytest.mark.heavy
@pytest.mark.parametrize("name", CASES["names"])
@pytest.mark.parametrize("steps,strength", [(1, 1.0), (3, 1.0), (15, 1.0), (25, 1.0), (20, 0.35)])
@pytest.mark.parametrize("cfg_name", list(CASES["configs"]))
def test_matches_diffusers_live(name, steps, strength, cfg_name):
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    from models.zoo.tiny_sd_reference import diffusers_case

    if name == "LCM" and steps > 50 * strength:
        pytest.skip("LCM allows at most original_inference_steps * strength steps")
    config = CASES["configs"][cfg_name]
    want = diffusers_case(name, config, steps, strength, GOLD["base"], GOLD["image"])
    compare(name, config, steps, strength, want, GOLD["base"], GOLD["image"])
