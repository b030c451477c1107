"""Diffusion jobs: text-to-image / image-to-image with an SD model from the registry.

`run(ImageRequest, ctx)` yields Progress (one per denoising step across the whole job), Partial("preview")
images, Partial("image") per finished image, Notices, and one Result whose payload has files, gallery_ids,
model, seed, scheduler, steps, elapsed_s, s_per_step (wall time per denoising step, including text
encoding and decoding), unet_s, width, height, images (HxWx3 uint8 arrays) and filmstrip (when asked:
dicts with step, t, seed, x0 and noisy lists of half-size HxWx3 uint8 images).
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Iterator

from models.runtime.errors import BadInput
from models.runtime.checks import whole_number
from models.runtime.events import Partial, Progress, Result

from . import schedulers
from .pipeline import GenerateArgs, Output, generate
from .sd_model import open_model

FALLBACK = {"steps": 20, "cfg": 7.0, "scheduler": "Euler a", "width": 512, "height": 512}
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class ImageRequest:
    """One generation job. None means "the model's default" (from its manifest params) for the model settings.

    Image k (0-based over batch_count x batch_size) uses seed + k; seed -1 (or None) picks a random one.
    """

    family = "diffusion"
    model: str | None = None
    prompt: str = ""
    negative: str = ""
    steps: int | None = None
    cfg: float | None = None
    scheduler: str | None = None
    seed: int | None = -1
    width: int | None = None
    height: int | None = None
    batch_size: int = 1
    batch_count: int = 1
    init_image: str | None = None
    strength: float = 0.75
    filmstrip: int = 0  # frames of x0/noisy latents to decode (0 = none)
    save: bool = True


def resolve(request: ImageRequest, params: dict) -> dict:
    """The request's settings with the model's defaults filled in, checked; plain values only."""
    def pick(key: str, param: str, fallback):
        for value in (getattr(request, key), params.get(param), fallback):
            if value is not None:
                return value

    steps, cfg = pick("steps", "steps", FALLBACK["steps"]), pick("cfg", "guidance", FALLBACK["cfg"])
    seed = request.seed
    if seed is None or seed == -1:
        seed = random.randint(0, MAX_SEED)
    try:
        cfg = float(cfg)
    except (TypeError, ValueError):
        raise BadInput(f"CFG scale must be a number, not {cfg!r}.") from None
    settings = {
        "prompt": str(request.prompt), "negative": str(request.negative or ""),
        "steps": whole_number(steps, "Steps", 1, 1000), "cfg": cfg,
        "scheduler": schedulers.canonical(pick("scheduler", "scheduler", FALLBACK["scheduler"])),
        "seed": whole_number(seed, "Seed", 0, MAX_SEED),
        "width": whole_number(pick("width", "width", FALLBACK["width"]), "Width", 8, 4096),
        "height": whole_number(pick("height", "height", FALLBACK["height"]), "Height", 8, 4096),
        "batch_size": whole_number(request.batch_size, "Batch size", 1, 64),
        "batch_count": whole_number(request.batch_count, "Batch count", 1, 1000),
        "init_image": str(request.init_image) if request.init_image else None,
        "strength": float(request.strength), "filmstrip": whole_number(request.filmstrip, "Filmstrip frames", 0, 50),
    }
    if settings["init_image"] and not 0.0 < settings["strength"] <= 1.0:
        raise BadInput(f"Strength must be in (0, 1] (got {settings['strength']}).")
    return settings


def run(request: ImageRequest, ctx) -> Iterator:
    if not isinstance(request, ImageRequest):
        raise BadInput(f"The diffusion engine cannot run a {type(request).__name__}.")
    manifest = ctx.registry.get("diffusion", request.model)
    settings = resolve(request, manifest.params)
    model = open_model(manifest.folder, ctx.sessions.get, name=manifest.name, params=manifest.params)
    return _generate(request, ctx, model, settings)


def _generate(request: ImageRequest, ctx, model, settings: dict) -> Iterator:
    started = time.perf_counter()
    files, ids, images, filmstrip = [], [], [], []
    unet_seconds, steps_done = 0.0, 0
    for run_index in range(settings["batch_count"]):
        seed = settings["seed"] + run_index * settings["batch_size"]
        args = GenerateArgs(**{k: settings[k] for k in ("prompt", "negative", "steps", "cfg", "scheduler", "width",
                                                      "height", "batch_size", "init_image", "strength", "filmstrip")},
                            seed=seed)
        for event in generate(model, args):
            if isinstance(event, Progress):
                steps_done += 1
                yield Progress(run_index * event.total + event.step, settings["batch_count"] * event.total,
                               event.message)
            elif isinstance(event, Output):
                unet_seconds += event.unet_seconds
                for i, image in enumerate(event.images):
                    images.append(image)
                    if request.save:
                        item_id = _save(ctx, model.name, settings, seed + i, image)
                        ids.append(item_id)
                        files.append(str(ctx.gallery.get(item_id).path))
                    yield Partial("image", image)
                filmstrip.extend(dict(frame, seed=seed) for frame in event.filmstrip)
            else:
                yield event
    elapsed = time.perf_counter() - started
    payload = {
        "files": files, "gallery_ids": ids, "model": model.name, "seed": settings["seed"],
        "scheduler": settings["scheduler"], "steps": settings["steps"], "elapsed_s": round(elapsed, 3),
        "s_per_step": round(elapsed / steps_done, 4) if steps_done else None, "images": images,
        "width": settings["width"], "height": settings["height"], "unet_s": round(unet_seconds, 3),
    }
    if settings["filmstrip"]:
        payload["filmstrip"] = filmstrip
    yield Result(payload)


def _save(ctx, model_name: str, settings: dict, seed: int, image) -> int:
    from models.gallery.pngmeta import a1111_parameters

    params = {k: v for k, v in settings.items() if k not in ("batch_count", "filmstrip")}
    params.update(seed=seed, model=model_name, batch_size=1)
    return ctx.gallery.add_image(image, kind="image", model=model_name, params=params, seed=seed,
                                 prompt=settings["prompt"], a1111=a1111_parameters(params))


def request_from_params(params: dict) -> ImageRequest:
    """An ImageRequest from saved gallery params or parsed A1111 text ("reuse these settings")."""
    known = {k: v for k, v in params.items() if k in ImageRequest.__dataclass_fields__}
    return ImageRequest(**known)

