"""Genloom's diffusion pipeline vs diffusers' OnnxStableDiffusionPipeline on the same ONNX folder.

    python benchmarks/diffusion.py --model /work/artifacts/diffusion/bench_sd --size 256 --steps 10 \
        --peer-python /work/devvenv/bin/python

Each side runs in its own process (so peak RSS is its own): Genloom with this interpreter, diffusers with
--peer-python (an environment with diffusers + torch); the sides alternate for --rounds rounds so machine
load hits both alike. Both get the same initial latents, prompt, steps, CFG, scheduler and onnxruntime
session options. Prints one JSON object: s/step, s/image, peak RSS, preview overhead, ratios, and the
largest pixel difference between the two outputs (deterministic schedulers should agree).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PROMPT, NEGATIVE = "a red circle on a blue square, highly detailed", "blurry"
PEER_SCHEDULERS = {"DDIM": ("DDIMScheduler", {}), "DPM++ 2M": ("DPMSolverMultistepScheduler", {}),
                   "Euler": ("EulerDiscreteScheduler", {})}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def vae_factor(model: str) -> int:
    """Pixels per latent pixel: genloom.json's vae_scale_factor (4 for the bundled shapes model), else SD's 8."""
    try:
        return int(json.loads((Path(model) / "genloom.json").read_text())["params"]["vae_scale_factor"])
    except (OSError, ValueError, KeyError):
        return 8


def peer_side(args) -> int:
    """The height/width to ask diffusers for: its ONNX pipeline assumes 8 pixels per latent pixel."""
    return args.size * 8 // vae_factor(args.model)


def initial_latents(seed: int, side: int, factor: int = 8) -> np.ndarray:
    """Exactly what Genloom draws for image 0 (see models/diffusion/pipeline.py)."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, side // factor, side // factor), dtype=np.float32)[None]


def step_seconds(stamps: list) -> float:
    """Steady-state seconds per step from per-step completion times (skips the first step)."""
    return (stamps[-1] - stamps[0]) / max(1, len(stamps) - 1)


def run_genloom(args) -> dict:
    sys.path.insert(0, str(ROOT))
    from models.diffusion.pipeline import GenerateArgs, Output, generate
    from models.diffusion.sd_model import open_model
    from models.runtime.events import Progress
    from models.runtime.session import SessionCache

    cache = SessionCache("cpu")
    started = time.perf_counter()
    model = open_model(Path(args.model), cache.get)
    load_s = time.perf_counter() - started
    request = GenerateArgs(prompt=PROMPT, negative=NEGATIVE, steps=args.steps, cfg=args.cfg, scheduler=args.scheduler,
                           seed=args.seed, width=args.size, height=args.size, preview_every=1)
    list(generate(model, GenerateArgs(**{**request.__dict__, "steps": 2})))  # warm-up
    per_step, per_image, preview_share, preview_ms = [], [], [], []
    image = None
    for _ in range(args.repeats):
        stamps, began = [], time.perf_counter()
        for event in generate(model, request):
            if isinstance(event, Progress):
                stamps.append(time.perf_counter())
            elif isinstance(event, Output):
                image, out = event.images[0], event
        per_image.append(time.perf_counter() - began)
        per_step.append(step_seconds(stamps))
        preview_ms.append(1000 * out.preview_seconds / args.steps)
        preview_share.append(out.preview_seconds / max(1e-9, out.unet_seconds))
    np.save(args.image_out, image)
    return {"load_s": round(load_s, 3), "s_per_step": round(statistics.median(per_step), 4),
            "s_per_image": round(statistics.median(per_image), 4),
            "preview_ms_per_step": round(statistics.median(preview_ms), 3),
            "preview_share_of_step": round(statistics.median(preview_share), 5), "peak_rss_mb": round(peak_rss_mb(), 1)}


def same_session_options():
    """ORT options equal to Genloom's SessionCache (models/runtime/session.py), so only the pipelines differ."""
    import os

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = max(1, min(8, os.cpu_count() or 1))
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def load_peer(args):
    """diffusers' OnnxStableDiffusionPipeline on the model, with Genloom's session options and the matching scheduler."""
    import diffusers
    from diffusers import OnnxStableDiffusionPipeline

    pipe = OnnxStableDiffusionPipeline.from_pretrained(args.model, provider="CPUExecutionProvider", safety_checker=None,
                                                       feature_extractor=None, requires_safety_checker=False,
                                                       sess_options=same_session_options())
    cls_name, overrides = PEER_SCHEDULERS[args.scheduler]
    pipe.scheduler = getattr(diffusers, cls_name).from_config({**pipe.scheduler.config, **overrides})
    pipe.set_progress_bar_config(disable=True)
    return pipe


def peer_call(args) -> dict:
    """The pipeline call that matches Genloom's request: same prompt, CFG, latents and output size."""
    return dict(prompt=PROMPT, negative_prompt=NEGATIVE, height=peer_side(args), width=peer_side(args),
                guidance_scale=args.cfg, latents=initial_latents(args.seed, args.size, vae_factor(args.model)),
                output_type="np")


def run_peer(args) -> dict:
    import diffusers
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    pipe = load_peer(args)
    load_s = time.perf_counter() - started
    call = peer_call(args)
    pipe(num_inference_steps=2, **call)  # warm-up
    per_step, per_image, image = [], [], None
    for _ in range(args.repeats):
        stamps, began = [], time.perf_counter()
        result = pipe(num_inference_steps=args.steps, callback=lambda *a: stamps.append(time.perf_counter()),
                      callback_steps=1, **call)
        per_image.append(time.perf_counter() - began)
        per_step.append(step_seconds(stamps))
        image = np.clip(np.round(result.images[0] * 255), 0, 255).astype(np.uint8)
    np.save(args.image_out, image)
    return {"load_s": round(load_s, 3), "s_per_step": round(statistics.median(per_step), 4),
            "s_per_image": round(statistics.median(per_image), 4), "peak_rss_mb": round(peak_rss_mb(), 1),
            "diffusers": diffusers.__version__}


