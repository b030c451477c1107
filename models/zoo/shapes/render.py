"""Procedural captioned scenes of coloured shapes (numpy + PIL, no torch).

A scene is a background colour plus one or two objects; `caption()` writes the
prompt and `draw()` paints a 64x64 RGB image of exactly that content.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 30),
    "orange": (245, 140, 20),
    "purple": (140, 40, 180),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
}
DEFAULT_BACKGROUND = (128, 128, 128)  # grey when the caption names no background
SHAPES = ("circle", "square", "triangle", "star")
SIZES = {"small": 9.0, "large": 14.0}  # half-width in pixels
POSITIONS = {
    "left": (16, 32), "right": (48, 32), "top": (32, 16), "bottom": (32, 48), "center": (32, 32),
}
POSITION_PHRASE = {
    "left": "on the left", "right": "on the right", "top": "at the top",
    "bottom": "at the bottom", "center": "in the center",
}
PAIRS = (("left", "right"), ("right", "left"), ("top", "bottom"), ("bottom", "top"))
WORDS = sorted(
    set(COLOURS) | set(SHAPES) | set(SIZES) | {"a", "and", "on", "the", "at", "in", "background"}
    | {w for p in POSITION_PHRASE.values() for w in p.split()}
)


@dataclass
class Obj:
    """One shape; `say_size`/`say_position` control whether the caption names them."""

    colour: str
    shape: str
    size: str
    position: str
    say_size: bool = True
    say_position: bool = True


@dataclass
class Scene:
    """Objects on a background; `background` None means the default grey."""

    objects: list[Obj] = field(default_factory=list)
    background: str | None = None


def caption(scene: Scene) -> str:
    """Prompt text for a scene, e.g. 'a small red circle on the left on a blue background'."""
    parts = []
    for o in scene.objects:
        words = ["a"] + ([o.size] if o.say_size else []) + [o.colour, o.shape]
        if o.say_position:
            words.append(POSITION_PHRASE[o.position])
        parts.append(" ".join(words))
    text = " and ".join(parts)
    if scene.background:
        text += f" on a {scene.background} background"
    return text


def _shape_points(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "triangle":
        return [(cx + r * math.cos(a), cy + r * 1.1 * math.sin(a) + r * 0.15)
                for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
    if shape == "star":
        pts = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            rad = r * 1.1 if k % 2 == 0 else r * 0.45
            pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
        return pts
    raise ValueError(shape)


def draw_shape(d: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, fill) -> None:
    """Paint one shape of half-width r centred at (cx, cy)."""
    if shape == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "square":
        s = r * 0.88
        d.rectangle([cx - s, cy - s, cx + s, cy + s], fill=fill)
    else:
        d.polygon(_shape_points(shape, cx, cy, r), fill=fill)


def draw(scene: Scene, rng: random.Random | None = None, scale: int = 4) -> np.ndarray:
    """Render a scene to a (64, 64, 3) uint8 array; rng adds small jitter (None = exact)."""
    jit = (lambda a: rng.uniform(-a, a)) if rng else (lambda a: 0.0)
    bg = COLOURS[scene.background] if scene.background else DEFAULT_BACKGROUND
    img = Image.new("RGB", (SIZE * scale, SIZE * scale), tuple(int(c + jit(8)) for c in bg))
    d = ImageDraw.Draw(img)
    for o in scene.objects:
        cx, cy = POSITIONS[o.position]
        r = SIZES[o.size] * (1 + jit(0.12))
        fill = tuple(int(min(255, max(0, c + jit(10)))) for c in COLOURS[o.colour])
        draw_shape(d, o.shape, (cx + jit(3)) * scale, (cy + jit(3)) * scale, r * scale, fill)
    return np.asarray(img.resize((SIZE, SIZE), Image.BILINEAR if scale == 1 else Image.LANCZOS))


def random_scene(rng: random.Random, captions_vary: bool = True) -> Scene:
    """Sample a scene; with captions_vary, size/position words are sometimes left out."""
    background = rng.choice(list(COLOURS)) if rng.random() < 0.6 else None
    n = 1 if rng.random() < 0.5 else 2
    positions = [rng.choice(list(POSITIONS))] if n == 1 else list(rng.choice(PAIRS))
    objects = []
    for pos in positions:
        colour = rng.choice([c for c in COLOURS if c != background])
        o = Obj(colour, rng.choice(SHAPES), rng.choice(list(SIZES)), pos)
        if captions_vary:
            o.say_size = rng.random() > 0.15
            o.say_position = n == 2 or rng.random() > 0.15
        objects.append(o)
    if n == 2 and objects[0].colour == objects[1].colour and objects[0].shape == objects[1].shape:
        objects[1].shape = SHAPES[(SHAPES.index(objects[1].shape) + 1) % len(SHAPES)]
    return Scene(objects, background)


def eval_scenes() -> tuple[list[Scene], list[Scene]]:
    """The fixed held-out prompts: 48 single-object and 24 two-object scenes (fully specified)."""
    rng = random.Random(1234)
    singles, doubles = [], []
    while len(singles) < 48:
        s = random_scene(rng, captions_vary=False)
        if len(s.objects) == 1 and caption(s) not in {caption(x) for x in singles}:
            singles.append(s)
    while len(doubles) < 24:
        s = random_scene(rng, captions_vary=False)
        if len(s.objects) == 2 and caption(s) not in {caption(x) for x in doubles}:
            doubles.append(s)
    return singles, doubles


def held_out_captions() -> set[str]:
    """Captions that training must never see."""
    singles, doubles = eval_scenes()
    return {caption(s) for s in singles + doubles}
