"""The denoising filmstrip as an animation: per recorded step, the predicted clean image x₀ beside the noisy latent."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from models.runtime.animation import save_gif
from models.runtime.images import enlarge


def frames(strip: list, min_height: int = 256) -> list[np.ndarray]:
    """One (H, W, 3) uint8 frame per recorded step; small images (the 64 px shapes model) are enlarged by a whole
    factor so the animation is readable."""
    out = []
    for frame in strip:
        x0, noisy = frame["x0"][0], frame["noisy"][0]  # (H, W, 3) each; the noisy latent may be smaller
        if noisy.shape[:2] != x0.shape[:2]:
            ry, rx = -(-x0.shape[0] // noisy.shape[0]), -(-x0.shape[1] // noisy.shape[1])
            noisy = enlarge(noisy, ry, rx)[: x0.shape[0], : x0.shape[1]]
        gap = np.full((x0.shape[0], max(2, x0.shape[1] // 16), 3), 32, np.uint8)
        pair = np.concatenate([x0, gap, noisy], axis=1)  # (H, 2W + gap, 3)
        out.append(enlarge(pair, max(1, -(-min_height // pair.shape[0]))))
    return out


def save(strip: list, path, fps: float = 3.0) -> Path:
    """Write the filmstrip as an animated GIF; BadInput when it has no frames, StorageError when unwritable."""
    return save_gif(frames(strip), path, fps=fps)
