"""Latent-space maths for the VAE sliders: importance-ordered axes, slider <-> latent, random, paths, grids.

Slider k is measured in units of sigma_k along axis k:  latent = mean + sum_k s_k * sigma_k * components[k].
Bundled models ship the axes (PCA of encoded training means, GANSpace style) in `axes.json`; a model
without one gets the prior's axes (mean 0, unit sigma, one axis per latent dimension).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.runtime.errors import BadInput, ModelError

SPAN = 3.0  # sliders cover +-3 sigma


@dataclass(frozen=True)
class Axes:
    """Importance-ordered axes of a latent space."""

    mean: np.ndarray  # (Z,)
    components: np.ndarray  # (K, Z), orthonormal rows, most important first
    sigma: np.ndarray  # (K,)
    share: np.ndarray  # (K,) share of the variance along each axis
    method: str = "prior"
    sample_2d: np.ndarray | None = None  # (P, 2) encoded training faces on axes 0 and 1, in sigma units

    @property
    def z_dim(self) -> int:
        return int(self.mean.shape[0])

    @property
    def count(self) -> int:
        return int(self.components.shape[0])


def prior_axes(z_dim: int) -> Axes:
    """The axes of N(0, I): one per dimension, unit sigma, equal shares."""
    return Axes(np.zeros(z_dim), np.eye(z_dim), np.ones(z_dim), np.full(z_dim, 1.0 / z_dim), "prior")


def axes_from_json(data: dict, z_dim: int | None = None) -> Axes:
    """Build Axes from the `axes.json` layout, checking shapes; ModelError with one line otherwise."""
    try:
        mean = np.asarray(data["mean"], np.float64)
        components = np.asarray(data["components"], np.float64)
        sigma = np.asarray(data["sigma"], np.float64)
        share = np.asarray(data.get("variance_share") or sigma ** 2 / np.sum(sigma ** 2), np.float64)
        sample = data.get("sample_2d")
        points = np.asarray(sample["points"], np.float64).reshape(-1, 2) if sample else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"The axes file is malformed ({type(exc).__name__}: {exc}).") from None
    z = mean.shape[0] if mean.ndim == 1 else -1
    if z < 1 or components.ndim != 2 or components.shape[1] != z or sigma.shape != (components.shape[0],):
        raise ModelError(f"The axes file has inconsistent shapes (mean {mean.shape}, components {components.shape}, sigma {sigma.shape}).")
    if z_dim is not None and z != z_dim:
        raise ModelError(f"The axes file is for {z}-D latents but the decoder takes {z_dim}-D ones.")
    if not (np.all(np.isfinite(components)) and np.all(np.isfinite(mean)) and np.all(sigma > 0)):
        raise ModelError("The axes file has non-finite values or a sigma that is not positive.")
    return Axes(mean, components, sigma, share, str(data.get("method", "pca")), points)


def load_axes(path: Path | str | None, z_dim: int) -> Axes:
    """Axes from a JSON file, or the prior's axes when there is no file."""
    if path is None:
        return prior_axes(z_dim)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"Cannot read the axes file {Path(path).name}: {exc}") from None
    return axes_from_json(data, z_dim)


def check_latent(latent, z_dim: int, name: str = "Latent") -> np.ndarray:
    """A (Z,) float64 vector, or BadInput naming what is wrong."""
    try:
        z = np.asarray(latent, np.float64)
    except (TypeError, ValueError):
        raise BadInput(f"{name} must be a list of numbers.") from None
    if z.ndim != 1 or z.shape[0] != z_dim:
        raise BadInput(f"{name} must have {z_dim} numbers for this model (got {z.size}).")
    if not np.all(np.isfinite(z)):
        raise BadInput(f"{name} holds a value that is not a finite number.")
    return z


def slider_to_latent(values_in_sigma, axes: Axes) -> np.ndarray:
    """Slider values (K,) in sigma units -> latent (Z,)."""
    s = np.asarray(values_in_sigma, np.float64)
    if s.shape != (axes.count,):
        raise BadInput(f"Expected {axes.count} slider values, got {s.size}.")
    return axes.mean + (s * axes.sigma) @ axes.components  # (Z,)


def latent_to_sliders(latent, axes: Axes) -> np.ndarray:
    """Latent (Z,) -> slider values (K,) in sigma units (exact inverse when the axes span the space)."""
    z = check_latent(latent, axes.z_dim)
    return ((z - axes.mean) @ axes.components.T) / axes.sigma  # (K,)


def reset_sliders(axes: Axes) -> np.ndarray:
    """All sliders at 0: the mean latent."""
    return np.zeros(axes.count)


