"""GAN jobs: a grid of faces from consecutive seeds, and an interpolation strip between two seeds."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterator

import numpy as np

from models.runtime.errors import BadInput
from models.runtime.checks import whole_number
from models.runtime.events import Partial, Progress, Result
from models.runtime.images import latent_size, output_range, to_uint8

from . import sampler
from .validate import validate_generator

BATCH = 16  # faces per session.run
MAX_COUNT = 64
MAX_FRAMES = 120
PSI_RANGE = (0.0, 2.0)


@dataclass(frozen=True)
class FacesRequest:
    """`count` faces; face i uses seed `seed + i`."""

    family = "gan"
    model: str | None = None
    seed: int = 0
    count: int = 1
    truncation: float = 1.0
    save: bool = True


@dataclass(frozen=True)
class InterpolateRequest:
    """`frames` faces on the great circle from seed_a's latent to seed_b's, both truncated by psi."""

    family = "gan"
    model: str | None = None
    seed_a: int = 0
    seed_b: int = 1
    frames: int = 8
    truncation: float = 1.0
    save: bool = True


def run(request, ctx) -> Iterator:
    """The engine generator: Progress per batch, Partial('image') per face, then one Result."""
    if isinstance(request, FacesRequest):
        return _faces(request, ctx)
    if isinstance(request, InterpolateRequest):
        return _interpolate(request, ctx)
    raise BadInput(f"The GAN engine cannot run a {type(request).__name__}.")


# ---------------------------------------------------------------------------------------------- checks
def _check_psi(value) -> float:
    try:
        psi = float(value)
    except (TypeError, ValueError):
        raise BadInput(f"Truncation must be a number, not {value!r}.") from None
    if not (math.isfinite(psi) and PSI_RANGE[0] <= psi <= PSI_RANGE[1]):
        raise BadInput(f"Truncation psi must be between {PSI_RANGE[0]:g} and {PSI_RANGE[1]:g} (got {value}).")
    return psi


# ---------------------------------------------------------------------------------------------- model
@dataclass(frozen=True)
class _Generator:
    """A loaded generator: its session and how to feed it and read it."""

    name: str
    session: object
    input_name: str
    input_rank: int
    output_name: str
    z_dim: int
    low: float
    high: float


def _open(ctx, model: str | None) -> _Generator:
    manifest = ctx.registry.get("gan", model)
    session = ctx.sessions.get(manifest.path("generator"))
    io = validate_generator(session)
    z_dim = latent_size(manifest, io.z_dim)
    low, high = output_range(manifest)
    return _Generator(manifest.name, session, io.input_name, io.input_rank, io.output_name, z_dim, low, high)


def _render(gen: _Generator, ctx, z: np.ndarray, what: str) -> Iterator:
    """Run `z` (N, Z) through the generator in batches; yields events, returns (N, H, W, 3) uint8 at the end."""
    total = math.ceil(len(z) / BATCH)
    out = []
    for b in range(total):
        chunk = z[b * BATCH:(b + 1) * BATCH]  # (n, Z)
        feed = chunk.reshape(len(chunk), gen.z_dim, 1, 1) if gen.input_rank == 4 else chunk  # (n, Z[, 1, 1])
        images = ctx.sessions.run(gen.session, {gen.input_name: feed}, [gen.output_name])[0]  # (n, 3, H, W)
        faces = to_uint8(images, gen.low, gen.high)  # (n, H, W, 3)
        yield Progress(b + 1, total, f"{what} {b * BATCH + len(chunk)}/{len(z)}")
        for j, face in enumerate(faces):
            yield Partial("image", {"index": b * BATCH + j, "image": face})
        out.append(faces)
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------------- jobs
def _faces(request: FacesRequest, ctx) -> Iterator:
    count = whole_number(request.count, "Count", 1, MAX_COUNT)
    seed = whole_number(request.seed, "Seed", 0, sampler.SEED_LIMIT - 1)
    psi = _check_psi(request.truncation)
    gen = _open(ctx, request.model)
    z = sampler.truncate(sampler.latents(seed, count, gen.z_dim), psi)  # (count, Z)
    faces = yield from _render(gen, ctx, z, "faces")
    files, ids = [], []
    if request.save:
        base = {**asdict(request), "model": gen.name}
        for i, face in enumerate(faces):
            face_seed = (seed + i) % sampler.SEED_LIMIT
            params = {**base, "index": i, "face_seed": face_seed}
            item = ctx.gallery.add_image(face, kind="faces", model=gen.name, params=params, seed=face_seed)
            ids.append(item)
            files.append(str(ctx.gallery.get(item).path))
    yield Result({"files": files, "gallery_ids": ids, "model": gen.name, "seed": seed, "truncation": psi,
                  "images": list(faces), "latents": list(z)})


def _interpolate(request: InterpolateRequest, ctx) -> Iterator:
    frames = whole_number(request.frames, "Frames", 2, MAX_FRAMES)
    seed_a = whole_number(request.seed_a, "Seed A", 0, sampler.SEED_LIMIT - 1)
    seed_b = whole_number(request.seed_b, "Seed B", 0, sampler.SEED_LIMIT - 1)
    psi = _check_psi(request.truncation)
    gen = _open(ctx, request.model)
    za = sampler.truncate(sampler.latent(seed_a, gen.z_dim), psi)  # (Z,)
    zb = sampler.truncate(sampler.latent(seed_b, gen.z_dim), psi)  # (Z,)
    z = sampler.interpolation_path(za, zb, frames)  # (frames, Z)
    images = yield from _render(gen, ctx, z, "frames")
    files, ids = [], []
    if request.save:
        base = {**asdict(request), "model": gen.name}
        for i, frame in enumerate(images):
            params = {**base, "frame": i, "t": i / (frames - 1)}
            item = ctx.gallery.add_image(frame, kind="faces", model=gen.name, params=params, seed=seed_a)
            ids.append(item)
            files.append(str(ctx.gallery.get(item).path))
    yield Result({"files": files, "gallery_ids": ids, "model": gen.name, "seed": seed_a, "seed_a": seed_a,
                  "seed_b": seed_b, "truncation": psi, "images": list(images), "latents": list(z)})
