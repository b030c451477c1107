"""Text-to-image and image-to-image with an SD model in the optimum ONNX layout, as numbered steps.

`generate(model, args)` is a generator: it yields `Progress` once per denoising step, `Partial("preview",
HxWx3 uint8)` every `preview_every` steps, `Notice`s (prompt truncated, black/NaN image, ...), and finally
one `Output` with the decoded images.

Random numbers (reproducible across machines): image i of a batch uses its own
`numpy.random.default_rng(seed + i)` (PCG64). It first draws the initial latent (or the img2img noise)
as `standard_normal((C, H/f, W/f), dtype=float32)` (f = the VAE's scale factor, 8 for SD), then any per-step noise the scheduler needs
(Euler a, LCM) in the same way. So image i is the same image as a batch of one with seed + i.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from models.runtime.errors import BadInput
from models.runtime.events import Notice, Partial, Progress

from . import schedulers
from .schedulers.lcm import guidance_embedding
from .sd_model import SDModel, ports, run

MAX_SIDE = 4096


@dataclass(frozen=True)
class GenerateArgs:
    prompt: str
    negative: str = ""
    steps: int = 20
    cfg: float = 7.0
    scheduler: str = "Euler a"
    seed: int = 0
    width: int = 512
    height: int = 512
    batch_size: int = 1
    init_image: str | None = None  # a path; switches to img2img
    strength: float = 0.75
    filmstrip: int = 0  # number of frames (x0 and noisy latent) to decode, 0 = none
    preview_every: int = 1  # 0 = no previews


@dataclass
class Output:
    images: list  # HxWx3 uint8, one per batch item
    filmstrip: list = field(default_factory=list)  # dicts: step, t, x0 (list of images), noisy (list of images)
    timesteps: list = field(default_factory=list)
    unet_seconds: float = 0.0
    preview_seconds: float = 0.0


def available_bytes() -> int:
    """Memory the OS says is available now (Linux /proc/meminfo, else physical pages)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 << 30


