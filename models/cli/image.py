"""`genloom image`: text-to-image (and img2img) with a diffusion model."""
from __future__ import annotations

from pathlib import Path

from models.diffusion.job import ImageRequest
from models.diffusion.schedulers import NAMES

from .common import copy_out, print_json, public, run_job


def register(subs) -> None:
    parser = subs.add_parser("image", help="generate images from a text prompt")
    parser.add_argument("--model", help="diffusion model name (default: the bundled shapes model)")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--negative", default="", help="what the image should not show")
    parser.add_argument("--steps", type=int, help="denoising steps (default: the model's)")
    parser.add_argument("--cfg", type=float, help="classifier-free guidance scale, 1 = off (default: the model's)")
    parser.add_argument("--scheduler", choices=NAMES, metavar="NAME",
                        help=f"sampler: {', '.join(NAMES)}")
    parser.add_argument("--seed", type=int, default=0, help="image i of a batch uses seed+i")
    parser.add_argument("--width", type=int, help="multiple of 8 (default: the model's size)")
    parser.add_argument("--height", type=int, help="multiple of 8 (default: the model's size)")
    parser.add_argument("--count", type=int, default=1, help="images per batch")
    parser.add_argument("--init-image", help="start from this image (img2img)")
    parser.add_argument("--strength", type=float, default=0.75, help="img2img: how much to change the image (0-1)")
    parser.add_argument("--filmstrip", action="store_true",
                        help="also save the denoising filmstrip (x0 beside the noisy latent, 8 steps) as "
                             "filmstrip-s<seed>.gif in --out (or the current folder)")
    parser.add_argument("--out", help="also copy the PNGs to this folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args) -> int:
    request = ImageRequest(model=args.model, prompt=args.prompt, negative=args.negative, steps=args.steps,
                           cfg=args.cfg, scheduler=args.scheduler, seed=args.seed, width=args.width,
                           height=args.height, batch_size=args.count,
                           init_image=str(Path(args.init_image).expanduser()) if args.init_image else None,
                           strength=args.strength, filmstrip=8 if args.filmstrip else 0)
    result = copy_out(run_job(request, args), args.out)
    if args.filmstrip:
        from models.diffusion.filmstrip import save

        target = Path(args.out or ".") / f"filmstrip-s{result['seed']}.gif"
        result["filmstrip_file"] = str(save(result.get("filmstrip", []), target).resolve())
    if args.json:
        print_json(public(result, drop=("images", "filmstrip", "previews")))
    else:
        for path in result["files"] + ([result["filmstrip_file"]] if args.filmstrip else []):
            print(path)
    return 0
