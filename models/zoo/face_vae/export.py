"""Export the trained face VAE into resources/models/faces-vae (ONNX, axes, manifest, model card).

Axes are GANSpace-style: PCA of the encoder means of training faces, ordered by explained variance.
The card also lists the per-dimension KL of the raw latent on held-out faces.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .data import HELD_OUT_SEED0, WORK, faces_path, held_out
from .model import Decoder, Encoder, FaceVae, VaeConfig
from .train import CHECKPOINT, FINAL, evaluate, to_float

OUT = Path(__file__).resolve().parents[3] / "resources" / "models" / "faces-vae"
PCA_FACES = 10_000
PLOT_POINTS = 2_000
HELD_OUT = 1_000


@torch.no_grad()
def encode_all(encoder: Encoder, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    means, logvars = [], []
    for i in range(0, len(faces), 250):
        m, lv = encoder(to_float(torch.from_numpy(faces[i:i + 250])))  # (B, Z) each
        means.append(m.numpy())
        logvars.append(lv.numpy())
    return np.concatenate(means), np.concatenate(logvars)


def pca_axes(means: np.ndarray, seed: int = 0) -> dict:
    """Principal axes of the encoded means: mean, components (K, Z), sigma, variance share, 2-D sample."""
    centre = means.mean(0)  # (Z,)
    _, s, vt = np.linalg.svd(means - centre, full_matrices=False)  # vt: (Z, Z), rows are axes
    # sign convention: each axis points where its largest loading is positive
    signs = np.sign(vt[np.arange(len(vt)), np.abs(vt).argmax(1)])
    vt = vt * signs[:, None]
    sigma = s / np.sqrt(len(means) - 1)  # (Z,)
    share = sigma ** 2 / np.sum(sigma ** 2)
    pick = np.random.RandomState(seed).choice(len(means), min(PLOT_POINTS, len(means)), replace=False)
    coords = (means[pick] - centre) @ vt[:2].T / sigma[:2]  # (P, 2) in sigma units
    return {
        "method": "pca",
        "about": "GANSpace-style principal axes of the encoder means of training faces; slider value s_k is in "
                 "units of sigma_k and latent = mean + sum_k s_k * sigma_k * components[k].",
        "z_dim": int(means.shape[1]),
        "mean": [round(float(v), 6) for v in centre],
        "components": [[round(float(v), 6) for v in row] for row in vt],
        "sigma": [round(float(v), 6) for v in sigma],
        "variance_share": [round(float(v), 6) for v in share],
        "sample_2d": {"axes": [0, 1], "units": "sigma", "points": [[round(float(a), 3), round(float(b), 3)] for a, b in coords]},
    }


def load_trained(work: Path, from_checkpoint: bool = False) -> tuple[dict, FaceVae]:
    """The final model (or the latest checkpoint) with its configs and metrics, in eval mode."""
    if from_checkpoint:
        saved = torch.load(work / CHECKPOINT, map_location="cpu", weights_only=False)
    else:
        saved = torch.load(work / FINAL, map_location="cpu", weights_only=False)
    model = FaceVae(VaeConfig(**saved["vae_config"]))
    model.load_state_dict(saved["model"])
    model.eval()
    if from_checkpoint:
        cfg, state = saved["train_config"], saved["state"]
        faces = np.load(faces_path(cfg["count"], work), mmap_mode="r")
        metrics = evaluate(model, torch.from_numpy(np.asarray(faces[-cfg["val"]:])))
        model.eval()
        metrics.update({"train_seconds": round(state["elapsed"], 1), "steps": state["step"],
                        "images_seen": state["step"] * cfg["batch"],
                        "epochs": round(state["step"] * cfg["batch"] / (cfg["count"] - cfg["val"]), 2)})
        saved["metrics"] = metrics
    return saved, model


def export_onnx(model: FaceVae, out: Path) -> None:
    z_dim = model.cfg.z_dim
    torch.onnx.export(model.encoder, torch.zeros(1, 3, 64, 64), out / "encoder.onnx", input_names=["image"],
                      output_names=["mean", "logvar"], dynamic_axes={"image": {0: "N"}, "mean": {0: "N"}, "logvar": {0: "N"}},
                      opset_version=17, dynamo=False)
    torch.onnx.export(model.decoder, torch.zeros(1, z_dim), out / "decoder.onnx", input_names=["z"],
                      output_names=["image"], dynamic_axes={"z": {0: "N"}, "image": {0: "N"}}, opset_version=17, dynamo=False)


def onnx_check(out: Path, faces: np.ndarray, z_dim: int) -> dict:
    """Run the exported files with onnxruntime (1 thread): held-out MSE and decode time per face."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    enc = ort.InferenceSession(str(out / "encoder.onnx"), opts, providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(out / "decoder.onnx"), opts, providers=["CPUExecutionProvider"])
    x = faces[:200].transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1  # (200, 3, 64, 64)
    mean, _ = enc.run(None, {"image": x})
    recon = dec.run(None, {"z": mean})[0]
    z = np.zeros((1, z_dim), np.float32)
    dec.run(None, {"z": z})
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        dec.run(None, {"z": z})
        times.append((time.perf_counter() - t0) * 1000)
    return {"onnx_heldout_mse": float(np.mean((recon - x) ** 2)), "decode_ms_median": float(np.median(times))}


