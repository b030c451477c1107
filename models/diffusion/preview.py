"""A cheap latent -> RGB preview: one linear projection per pixel instead of a VAE decode.

The projection (rgb = matrix @ latent + bias per latent pixel: a (3, C) matrix and a (3,) bias, mapping
scaled latents to RGB in [-1, 1]) is fitted per
model by decoding a few latents with the real VAE (`fit`) and stored as `preview.json` in the model folder.
Without one, 4-channel models use a default Stable Diffusion 1.x approximation.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.runtime.images import enlarge

FILE = "preview.json"
# Widely used approximation of SD 1.x's VAE on scaled latents (rows: latent channels, columns: R, G, B);
# stored transposed below to the (3, C) convention of preview.json.
SD_FACTORS = ((0.3512, 0.2297, 0.3227), (0.3250, 0.4974, 0.2350), (-0.2829, 0.1762, 0.2721), (-0.2120, -0.2616, -0.7177))


@dataclass(frozen=True)
class LatentPreview:
    matrix: np.ndarray  # (3, C)
    bias: np.ndarray  # (3,)
    upscale: int = 2  # nearest-neighbour factor applied to the latent-resolution image

    def __call__(self, latent: np.ndarray) -> np.ndarray:
        """(C, h, w) scaled latent -> (h * upscale, w * upscale, 3) uint8."""
        c, h, w = latent.shape
        rgb = self.matrix @ latent.reshape(c, h * w).astype(np.float32, copy=False)  # (3, h*w)
        rgb += self.bias[:, None]
        np.nan_to_num(rgb, copy=False)
        img = np.clip(rgb * 127.5 + 127.5, 0, 255).astype(np.uint8).T.reshape(h, w, 3)  # (h, w, 3)
        if self.upscale > 1:
            img = enlarge(img, self.upscale)
        return img

    def to_json(self) -> dict:
        return {"description": "rgb = matrix @ latent + bias per latent pixel; latent scaled as in the "
                               "denoising loop; rgb in [-1, 1]",
                "matrix": self.matrix.round(5).tolist(), "bias": self.bias.round(5).tolist()}


def default_preview(channels: int) -> LatentPreview:
    """The SD 1.x approximation for 4 channels; a grey mean of the channels otherwise."""
    if channels == 4:
        return LatentPreview(np.asarray(SD_FACTORS, np.float32).T.copy(), np.zeros(3, np.float32))
    return LatentPreview(np.full((3, channels), 1.0 / channels, np.float32), np.zeros(3, np.float32))


def load_preview(folder: Path, channels: int) -> LatentPreview:
    """The model's fitted preview.json if present and matching `channels`, else the default."""
    file = Path(folder) / FILE
    if file.is_file():
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            matrix = np.asarray(data["matrix"], np.float32)
            bias = np.asarray(data["bias"], np.float32)
            if matrix.shape == (channels, 3) and channels != 3:  # older (C, 3) files
                matrix = matrix.T.copy()
            if matrix.shape == (3, channels) and bias.shape == (3,):
                return LatentPreview(matrix, bias)
        except (OSError, ValueError, KeyError, TypeError):
            pass
    return default_preview(channels)


def smooth_latents(rng: np.random.Generator, n: int, channels: int, size: int) -> np.ndarray:
    """Spatially smooth random latents (N, C, size, size), closer to real ones than white noise."""
    coarse = rng.standard_normal((n, channels, size // 4, size // 4), dtype=np.float32)
    return coarse.repeat(4, axis=2).repeat(4, axis=3)


def fit(latents: np.ndarray, images: np.ndarray) -> LatentPreview:
    """Least-squares projection from scaled latents (N, C, h, w) to decoded images (N, 3, H, W) in [-1, 1]."""
    n, c, h, w = latents.shape
    factor = images.shape[2] // h
    pooled = images.reshape(n, 3, h, factor, w, factor).mean(axis=(3, 5))  # (N, 3, h, w)
    x = latents.transpose(0, 2, 3, 1).reshape(-1, c)  # (N*h*w, C)
    y = pooled.transpose(0, 2, 3, 1).reshape(-1, 3)  # (N*h*w, 3)
    x1 = np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)
    coef, *_ = np.linalg.lstsq(x1.astype(np.float64), y.astype(np.float64), rcond=None)  # (C+1, 3)
    return LatentPreview(coef[:c].T.astype(np.float32).copy(), coef[c].astype(np.float32))


def save_preview(folder: Path, preview: LatentPreview) -> Path:
    file = Path(folder) / FILE
    file.write_text(json.dumps(preview.to_json()), encoding="utf-8")
    return file
