"""Automatic prompt-adherence checker for shapes images (numpy + PIL, no torch).

For each object a prompt names, look in the half of the image its position names
(the whole image for single objects), separate foreground from the background colour
read off the border, vote the colour over foreground pixels (nearest palette colour)
and match the shape of the largest foreground blob against rendered templates (IoU).

    python -m models.zoo.shapes.score --model resources/models/shapes-sd
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from . import render

PALETTE = np.array(list(render.COLOURS.values()), dtype=np.float32)  # (8, 3)
NAMES = list(render.COLOURS)
FG_DIST = 70.0
REGIONS = {  # (y0, y1, x0, x1) searched for an object at each position when two are present
    "left": (0, 64, 0, 32), "right": (0, 64, 32, 64), "top": (0, 32, 0, 64),
    "bottom": (32, 64, 0, 64), "center": (0, 64, 0, 64),
}


@dataclass
class Found:
    colour: str | None
    shape: str | None
    centre: tuple[float, float] | None  # (x, y) in image pixels


def _largest_blob(mask: np.ndarray) -> np.ndarray:
    """Largest 4-connected component of a boolean mask."""
    labels = np.zeros(mask.shape, np.int32)
    best, best_n, cur = None, 0, 0
    for y, x in zip(*np.nonzero(mask)):
        if labels[y, x]:
            continue
        cur += 1
        stack, pts = [(y, x)], []
        labels[y, x] = cur
        while stack:
            cy, cx = stack.pop()
            pts.append((cy, cx))
            for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = cur
                    stack.append((ny, nx))
        if len(pts) > best_n:
            best, best_n = cur, len(pts)
    return labels == best if best else np.zeros_like(mask)


def _template(shape: str, h: int, w: int) -> np.ndarray:
    """Mask of a shape drawn large, cropped to its bounding box, resized to (h, w)."""
    img = Image.new("L", (256, 256), 0)
    render.draw_shape(ImageDraw.Draw(img), shape, 128, 128, 100, 255)
    arr = np.asarray(img)
    ys, xs = np.nonzero(arr)
    crop = img.crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    return np.asarray(crop.resize((w, h), Image.BILINEAR)) > 127


def classify_shape(blob: np.ndarray) -> str | None:
    """Best-IoU template for a blob mask (None if too small)."""
    ys, xs = np.nonzero(blob)
    if len(ys) < 12:
        return None
    crop = blob[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    scores = {s: (crop & _template(s, *crop.shape)).sum() / max(1, (crop | _template(s, *crop.shape)).sum())
              for s in render.SHAPES}
    return max(scores, key=scores.get)


def find(image: np.ndarray, region: tuple[int, int, int, int]) -> Found:
    """Colour and shape of the main object inside region of a (64, 64, 3) uint8 image."""
    img = image.astype(np.float32)
    border = np.concatenate([img[:2].reshape(-1, 3), img[-2:].reshape(-1, 3),
                             img[:, :2].reshape(-1, 3), img[:, -2:].reshape(-1, 3)])
    bg = np.median(border, axis=0)
    y0, y1, x0, x1 = region
    sub = img[y0:y1, x0:x1]
    mask = np.linalg.norm(sub - bg, axis=-1) > FG_DIST
    blob = _largest_blob(mask)
    if blob.sum() < 12:
        return Found(None, None, None)
    pix = sub[blob]  # (P, 3)
    near = np.argmin(((pix[:, None] - PALETTE[None]) ** 2).sum(-1), axis=1)
    colour = NAMES[int(np.bincount(near, minlength=len(NAMES)).argmax())]
    ys, xs = np.nonzero(blob)
    return Found(colour, classify_shape(blob), (float(xs.mean() + x0), float(ys.mean() + y0)))


def check(image: np.ndarray, scene: render.Scene) -> list[dict]:
    """Per object of the scene: {"colour": bool, "shape": bool, "position": bool}."""
    results = []
    for o in scene.objects:
        region = REGIONS[o.position] if len(scene.objects) > 1 else (0, 64, 0, 64)
        f = find(image, region)
        pos_ok = False
        if f.centre is not None:
            tx, ty = render.POSITIONS[o.position]
            pos_ok = abs(f.centre[0] - tx) < 12 and abs(f.centre[1] - ty) < 12
        results.append({"colour": f.colour == o.colour, "shape": f.shape == o.shape, "position": pos_ok})
    return results


def adherence(images: list[np.ndarray], scenes: list[render.Scene]) -> dict:
    """Percentages of objects with the right colour, shape and position."""
    rows = [r for img, s in zip(images, scenes) for r in check(img, s)]
    pct = lambda k: round(100.0 * sum(r[k] for r in rows) / max(1, len(rows)), 1)
    return {"objects": len(rows), "colour": pct("colour"), "shape": pct("shape"), "position": pct("position")}


def grid(images: list[np.ndarray], cols: int = 8) -> Image.Image:
    rows = [np.concatenate(images[i: i + cols], 1) for i in range(0, len(images), cols)
            if len(images[i: i + cols]) == cols]
    return Image.fromarray(np.concatenate(rows, 0))


class AppPipeline:
    """Samples through the app's models.diffusion pipeline (one prompt per call)."""

    def __init__(self, folder: str, scheduler: str):
        import onnxruntime as ort

        from models.diffusion import pipeline, sd_model

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        params = json.loads((Path(folder) / "genloom.json").read_text())["params"]
        get = lambda path: ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.model = sd_model.open_model(Path(folder), get, params=params)
        self.pipeline, self.scheduler, self.size = pipeline, scheduler, (params["height"], params["width"])

    def generate(self, prompts: list[str], steps: int, guidance: float, seed: int) -> list[np.ndarray]:
        images = []
        for i, prompt in enumerate(prompts):
            args = self.pipeline.GenerateArgs(prompt, steps=steps, cfg=guidance, scheduler=self.scheduler,
                                              seed=seed + i, height=self.size[0], width=self.size[1],
                                              preview_every=0)
            images.append([e for e in self.pipeline.generate(self.model, args)][-1].images[0])
        return images


