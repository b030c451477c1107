"""Training batches from the procedural renderer (held-out prompts are never produced)."""
from __future__ import annotations

import random

import numpy as np
import torch

from . import render

HELD_OUT = render.held_out_captions()


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, 64, 64, 3) uint8 -> (N, 3, 64, 64) float in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def batch(rng: random.Random, n: int) -> tuple[np.ndarray, list[str]]:
    """n rendered images (N, 64, 64, 3) uint8 and their captions."""
    images, captions = [], []
    while len(images) < n:
        scene = render.random_scene(rng)
        text = render.caption(scene)
        if text in HELD_OUT:
            continue
        images.append(render.draw(scene, rng))
        captions.append(text)
    return np.stack(images), captions