def random_sliders(axes: Axes, seed: int | None = None, current=None, locked=(), span: float = SPAN) -> np.ndarray:
    """Standard-normal slider values clipped to +-span; locked axes keep their `current` values."""
    values = np.clip(np.random.default_rng(seed).standard_normal(axes.count), -span, span)
    if locked:
        if current is None:
            raise BadInput("Locked axes need the current slider values.")
        current = np.asarray(current, np.float64)
        if current.shape != (axes.count,):
            raise BadInput(f"Expected {axes.count} current slider values, got {current.size}.")
        for k in locked:
            if not 0 <= int(k) < axes.count:
                raise BadInput(f"Axis {k} does not exist (this model has {axes.count}).")
            values[int(k)] = current[int(k)]
    return values


def lerp(a, b, t: float) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (1.0 - t) * a + t * b


def slerp(a, b, t: float, centre=None) -> np.ndarray:
    """Spherical interpolation of the offsets from `centre` (the mean latent), falling back to lerp
    when the two offsets are (anti)parallel or zero."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    c = np.zeros_like(a) if centre is None else np.asarray(centre, np.float64)
    u, v = a - c, b - c
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu < 1e-12 or nv < 1e-12:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(u, v) / (nu * nv), -1.0, 1.0))
    omega = math.acos(cos)
    if omega < 1e-6 or math.pi - omega < 1e-6:
        return lerp(a, b, t)
    s = math.sin(omega)
    return c + (math.sin((1 - t) * omega) / s) * u + (math.sin(t * omega) / s) * v


def path(a, b, frames: int, method: str = "slerp", centre=None) -> np.ndarray:
    """`frames` latents from a to b inclusive: (frames, Z)."""
    if method not in ("lerp", "slerp"):
        raise BadInput(f"Interpolation must be 'lerp' or 'slerp', not {method!r}.")
    ts = np.linspace(0.0, 1.0, frames)
    if method == "lerp":
        return np.stack([lerp(a, b, t) for t in ts])
    return np.stack([slerp(a, b, t, centre) for t in ts])


def traversal_values(steps: int, span: float = SPAN) -> np.ndarray:
    return np.linspace(-span, span, steps)


def traversal_grid(latent, axes: Axes, axis_a: int, axis_b: int, steps: int, span: float = SPAN) -> np.ndarray:
    """Latents (steps, steps, Z): row i sets slider axis_a to v_i, column j sets axis_b to v_j,
    v = linspace(-span, span, steps); every other slider keeps its value from `latent`."""
    for k in (axis_a, axis_b):
        if not 0 <= k < axes.count:
            raise BadInput(f"Axis {k} does not exist (this model has {axes.count}).")
    if axis_a == axis_b:
        raise BadInput("A traversal grid needs two different axes.")
    base = latent_to_sliders(latent, axes)  # (K,)
    values = traversal_values(steps, span)
    grid = np.empty((steps, steps, axes.z_dim))
    for i, va in enumerate(values):
        for j, vb in enumerate(values):
            s = base.copy()
            s[axis_a], s[axis_b] = va, vb
            grid[i, j] = slider_to_latent(s, axes)
    return grid


def load_image(path: Path | str, size: tuple[int, int] = (64, 64), channels: int = 3) -> np.ndarray:
    """Any image file -> (channels, H, W) float32 in [0, 1], centre-cropped to the aspect of `size` and resized.

    Transparent pixels are put on white; EXIF rotation is applied. Unreadable files raise BadInput."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path).expanduser()
    try:
        with Image.open(path) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened)
    except FileNotFoundError:
        raise BadInput(f"{path} does not exist.") from None
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        reason = "not an image Genloom can read" if isinstance(exc, UnidentifiedImageError) else " ".join(str(exc).split())
        raise BadInput(f"Cannot read {path.name}: {reason}.") from None
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    image = image.convert("RGB" if channels == 3 else "L")
    width, height = size
    image = ImageOps.fit(image, (width, height), method=Image.Resampling.LANCZOS)
    array = np.asarray(image, np.float32) / 255.0  # (H, W[, 3])
    return array.transpose(2, 0, 1) if array.ndim == 3 else array[None]  # (C, H, W)


def axes_for(manifest, z_dim: int | None = None) -> Axes:
    """The slider axes of a VAE manifest: its `axes` file, else the prior's axes for params.z_dim."""
    z_dim = z_dim or manifest.params.get("z_dim")
    if not z_dim:
        raise ModelError(f"Model '{manifest.name}' does not say its latent size (params.z_dim).")
    return load_axes(manifest.path("axes") if "axes" in manifest.files else None, int(z_dim))


def encode_unavailable_reason(manifest) -> str | None:
    """Why images cannot be encoded with this model, or None when they can."""
    if "encoder" not in manifest.files:
        return f"'{manifest.name}' has only a decoder, so it cannot encode images (sliders, random and interpolation still work)."
    folder = Path(manifest.folder)
    if not (folder / manifest.files["encoder"]).is_file():
        return f"'{manifest.name}' is missing its encoder file {manifest.files['encoder']}, so it cannot encode images."
    return None
