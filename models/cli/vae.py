"""`genloom vae`: decode a latent (from a seed or a JSON file) or encode an image, with a VAE."""
from __future__ import annotations

import json
from pathlib import Path

from models.runtime.errors import BadInput, StorageError
from models.runtime.registry import Registry
from models.vae import explorer
from models.vae.job import DecodeRequest, EncodeRequest

from .common import print_json, public, run_job


def register(subs) -> None:
    parser = subs.add_parser("vae", help="decode VAE latents or encode an image")
    parser.add_argument("--model", help="vae model name (default: the bundled face VAE)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--seed", type=int, help="random slider values from this seed (default 0)")
    source.add_argument("--latent", metavar="FILE.json", help="a JSON list of floats (what --json prints as 'latent')")
    source.add_argument("--encode", metavar="IMAGE", help="encode this image and decode its latent back")
    parser.add_argument("--out", metavar="FILE", help="also write the decoded PNG here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def read_latent(path: str) -> tuple:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"Cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadInput(f"{path} is not a JSON list of numbers.") from None
    if isinstance(data, dict) and "latent" in data:
        data = data["latent"]
    if not isinstance(data, list) or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in data):
        raise BadInput(f"{path} must hold a JSON list of numbers.")
    return tuple(float(v) for v in data)


def seed_latent(model: str | None, seed: int) -> tuple:
    manifest = Registry().get("vae", model)
    z_dim = int(manifest.params.get("z_dim") or 0)
    if not z_dim:
        raise BadInput(f"Model '{manifest.name}' does not state its latent size; pass --latent instead.")
    axes = explorer.axes_for(manifest, z_dim)
    values = explorer.random_sliders(axes, seed)
    return tuple(float(v) for v in explorer.slider_to_latent(values, axes))


def run(args) -> int:
    if args.encode:
        request = EncodeRequest(model=args.model, image_path=str(Path(args.encode).expanduser()), save=True)
    else:
        latent = read_latent(args.latent) if args.latent else seed_latent(args.model, args.seed or 0)
        request = DecodeRequest(model=args.model, latent=latent, save=True)
    result = run_job(request, args)
    if args.seed is not None or not (args.latent or args.encode):
        result["seed"] = args.seed or 0
    if args.out:
        target = Path(args.out)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(Path(result["files"][0]).read_bytes())
        except OSError as exc:
            raise StorageError(f"Cannot write {target}: {exc.strerror or exc}") from None
        result["files"] = [str(target.resolve())]
    if args.json:
        print_json(public(result, drop=("images", "input", "latents")))
    else:
        print(result["files"][0])
    return 0
