"""PNG metadata: Genloom's full request as JSON (iTXt 'genloom') and A1111's 'parameters' text.

A1111 format (read by Diffusion Toolkit, Infinite Image Browsing, civitai):
    <prompt>
    Negative prompt: <negative>
    Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model: name
"""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from models.runtime.errors import BadInput

KEY = "genloom"


def encode_png(image, meta: dict | None = None, a1111: str | None = None) -> bytes:
    """PNG bytes of an HxWx3 uint8 array (or PIL image) with the metadata chunks."""
    picture = image if isinstance(image, Image.Image) else Image.fromarray(np.asarray(image, dtype=np.uint8))
    info = PngImagePlugin.PngInfo()
    if a1111:
        info.add_text("parameters", a1111)
    if meta is not None:
        info.add_itxt(KEY, json.dumps(meta, sort_keys=True, default=_plain), zip=True)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", pnginfo=info, optimize=False, compress_level=6)
    return buffer.getvalue()


def read_meta(path: Path | str) -> tuple[dict | None, str | None]:
    """(Genloom JSON or None, A1111 parameters text or None) of a PNG. Non-images raise BadInput."""
    try:
        with Image.open(path) as picture:
            text = dict(getattr(picture, "text", {}) or {})
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise BadInput(f"{Path(path).name} is not a readable image.") from None
    meta = None
    if KEY in text:
        try:
            meta = json.loads(text[KEY])
        except ValueError:
            meta = None
    return meta, text.get("parameters")


def a1111_parameters(params: dict) -> str:
    """The A1111 'parameters' text for a diffusion request dict."""
    lines = [str(params.get("prompt", ""))]
    if params.get("negative"):
        lines.append(f"Negative prompt: {params['negative']}")
    fields = [
        ("Steps", params.get("steps")), ("Sampler", params.get("scheduler")), ("CFG scale", params.get("cfg")),
        ("Seed", params.get("seed")),
        ("Size", f"{params['width']}x{params['height']}" if params.get("width") and params.get("height") else None),
        ("Model", params.get("model")),
        ("Denoising strength", params.get("strength") if params.get("init_image") else None),
    ]
    lines.append(", ".join(f"{k}: {_fmt(v)}" for k, v in fields if v is not None))
    return "\n".join(lines)


def parse_a1111(text: str) -> dict:
    """Parse A1111 'parameters' text into Genloom's diffusion parameter names."""
    lines = text.strip().split("\n")
    settings_line = lines[-1] if len(lines) > 1 and re.match(r"^\s*Steps:", lines[-1]) else ""
    body = lines[:-1] if settings_line else lines
    prompt, negative = [], []
    target = prompt
    for line in body:
        if line.startswith("Negative prompt:"):
            target = negative
            line = line[len("Negative prompt:"):].strip()
        target.append(line)
    out: dict = {"prompt": "\n".join(prompt).strip(), "negative": "\n".join(negative).strip()}
    names = {"Steps": ("steps", int), "Sampler": ("scheduler", str), "CFG scale": ("cfg", float),
             "Seed": ("seed", int), "Model": ("model", str), "Denoising strength": ("strength", float)}
    for key, value in re.findall(r"\s*([\w \-+/]+):\s*(\"(?:\\.|[^\"])*\"|[^,]*)(?:,|$)", settings_line):
        key = key.strip()
        if key == "Size" and "x" in value:
            width, height = value.strip().split("x", 1)
            out["width"], out["height"] = int(width), int(height)
        elif key in names:
            name, kind = names[key]
            try:
                out[name] = kind(value.strip())
            except ValueError:
                pass
    return out


def _fmt(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return str(value)
