"""Train the face VAE on one CPU thread within a wall-time budget, resumable from checkpoints.

The learning rate follows a cosine over the *time* budget (elapsed training seconds are saved in the
checkpoint), so a run that is stopped and resumed ends at the same budget as an uninterrupted one.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .data import WORK, faces_path
from .model import FaceVae, VaeConfig, loss_terms

CHECKPOINT = "vae_ckpt.pt"
FINAL = "vae_final.pt"


@dataclass(frozen=True)
class TrainConfig:
    count: int = 32_768  # faces in the cached data set
    val: int = 1_000  # last faces of the set, never trained on
    batch: int = 64
    lr: float = 2e-3
    lr_min: float = 5e-5
    beta: float = 1.0
    budget_s: float = 33 * 60  # training wall time, summed over resumed runs
    checkpoint_every_s: float = 120.0
    seed: int = 0


def to_float(batch_u8: torch.Tensor) -> torch.Tensor:
    """(B, 64, 64, 3) uint8 -> (B, 3, 64, 64) float in [-1, 1]."""
    return batch_u8.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def _save(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


@torch.no_grad()
def evaluate(model: FaceVae, faces: torch.Tensor) -> dict[str, float]:
    """Mean-latent reconstruction MSE and KL on a face set (uint8 NHWC)."""
    model.eval()
    sq, kl, n = 0.0, 0.0, 0
    for i in range(0, len(faces), 250):
        x = to_float(faces[i:i + 250])  # (B, 3, 64, 64)
        mean, logvar = model.encoder(x)
        recon = model.decoder(mean)
        sq += (recon - x).pow(2).mean((1, 2, 3)).sum().item()
        kl += (0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar)).sum().item()
        n += len(x)
    model.train()
    return {"mse": sq / n, "kl": kl / n}


def train(cfg: TrainConfig, vcfg: VaeConfig, work: Path = WORK) -> Path:
    torch.set_num_threads(1)
    final = work / FINAL
    if final.is_file():
        print(f"{final} exists; delete it to train again")
        return final
    faces = torch.from_numpy(np.load(faces_path(cfg.count, work)))  # (N, 64, 64, 3) uint8
    train_set, val_set = faces[:-cfg.val], faces[-cfg.val:]
    model = FaceVae(vcfg)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    state = {"step": 0, "elapsed": 0.0, "epoch": 0, "pos": 0}
    ckpt = work / CHECKPOINT
    if ckpt.is_file():
        saved = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        state = saved["state"]
        torch.set_rng_state(saved["torch_rng"])
        print(f"resumed at step {state['step']}, {state['elapsed']:.0f}s trained", flush=True)
    else:
        torch.manual_seed(cfg.seed)
    log = open(work / "train.log", "a", encoding="utf-8")
    order = np.random.RandomState(cfg.seed + state["epoch"]).permutation(len(train_set))
    last_ckpt = time.time()
    start = time.time() - state["elapsed"]
    while state["elapsed"] < cfg.budget_s:
        if state["pos"] + cfg.batch > len(order):
            state["epoch"] += 1
            state["pos"] = 0
            order = np.random.RandomState(cfg.seed + state["epoch"]).permutation(len(train_set))
        idx = torch.from_numpy(order[state["pos"]:state["pos"] + cfg.batch])
        state["pos"] += cfg.batch
        x = to_float(train_set[idx])  # (B, 3, 64, 64)
        flip = torch.rand(len(x)) < 0.5
        x[flip] = x[flip].flip(3)  # mirror half the faces
        frac = min(1.0, state["elapsed"] / cfg.budget_s)
        for group in opt.param_groups:
            group["lr"] = cfg.lr_min + 0.5 * (cfg.lr - cfg.lr_min) * (1 + math.cos(math.pi * frac))
        terms = loss_terms(model, x, cfg.beta)
        opt.zero_grad(set_to_none=True)
        terms["loss"].backward()
        opt.step()
        state["step"] += 1
        state["elapsed"] = time.time() - start
        if state["step"] % 50 == 0:
            line = {"step": state["step"], "epoch": state["epoch"], "t": round(state["elapsed"]),
                    "loss": round(terms["loss"].item(), 1), "mse": round(terms["mse"].item(), 5),
                    "kl": round(terms["kl"].item(), 2), "lr": round(opt.param_groups[0]["lr"], 6)}
            print(json.dumps(line), file=log, flush=True)
        if time.time() - last_ckpt > cfg.checkpoint_every_s:
            _save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state,
                   "torch_rng": torch.get_rng_state(), "vae_config": asdict(vcfg), "train_config": asdict(cfg)}, ckpt)
            last_ckpt = time.time()
    metrics = evaluate(model, val_set)
    metrics.update({"train_seconds": round(state["elapsed"], 1), "steps": state["step"],
                    "images_seen": state["step"] * cfg.batch, "epochs": round(state["step"] * cfg.batch / len(train_set), 2)})
    print(json.dumps({"final": metrics}), file=log, flush=True)
    _save({"model": model.state_dict(), "vae_config": asdict(vcfg), "train_config": asdict(cfg), "metrics": metrics}, final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=TrainConfig.count)
    parser.add_argument("--minutes", type=float, default=TrainConfig.budget_s / 60)
    parser.add_argument("--z-dim", type=int, default=VaeConfig.z_dim)
    args = parser.parse_args()
    cfg = TrainConfig(count=args.count, budget_s=args.minutes * 60)
    print(train(cfg, VaeConfig(z_dim=args.z_dim)))


if __name__ == "__main__":
    main()