def write_card(out: Path, info: dict) -> None:
    kl = info["kl_per_dim"]
    order = np.argsort(kl)[::-1]
    active = int(np.sum(np.array(kl) > 0.1))
    rows = "\n".join(f"| {int(d)} | {kl[d]:.3f} |" for d in order)
    shares = info["variance_share"]
    axes_rows = "\n".join(f"| {k} | {info['sigma'][k]:.3f} | {100 * shares[k]:.1f}% | {100 * sum(shares[:k + 1]):.1f}% |"
                          for k in range(min(10, len(shares))))
    m, t = info["metrics"], info["train"]
    partial = f" — exported from a checkpoint of an unfinished {t['budget_s'] / 60:.0f}-minute run" if info["partial"] else ""
    text = f"""# faces-vae

A small convolutional VAE over 64×64 RGB faces, trained by Genloom. Licence: MIT (weights trained by Genloom
from DCGAN samples).

## Data
{t['count'] - t['val']:,} training faces (plus {t['val']:,} validation faces) sampled from the bundled DCGAN face
generator (`gan-face-generate` 1.1.1 on PyPI, MIT; itself trained on the synthetic DigiFace-1M set). Face *i*
is the GAN face of seed *i* with `z = RandomState(seed).randn(100)`. Half of each batch is mirrored.
Held-out faces for the metrics below use seeds {HELD_OUT_SEED0:,}+ that were never trained on.

## Architecture
- Encoder: 4 × (Conv 4×4 stride 2 → BatchNorm → LeakyReLU 0.2), widths {info['width']}·(1, 2, 4, 8), then a linear
  layer to `mean` and `logvar` of a {info['z_dim']}-D diagonal Gaussian.
- Decoder: linear to {8 * info['width']}×4×4, 4 × ConvTranspose 4×4 stride 2 (BatchNorm + LeakyReLU between), tanh.
- Loss: Gaussian pixel likelihood with σ = {info['recon_sigma']} (in [-1, 1] units) + β·KL, β = {t['beta']}.
- ONNX: `encoder.onnx` image [N,3,64,64] in [-1,1] → `mean`, `logvar` [N,{info['z_dim']}];
  `decoder.onnx` `z` [N,{info['z_dim']}] → `image` [N,3,64,64] in [-1,1]. Parameters: encoder {info['enc_params']:,},
  decoder {info['dec_params']:,}.

## Training
Adam, batch {t['batch']}, learning rate {t['lr']} → {t['lr_min']} (cosine over the time budget), one CPU thread
(`torch.set_num_threads(1)`) on a shared 2-core machine: **{m['train_seconds'] / 60:.1f} min** wall time,
{m['steps']:,} steps, {m['images_seen']:,} images ({m['epochs']} epochs){partial}. Recipe: `python -m models.zoo.face_vae.data`,
`python -m models.zoo.face_vae.train`, `python -m models.zoo.face_vae.export`.

## Metrics (held-out DCGAN faces, decoding the encoder mean)
| metric | value |
|---|---|
| reconstruction MSE (in [-1,1] units) | {info['heldout_mse']:.4f} |
| same in [0,1] units | {info['heldout_mse'] / 4:.4f} |
| PSNR (on [0,1]) | {10 * np.log10(4 / info['heldout_mse']):.1f} dB |
| MSE of the mean face (baseline) | {info['mean_face_mse']:.4f} |
| validation MSE / KL (nats per face) | {m['mse']:.4f} / {m['kl']:.1f} |
| held-out KL (nats per face) | {sum(kl):.1f} |
| active dimensions (KL > 0.1 nat) | {active} of {info['z_dim']} |
| ONNX decode time, 1 face, 1 thread (median) | {info['decode_ms_median']:.2f} ms |

## Slider axes (`axes.json`)
GANSpace style: PCA of the encoder means of {PCA_FACES:,} training faces. Axis *k* moves the latent by
`sigma_k · components[k]`, so slider values are in σ units (±3σ covers nearly all faces).

| axis | σ | variance share | cumulative |
|---|---|---|---|
{axes_rows}

## KL per latent dimension (held-out faces, most informative first)
Most informative dimensions: {', '.join(str(int(d)) for d in order[:8])} (together {100 * sum(kl[d] for d in order[:8]) / sum(kl):.0f}% of the KL).
The sliders use the PCA axes above rather than raw dimensions; this table shows how the raw latent is used.

| dim | KL (nats) |
|---|---|
{rows}
"""
    (out / "MODEL_CARD.md").write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--from-checkpoint", action="store_true",
                        help="export the latest checkpoint of an unfinished training run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    saved, model = load_trained(WORK, args.from_checkpoint)
    vcfg = model.cfg
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    export_onnx(model, out)

    train_cfg = saved["train_config"]
    faces = np.load(faces_path(train_cfg["count"]), mmap_mode="r")
    n_train = train_cfg["count"] - train_cfg["val"]
    pick = np.random.RandomState(1).choice(n_train, min(PCA_FACES, n_train), replace=False)
    means, _ = encode_all(model.encoder, np.asarray(faces[np.sort(pick)]))
    axes = pca_axes(means)
    (out / "axes.json").write_text(json.dumps(axes), encoding="utf-8")

    test = held_out(HELD_OUT)
    t_mean, t_logvar = encode_all(model.encoder, test)
    with torch.no_grad():
        recon = model.decoder(torch.from_numpy(t_mean)).numpy()  # (H, 3, 64, 64)
    x = test.transpose(0, 3, 1, 2).astype(np.float32) / 127.5 - 1
    kl = (0.5 * (t_mean ** 2 + np.exp(t_logvar) - 1 - t_logvar)).mean(0)  # (Z,)
    info = {
        "z_dim": vcfg.z_dim, "width": vcfg.width, "recon_sigma": vcfg.recon_sigma,
        "enc_params": sum(p.numel() for p in model.encoder.parameters()),
        "dec_params": sum(p.numel() for p in model.decoder.parameters()),
        "heldout_mse": float(np.mean((recon - x) ** 2)),
        "mean_face_mse": float(np.mean((x - x.mean(0)) ** 2)),
        "kl_per_dim": [float(v) for v in kl],
        "sigma": axes["sigma"], "variance_share": axes["variance_share"],
        "metrics": saved["metrics"], "train": train_cfg, "partial": args.from_checkpoint,
    }
    info.update(onnx_check(out, test, vcfg.z_dim))
    manifest = {
        "kind": "vae", "name": "faces-vae",
        "files": {"encoder": "encoder.onnx", "decoder": "decoder.onnx", "axes": "axes.json"},
        "io": {
            "encoder": {"inputs": {"image": ["N", 3, 64, 64]}, "outputs": {"mean": ["N", vcfg.z_dim], "logvar": ["N", vcfg.z_dim]}},
            "decoder": {"inputs": {"z": ["N", vcfg.z_dim]}, "outputs": {"image": ["N", 3, 64, 64]}},
            "image_range": [-1, 1], "layout": "NCHW RGB",
        },
        "license": "MIT (weights trained by Genloom from DCGAN samples)",
        "source": "Trained by Genloom (models/zoo/face_vae) on faces sampled from the DCGAN of gan-face-generate 1.1.1 (PyPI, MIT)",
        "params": {"z_dim": vcfg.z_dim, "range": [-1, 1], "default": True, "image_size": 64, "axes_method": "pca"},
    }
    (out / "genloom.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    write_card(out, info)
    summary = {k: info[k] for k in ("heldout_mse", "mean_face_mse", "onnx_heldout_mse", "decode_ms_median")}
    summary.update({"kl_total": sum(info["kl_per_dim"]), "train_seconds": saved["metrics"]["train_seconds"]})
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
