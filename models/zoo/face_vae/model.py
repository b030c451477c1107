"""A small convolutional VAE for 64x64 RGB faces in [-1, 1]."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class VaeConfig:
    z_dim: int = 32
    width: int = 32  # channels of the first conv; doubled at each of the 4 downsamplings
    recon_sigma: float = 0.1  # std of the Gaussian pixel likelihood, in [-1, 1] units


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True))


def _up(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.ConvTranspose2d(cin, cout, 4, 2, 1), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, True))


class Encoder(nn.Module):
    """image (N, 3, 64, 64) -> mean (N, Z), logvar (N, Z)."""

    def __init__(self, cfg: VaeConfig):
        super().__init__()
        w = cfg.width
        self.body = nn.Sequential(_down(3, w), _down(w, 2 * w), _down(2 * w, 4 * w), _down(4 * w, 8 * w))
        self.head = nn.Linear(8 * w * 4 * 4, 2 * cfg.z_dim)
        self.z_dim = cfg.z_dim

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(image).flatten(1)  # (N, 8w*4*4)
        stats = self.head(h)  # (N, 2Z)
        return stats[:, :self.z_dim], stats[:, self.z_dim:]


class Decoder(nn.Module):
    """z (N, Z) -> image (N, 3, 64, 64) in [-1, 1]."""

    def __init__(self, cfg: VaeConfig):
        super().__init__()
        w = cfg.width
        self.width = w
        self.head = nn.Linear(cfg.z_dim, 8 * w * 4 * 4)
        self.body = nn.Sequential(
            nn.LeakyReLU(0.2, True),
            _up(8 * w, 4 * w), _up(4 * w, 2 * w), _up(2 * w, w),
            nn.ConvTranspose2d(w, 3, 4, 2, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.head(z).view(-1, 8 * self.width, 4, 4)  # (N, 8w, 4, 4)
        return self.body(h)  # (N, 3, 64, 64)


class FaceVae(nn.Module):
    def __init__(self, cfg: VaeConfig = VaeConfig()):
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mean, logvar = self.encoder(image)  # (N, Z) each
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)  # (N, Z)
        return self.decoder(z), mean, logvar


def kl_per_dim(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) per latent dimension, averaged over the batch: (Z,) in nats."""
    return 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean(0)


def loss_terms(model: FaceVae, image: torch.Tensor, beta: float = 1.0) -> dict[str, torch.Tensor]:
    """Negative ELBO per image (Gaussian pixels with fixed sigma) plus its parts."""
    recon, mean, logvar = model(image)
    sq = (recon - image).pow(2).flatten(1).sum(1).mean()  # summed squared error per image
    nll = sq / (2 * model.cfg.recon_sigma ** 2)
    kl = kl_per_dim(mean, logvar).sum()
    return {"loss": nll + beta * kl, "mse": sq / image[0].numel(), "kl": kl}
