"""Fit the linear latent -> RGB projection stored in preview.json (least squares)."""
from __future__ import annotations

import random

import numpy as np
import torch
import torch.nn.functional as F

from .data import batch, to_tensor
from .nets import Decoder, Encoder


def fit_preview(enc: Encoder, dec: Decoder, scale: float, n: int = 256) -> dict:
    """Least-squares fit of 4x4-pooled decoded RGB on scaled latents: rgb = M @ z + b."""
    with torch.no_grad():
        x = to_tensor(batch(random.Random(99), n)[0])  # (N, 3, 64, 64)
        z = enc(x) * scale  # (N, 4, 16, 16)
        rgb = F.avg_pool2d(dec(z / scale), 4)  # (N, 3, 16, 16)
    zc = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1]).numpy()  # (P, 4)
    yc = rgb.permute(0, 2, 3, 1).reshape(-1, 3).numpy()  # (P, 3)
    a = np.concatenate([zc, np.ones((len(zc), 1), np.float32)], 1)  # (P, 5)
    sol, *_ = np.linalg.lstsq(a, yc, rcond=None)  # (5, 3)
    err = float(np.abs(a @ sol - yc).mean())
    return {
        "description": "rgb = matrix @ latent + bias per latent pixel; latent as in the denoising "
                       "loop (scaled by scaling_factor); rgb in [-1, 1]",
        "matrix": sol[:-1].T.round(5).tolist(),  # (3, C)
        "bias": sol[-1].round(5).tolist(),  # (3,)
        "mean_abs_error": round(err, 4),
    }