def run_shared(args) -> dict:
    """One process, the same onnxruntime sessions for both pipelines, runs alternated: pipeline overhead only."""
    sys.path.insert(0, str(ROOT))
    import diffusers
    import torch

    from models.diffusion.pipeline import GenerateArgs, generate
    from models.diffusion.sd_model import open_model
    from models.runtime.events import Progress

    torch.set_num_threads(1)
    pipe = load_peer(args)
    shared = {"text_encoder": pipe.text_encoder.model, "unet": pipe.unet.model, "vae_decoder": pipe.vae_decoder.model}
    model = open_model(Path(args.model), lambda path: shared[Path(path).parent.name])
    request = GenerateArgs(prompt=PROMPT, negative=NEGATIVE, steps=args.steps, cfg=args.cfg, scheduler=args.scheduler,
                           seed=args.seed, width=args.size, height=args.size)
    call = dict(peer_call(args), num_inference_steps=args.steps)
    ours, theirs = {"step": [], "image": []}, {"step": [], "image": []}
    for _ in range(args.repeats + 1):  # the first round is a warm-up
        stamps, began = [], time.perf_counter()
        for event in generate(model, request):
            if isinstance(event, Progress):
                stamps.append(time.perf_counter())
        ours["image"].append(time.perf_counter() - began)
        ours["step"].append(step_seconds(stamps))
        stamps, began = [], time.perf_counter()
        pipe(callback=lambda *a: stamps.append(time.perf_counter()), callback_steps=1, **call)
        theirs["image"].append(time.perf_counter() - began)
        theirs["step"].append(step_seconds(stamps))
    pick = lambda d: {"s_per_step": round(min(d["step"][1:]), 4), "s_per_step_median": round(statistics.median(d["step"][1:]), 4),  # noqa: E731
                      "s_per_image": round(min(d["image"][1:]), 4)}
    return {"genloom": pick(ours), "diffusers_onnx": pick(theirs), "diffusers": diffusers.__version__}


def spawn(python: str, side: str, args, image_out: Path) -> dict:
    command = [python, __file__, "--side", side, "--model", args.model, "--size", str(args.size), "--steps",
               str(args.steps), "--cfg", str(args.cfg), "--scheduler", args.scheduler, "--seed", str(args.seed),
               "--repeats", str(args.repeats), "--image-out", str(image_out)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "tests/fixtures/tiny_sd/model"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--cfg", type=float, default=7.0)
    parser.add_argument("--scheduler", default="DDIM", choices=sorted(PEER_SCHEDULERS))
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per process (after a warm-up)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating Genloom/diffusers processes per side")
    parser.add_argument("--peer-python", default="/work/devvenv/bin/python")
    parser.add_argument("--side", choices=["both", "genloom", "peer", "shared"], default="both",
                        help="shared: run inside --peer-python's env with one set of sessions for both pipelines")
    parser.add_argument("--image-out", default="")
    args = parser.parse_args()
    if args.side == "genloom":
        print(json.dumps(run_genloom(args)))
        return
    if args.side == "peer":
        print(json.dumps(run_peer(args)))
        return
    if args.side == "shared":
        print(json.dumps(run_shared(args)))
        return
    scratch = Path("/tmp") / f"genloom-bench-{int(time.time())}"
    scratch.mkdir(parents=True, exist_ok=True)
    runs: dict = {"genloom": [], "diffusers_onnx": []}
    peer_ok = Path(args.peer_python).exists()
    for _ in range(args.rounds):  # alternate the sides so load from other processes hits both alike
        runs["genloom"].append(spawn(sys.executable, "genloom", args, scratch / "genloom.npy"))
        runs["diffusers_onnx"].append(spawn(args.peer_python, "peer", args, scratch / "peer.npy") if peer_ok
                                      else {"error": f"{args.peer_python} not found"})
    report = {"model": args.model, "size": args.size, "steps": args.steps, "cfg": args.cfg,
              "scheduler": args.scheduler, "rounds": args.rounds, "statistic": "min over rounds (median in *_median)"}
    for side, results in runs.items():
        good = [r for r in results if "error" not in r]
        if not good:
            report[side] = results[0]
            continue
        summary = {k: v for k, v in good[-1].items() if not isinstance(v, (int, float))}
        for key in (k for k, v in good[0].items() if isinstance(v, (int, float))):
            values = [r[key] for r in good]
            summary[key], summary[key + "_median"] = min(values), round(statistics.median(values), 4)
        report[side] = summary
    ours, peer = report["genloom"], report["diffusers_onnx"]
    if "error" not in ours and "error" not in peer:
        a, b = np.load(scratch / "genloom.npy").astype(int), np.load(scratch / "peer.npy").astype(int)
        report["max_pixel_diff"] = int(np.abs(a - b).max())
        report["ratio_s_per_step"] = round(peer["s_per_step"] / ours["s_per_step"], 3)  # > 1: Genloom faster
        report["ratio_s_per_image"] = round(peer["s_per_image"] / ours["s_per_image"], 3)
        report["ratio_peak_rss"] = round(peer["peak_rss_mb"] / ours["peak_rss_mb"], 3)
    if peer_ok:
        report["same_sessions"] = spawn(args.peer_python, "shared", args, scratch / "unused.npy")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
