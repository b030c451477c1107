"""`genloom faces`: GAN face samples (and interpolation strips)."""
from __future__ import annotations

from models.gan.job import FacesRequest, InterpolateRequest

from .common import copy_out, print_json, public, run_job


def register(subs) -> None:
    parser = subs.add_parser("faces", help="generate GAN faces")
    parser.add_argument("--model", help="gan model name (default: the bundled DCGAN)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first face; face i uses seed+i")
    parser.add_argument("--count", type=int, default=1, help="number of faces, 1-64")
    parser.add_argument("--truncation", type=float, default=1.0, help="truncation psi in [0, 2]; <1 = more typical faces")
    parser.add_argument("--interpolate-to", type=int, metavar="SEED_B",
                        help="make an interpolation strip from --seed to this seed instead")
    parser.add_argument("--frames", type=int, default=8, help="frames of the interpolation strip")
    parser.add_argument("--gif", help="also write the interpolation as this GIF file")
    parser.add_argument("--out", help="also copy the PNGs to this folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.interpolate_to is not None:
        request = InterpolateRequest(model=args.model, seed_a=args.seed, seed_b=args.interpolate_to,
                                     frames=args.frames, truncation=args.truncation)
    else:
        request = FacesRequest(model=args.model, seed=args.seed, count=args.count, truncation=args.truncation)
    result = run_job(request, args)
    if args.gif and args.interpolate_to is not None:
        from models.runtime.animation import save_gif

        save_gif(result["images"], args.gif)
        result["gif"] = args.gif
    result = copy_out(result, args.out)
    if args.json:
        print_json(public(result))
    else:
        for path in result["files"]:
            print(path)
    return 0
