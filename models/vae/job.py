"""VAE jobs: decode a latent, encode an image, a two-axis traversal grid, and an A<->B interpolation.

Any ONNX decoder with a [N, Z] input and an [N, 3|1, H, W] output works; encoding needs an encoder too.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from models.runtime.errors import BadInput
from models.runtime.checks import whole_number
from models.runtime.events import Partial, Progress, Result
from models.runtime.images import latent_size, output_range, to_uint8

from . import explorer
from .explorer import encode_unavailable_reason  # noqa: F401  (re-exported for panels and the CLI)
from .validate import validate_decoder, validate_encoder

BATCH = 16
MAX_STEPS = 15
MAX_FRAMES = 120
DEFAULT_SIZE = 64


@dataclass(frozen=True)
class DecodeRequest:
    """Decode one latent into one image (the live slider view)."""

    family = "vae"
    model: str | None = None
    latent: tuple[float, ...] = ()
    save: bool = False


@dataclass(frozen=True)
class EncodeRequest:
    """Encode an image file (any size or mode) and decode its mean latent back."""

    family = "vae"
    model: str | None = None
    image_path: str = ""
    save: bool = False


@dataclass(frozen=True)
class TraversalRequest:
    """A steps x steps grid moving axis_a (rows) and axis_b (columns) over +-span sigma around `latent`."""

    family = "vae"
    model: str | None = None
    latent: tuple[float, ...] = ()
    axis_a: int = 0
    axis_b: int = 1
    steps: int = 7
    span: float = explorer.SPAN
    save: bool = False


@dataclass(frozen=True)
class InterpolateRequest:
    """`frames` images from latent_a to latent_b ('slerp' around the mean latent, or 'lerp')."""

    family = "vae"
    model: str | None = None
    latent_a: tuple[float, ...] = ()
    latent_b: tuple[float, ...] = ()
    frames: int = 8
    save: bool = False
    method: str = "slerp"


def run(request, ctx) -> Iterator:
    """The engine generator: Progress per batch, Partial('image') per image, then one Result."""
    jobs = {DecodeRequest: _decode_job, EncodeRequest: _encode_job, TraversalRequest: _traversal_job,
            InterpolateRequest: _interpolate_job}
    job = jobs.get(type(request))
    if job is None:
        raise BadInput(f"The VAE engine cannot run a {type(request).__name__}.")
    return job(request, ctx)


# ---------------------------------------------------------------------------------------------- model
@dataclass(frozen=True)
class _Vae:
    name: str
    manifest: object
    decoder: object
    io: object
    z_dim: int
    low: float
    high: float
    axes: explorer.Axes


def _open(ctx, model: str | None) -> _Vae:
    manifest = ctx.registry.get("vae", model)
    session = ctx.sessions.get(manifest.path("decoder"))
    io = validate_decoder(session)
    z_dim = latent_size(manifest, io.z_dim)
    low, high = output_range(manifest)
    return _Vae(manifest.name, manifest, session, io, z_dim, low, high, explorer.axes_for(manifest, z_dim))


def _render(vae: _Vae, ctx, z: np.ndarray, what: str, timing: list) -> Iterator:
    """Decode z (N, Z) in batches, yielding events; returns (N, H, W, 3) uint8. Adds the run time to timing."""
    total = math.ceil(len(z) / BATCH)
    out = []
    for b in range(total):
        chunk = z[b * BATCH:(b + 1) * BATCH].astype(np.float32)  # (n, Z)
        feed = chunk.reshape(len(chunk), vae.z_dim, 1, 1) if vae.io.input_rank == 4 else chunk
        start = time.perf_counter()
        images = ctx.sessions.run(vae.decoder, {vae.io.input_name: feed}, [vae.io.output_name])[0]  # (n, C, H, W)
        timing.append((time.perf_counter() - start) * 1000.0)
        faces = to_uint8(images, vae.low, vae.high)  # (n, H, W, 3)
        if total > 1:
            yield Progress(b + 1, total, f"{what} {b * BATCH + len(chunk)}/{len(z)}")
        for j, face in enumerate(faces):
            yield Partial("image", {"index": b * BATCH + j, "image": face})
        out.append(faces)
    return np.concatenate(out)


def _rounded(z) -> list:
    return [round(float(v), 6) for v in z]


def _save(ctx, vae: _Vae, images, params_list: list[dict]) -> tuple[list, list]:
    files, ids = [], []
    for image, params in zip(images, params_list):
        item = ctx.gallery.add_image(image, kind="vae", model=vae.name, params=params, seed=None)
        ids.append(item)
        files.append(str(ctx.gallery.get(item).path))
    return files, ids


def _payload(vae: _Vae, latent, images, timing, files, ids, **extra) -> dict:
    return {"files": files, "gallery_ids": ids, "model": vae.name, "latent": _rounded(latent),
            "sliders": _rounded(explorer.latent_to_sliders(latent, vae.axes)), "decode_ms": round(sum(timing), 3),
            "images": list(images), **extra}


# ---------------------------------------------------------------------------------------------- jobs
def _decode_job(request: DecodeRequest, ctx) -> Iterator:
    vae = _open(ctx, request.model)
    z = explorer.check_latent(request.latent, vae.z_dim)  # (Z,)
    timing: list = []
    images = yield from _render(vae, ctx, z[None], "image", timing)
    files, ids = [], []
    if request.save:
        files, ids = _save(ctx, vae, images, [{"request": "decode", "latent": _rounded(z)}])
    yield Result(_payload(vae, z, images, timing, files, ids))


def _encode_job(request: EncodeRequest, ctx) -> Iterator:
    vae = _open(ctx, request.model)
    reason = encode_unavailable_reason(vae.manifest)
    if reason:
        raise BadInput(reason)
    if not str(request.image_path).strip():
        raise BadInput("Choose an image file to encode.")
    session = ctx.sessions.get(vae.manifest.path("encoder"))
    io = validate_encoder(session, vae.z_dim)
    size = (io.width or vae.io.width or DEFAULT_SIZE, io.height or vae.io.height or DEFAULT_SIZE)
    pixels = explorer.load_image(request.image_path, size, io.channels)  # (C, H, W) in [0, 1]
    x = (pixels * (vae.high - vae.low) + vae.low)[None].astype(np.float32)  # (1, C, H, W)
    outputs = [io.mean_name] + ([io.logvar_name] if io.logvar_name else [])
    start = time.perf_counter()
    result = ctx.sessions.run(session, {io.input_name: x}, outputs)
    encode_ms = (time.perf_counter() - start) * 1000.0
    yield Progress(1, 2, "encoded")
    z = explorer.check_latent(np.asarray(result[0], np.float64).reshape(-1), vae.z_dim, "The encoder's latent")
    timing: list = []
    images = yield from _render(vae, ctx, z[None], "image", timing)
    yield Progress(2, 2, "decoded")
    files, ids = [], []
    if request.save:
        params = {"request": "encode", "latent": _rounded(z), "source": str(request.image_path)}
        files, ids = _save(ctx, vae, images, [params])
    shown = np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8).transpose(1, 2, 0)  # (H, W, C)
    shown = np.repeat(shown, 3, axis=2) if shown.shape[2] == 1 else shown
    extra = {"input": shown, "encode_ms": round(encode_ms, 3), "image_path": str(request.image_path)}
    if io.logvar_name:
        extra["logvar"] = _rounded(np.asarray(result[1]).reshape(-1))
    yield Result(_payload(vae, z, images, timing, files, ids, **extra))


def _traversal_job(request: TraversalRequest, ctx) -> Iterator:
    vae = _open(ctx, request.model)
    steps = whole_number(request.steps, "Steps", 2, MAX_STEPS)
    axis_a = whole_number(request.axis_a, "Axis A", 0, vae.axes.count - 1)
    axis_b = whole_number(request.axis_b, "Axis B", 0, vae.axes.count - 1)
    try:
        span = float(request.span)
    except (TypeError, ValueError):
        raise BadInput(f"Span must be a number, not {request.span!r}.") from None
    if not (math.isfinite(span) and 0 < span <= 10):
        raise BadInput(f"Span must be between 0 and 10 sigma (got {request.span}).")
    z = explorer.check_latent(request.latent, vae.z_dim)
    grid = explorer.traversal_grid(z, vae.axes, axis_a, axis_b, steps, span)  # (S, S, Z)
    timing: list = []
    images = yield from _render(vae, ctx, grid.reshape(-1, vae.z_dim), "grid", timing)
    files, ids = [], []
    if request.save:
        sheet = tile(images, steps)
        params = {"request": "traversal", "latent": _rounded(z), "axis_a": axis_a, "axis_b": axis_b,
                  "steps": steps, "span": span}
        files, ids = _save(ctx, vae, [sheet], [params])
    yield Result(_payload(vae, z, images, timing, files, ids, grid=[steps, steps], axis_a=axis_a, axis_b=axis_b,
                          values=_rounded(explorer.traversal_values(steps, span))))


def _interpolate_job(request: InterpolateRequest, ctx) -> Iterator:
    vae = _open(ctx, request.model)
    frames = whole_number(request.frames, "Frames", 2, MAX_FRAMES)
    za = explorer.check_latent(request.latent_a, vae.z_dim, "Latent A")
    zb = explorer.check_latent(request.latent_b, vae.z_dim, "Latent B")
    z = explorer.path(za, zb, frames, request.method, vae.axes.mean)  # (F, Z)
    timing: list = []
    images = yield from _render(vae, ctx, z, "frames", timing)
    files, ids = [], []
    if request.save:
        params = [{"request": "interpolate", "latent": _rounded(zi), "latent_a": _rounded(za), "latent_b": _rounded(zb),
                   "frame": i, "t": i / (frames - 1), "method": request.method} for i, zi in enumerate(z)]
        files, ids = _save(ctx, vae, images, params)
    yield Result(_payload(vae, za, images, timing, files, ids, latent_b=_rounded(zb),
                          latents=[_rounded(zi) for zi in z], method=request.method))


def tile(images, columns: int) -> np.ndarray:
    """Images (N, H, W, 3) -> one sheet (rows*H, columns*W, 3), row-major."""
    images = np.asarray(images)
    n, h, w, c = images.shape
    rows = math.ceil(n / columns)
    sheet = np.zeros((rows * h, columns * w, c), np.uint8)
    for i, image in enumerate(images):
        r, k = divmod(i, columns)
        sheet[r * h:(r + 1) * h, k * w:(k + 1) * w] = image
    return sheet