def round_trip(folder: str, scenes: list[render.Scene]) -> dict:
    """Adherence of the exported VAE's reconstructions of renders: the ceiling for generation."""
    import onnxruntime as ort

    mk = lambda part: ort.InferenceSession(str(Path(folder) / part / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    enc, dec = mk("vae_encoder"), mk("vae_decoder")
    imgs = np.stack([render.draw(s) for s in scenes])  # (N, 64, 64, 3)
    x = (imgs.astype(np.float32) / 127.5 - 1).transpose(0, 3, 1, 2)  # (N, 3, 64, 64)
    y = dec.run(None, {"latent_sample": enc.run(None, {"sample": x})[0]})[0]  # (N, 3, 64, 64)
    rec = ((y.transpose(0, 2, 3, 1) + 1) * 127.5).clip(0, 255).round().astype(np.uint8)
    return adherence(list(rec), scenes)


def main() -> None:
    from .sampler import OnnxSD, SampleConfig  # onnxruntime only needed for model scoring

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resources/models/shapes-sd")
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--seeds", type=int, default=1, help="images per prompt")
    ap.add_argument("--grid", default="", help="write a PNG grid of the single-object samples here")
    ap.add_argument("--json", default="", help="write the figures here")
    ap.add_argument("--scheduler", default="", help="sample with models.diffusion.pipeline and this "
                    "scheduler (e.g. 'Euler a', 'DPM++ 2M') instead of the recipe's own DDIM sampler")
    args = ap.parse_args()
    singles, doubles = render.eval_scenes()
    if args.scheduler:
        app = AppPipeline(args.model, args.scheduler)
        sample = lambda texts, seed: app.generate(texts, args.steps, args.guidance, seed)
        name = f"models.diffusion.pipeline ({args.scheduler})"
    else:
        model = OnnxSD(args.model)
        sample = lambda texts, seed: list(model.generate(texts, SampleConfig(args.steps, args.guidance, seed)))
        name = "models.zoo.shapes.sampler (DDIM)"
    report = {"steps": args.steps, "guidance": args.guidance, "sampler": name, "seeds": args.seeds,
              "vae_round_trip": round_trip(args.model, singles + doubles)}
    t0 = time.time()
    for name, scenes in (("single", singles), ("double", doubles)):
        images, all_scenes = [], []
        for seed in range(args.seeds):
            for i in range(0, len(scenes), 8):
                chunk = scenes[i: i + 8]
                images += sample([render.caption(s) for s in chunk], seed * 1000 + i)
                all_scenes += chunk
        report[name] = adherence(images, all_scenes)
        if args.grid and name == "single":
            grid(images[:48]).save(args.grid)
    report["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