def estimate_bytes(model: SDModel, width: int, height: int, batch: int, cfg_batch: int) -> int:
    """Rough peak memory: weights + the UNet's largest self-attention + VAE decoder activations (fp32)."""
    tokens = (width // model.vae_scale) * (height // model.vae_scale)
    attention = batch * cfg_batch * 8 * tokens * tokens * 4  # 8 heads of (tokens x tokens) scores at full res
    vae = 4 * 128 * width * height * 4  # a few 128-channel full-resolution feature maps, one image at a time
    return model.weight_bytes + attention + vae


def load_image(path: str, width: int, height: int) -> np.ndarray:
    """An image file -> (1, 3, H, W) float32 in [-1, 1], resized to the request size. BadInput if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if img.size != (width, height):
                img = img.resize((width, height), Image.LANCZOS)
            pixels = np.asarray(img, dtype=np.float32)  # (H, W, 3)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise BadInput(f"Could not read the start image {path}: {exc.__class__.__name__}.") from None
    return (pixels / 127.5 - 1.0).transpose(2, 0, 1)[None]


def to_uint8(decoded: np.ndarray) -> np.ndarray:
    """(1, 3, H, W) VAE output in [-1, 1] -> (H, W, 3) uint8; NaNs become 0 (black)."""
    img = np.nan_to_num(decoded[0], nan=-1.0).transpose(1, 2, 0)
    return np.clip(np.round((img / 2 + 0.5) * 255), 0, 255).astype(np.uint8)


def check_args(model: SDModel, args: GenerateArgs, cfg_batch: int) -> None:
    f = model.vae_scale
    if args.width % f or args.height % f or args.width < f or args.height < f:
        raise BadInput(f"Width and height must be positive multiples of {f} (got {args.width}x{args.height}).")
    if max(args.width, args.height) > MAX_SIDE:
        raise BadInput(f"Width and height must be at most {MAX_SIDE} (got {args.width}x{args.height}).")
    if args.batch_size < 1 or args.batch_size > 64:
        raise BadInput(f"Batch size must be between 1 and 64 (got {args.batch_size}).")
    if not 0 <= args.cfg <= 50:
        raise BadInput(f"CFG scale must be between 0 and 50 (got {args.cfg}).")
    need = estimate_bytes(model, args.width, args.height, args.batch_size, cfg_batch)
    free = available_bytes()
    if need > free:
        raise BadInput(f"{args.width}x{args.height} x{args.batch_size} needs about {need / 2**30:.1f} GB but only "
                       f"{free / 2**30:.1f} GB is free; try a smaller size or batch.")


def timestep_feed(port, t, batch: int) -> np.ndarray:
    """The UNet's timestep input: a scalar in new exports, one per row ([B]) in old ones."""
    value = np.asarray(t, dtype=np.float64)
    if port.dtype in (np.int64, np.int32):
        value = np.floor(value)
    if len(port.shape) == 0:
        return value.astype(port.dtype)
    return np.full((batch,), value, dtype=port.dtype)


def generate(model: SDModel, args: GenerateArgs) -> Iterator:
    # 1. Check the request up front (size, batch, memory) and pick the guidance mode.
    #    LCM UNets embed the guidance scale; CFG <= 1 (Turbo-style) skips the negative pass.
    use_cfg = args.cfg > 1.0 and not model.lcm
    check_args(model, args, 2 if use_cfg else 1)
    if args.negative.strip() and not use_cfg:
        yield Notice("The negative prompt is ignored: it needs CFG above 1 (and a non-LCM model).")
    sched = schedulers.make(args.scheduler, model.scheduler_config)
    sched.set_timesteps(args.steps, strength=args.strength if args.init_image else 1.0)
    b, c = args.batch_size, model.latent_channels
    h, w = args.height // model.vae_scale, args.width // model.vae_scale

    # 2. Encode the prompt (and the negative prompt for CFG) with the CLIP text encoder.
    texts = [args.prompt] + ([args.negative] if use_cfg else [])
    embeds = []
    for label, text in zip(("Prompt", "Negative prompt"), texts):
        enc = model.tokenizer.encode(text)
        if enc.truncated:
            yield Notice(f"{label} is longer than 75 tokens; dropped: \"{enc.dropped[:120]}\".")
        embeds.append(run(model.text_encoder, {"input_ids": enc.ids[None]}))  # (1, 77, D)
    cond = np.repeat(embeds[0], b, axis=0)  # (B, 77, D)
    states = np.concatenate([np.repeat(embeds[1], b, axis=0), cond]) if use_cfg else cond  # (B or 2B, 77, D)

    # 3. Initial latents from per-image generators; img2img encodes the start image and noises it to t0.
    rngs = [np.random.default_rng(args.seed + i) for i in range(b)]
    noise = np.stack([g.standard_normal((c, h, w), dtype=np.float32) for g in rngs])  # (B, C, h, w)
    if args.init_image:
        pixels = load_image(args.init_image, args.width, args.height)  # (1, 3, H, W)
        moments = run(model.vae_encoder(), {"sample": pixels})  # (1, C or 2C, h, w)
        init = moments[:, :c] * model.scaling  # the mean when the encoder returns (mean, logvar)
        latents = sched.add_noise(np.repeat(init, b, axis=0), noise, sched.timesteps[0])
    else:
        latents = noise * np.float32(sched.init_noise_sigma)

    # 4. Extra UNet inputs: the timestep port's shape/dtype and, for LCM, the guidance embedding.
    unet_ports = ports(model.unet)
    extra = {}
    if model.lcm:
        dim = unet_ports["timestep_cond"].shape[1]
        extra["timestep_cond"] = guidance_embedding(args.cfg, int(dim) if isinstance(dim, int) else 256, b)

    # 5. Denoise: one batched UNet call per step (uncond and cond rows together), then the scheduler step.
    total = len(sched.timesteps)
    frames = set(np.linspace(0, total - 1, args.filmstrip).round().astype(int)) if args.filmstrip else set()
    out = Output(images=[], timesteps=[float(t) for t in sched.timesteps])
    started = time.perf_counter()
    for i, t in enumerate(sched.timesteps):
        x_in = sched.scale_model_input(latents, t)  # (B, C, h, w)
        x_in = np.concatenate([x_in, x_in]) if use_cfg else x_in  # (2B, C, h, w)
        tick = time.perf_counter()
        pred = run(model.unet, {"sample": x_in, "timestep": timestep_feed(unet_ports["timestep"], t, len(x_in)),
                                "encoder_hidden_states": states, **extra})
        out.unet_seconds += time.perf_counter() - tick
        if use_cfg:
            uncond, text = pred[:b], pred[b:]
            pred = uncond + np.float32(args.cfg) * (text - uncond)  # (B, C, h, w)
        latents, x0 = sched.step(pred, t, latents, rngs)
        per_step = (time.perf_counter() - started) / (i + 1)
        yield Progress(i + 1, total, f"{per_step:.2f} s/step, about {per_step * (total - i - 1):.0f} s left")
        if args.preview_every and ((i + 1) % args.preview_every == 0 or i + 1 == total):
            tick = time.perf_counter()
            preview = model.preview(x0[0])
            out.preview_seconds += time.perf_counter() - tick
            yield Partial("preview", preview)
        if i in frames:
            noisy = sched.scale_model_input(latents, t)  # variance-preserving view, what the UNet sees next
            out.filmstrip.append({"step": i + 1, "t": float(t), "x0": _decode_all(model, x0, small=True),
                                  "noisy": _decode_all(model, noisy, small=True)})

    # 6. Decode with the VAE, one image at a time (less memory), and explain NaN or black results.
    if not np.isfinite(latents).all():
        yield Notice("The latents became NaN/inf during sampling (often an fp16 overflow); "
                     "try fewer CFG, another scheduler or an fp32 model.")
    out.images = _decode_all(model, latents)
    for i, img in enumerate(out.images):
        if int(img.max()) <= 8:
            yield Notice(f"Image {i + 1} came out black: the VAE produced NaN or near-zero values "
                         "(common with fp16 VAEs); try an fp32 VAE or a lower CFG scale.")
    yield out


def _decode_all(model: SDModel, latents: np.ndarray, small: bool = False) -> list:
    """Decode each (C, h, w) latent to an HxWx3 uint8 image; `small` halves the size for filmstrips."""
    images = []
    for row in latents:
        img = to_uint8(run(model.vae_decoder, {"latent_sample": row[None] / np.float32(model.scaling)}))
        images.append(img[::2, ::2].copy() if small else img)
    return images

