"""Shared by the image families: checking a manifest's latent size and output range (GAN, VAE),
and turning model outputs into displayable uint8 images."""
from __future__ import annotations

import numpy as np

from .errors import ModelError


def latent_size(manifest, graph_z_dim: int | None) -> int:
    """The latent size from params.z_dim or the graph; ModelError when unknown or contradictory."""
    z_dim = manifest.params.get("z_dim") or graph_z_dim
    if not z_dim:
        raise ModelError(f"Model '{manifest.name}' does not say its latent size (params.z_dim).")
    if graph_z_dim and graph_z_dim != z_dim:
        raise ModelError(f"Model '{manifest.name}': manifest z_dim {z_dim} differs from the graph's {graph_z_dim}.")
    return int(z_dim)


def output_range(manifest) -> tuple[float, float]:
    """The (low, high) pixel range the model declares in params.range (default [-1, 1])."""
    value_range = manifest.params.get("range") or [-1.0, 1.0]
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ModelError(f"Model '{manifest.name}': params.range must be [low, high], not {value_range!r}.") from None
    if not high > low:
        raise ModelError(f"Model '{manifest.name}': params.range {value_range!r} is empty.")
    return low, high


def to_uint8(images: np.ndarray, low: float, high: float) -> np.ndarray:
    """(N, C, H, W) floats in [low, high] -> (N, H, W, 3) uint8 (grey images are repeated to RGB)."""
    scaled = (np.asarray(images, np.float32) - low) * (255.0 / (high - low))  # (N, C, H, W)
    out = np.clip(np.rint(scaled), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)  # (N, H, W, C)
    return np.repeat(out, 3, axis=3) if out.shape[3] == 1 else out  # (N, H, W, 3)


def enlarge(image: np.ndarray, ky: int, kx: int | None = None) -> np.ndarray:
    """(H, W, ...) -> (H*ky, W*kx, ...) with nearest-neighbour pixels (crisp small images)."""
    kx = ky if kx is None else kx
    return np.repeat(np.repeat(image, ky, axis=0), kx, axis=1)
