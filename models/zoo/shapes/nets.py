"""Torch modules of the shapes model: latent autoencoder, text encoder, cross-attention UNet."""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class AEConfig:
    """64x64x3 image <-> 16x16x`latent` latent."""

    ch: tuple[int, int] = (32, 64)  # widths at 32 and 16 px
    latent: int = 4


@dataclass
class TextConfig:
    vocab: int = 608
    dim: int = 128
    layers: int = 2
    heads: int = 4
    max_len: int = 77


@dataclass
class UNetConfig:
    latent: int = 4
    ch: tuple[int, int, int] = (64, 96, 128)  # widths at 16, 8, 4 px
    ctx_dim: int = 128
    heads: int = 4
    attn_levels: tuple[bool, bool, bool] = (False, True, True)
    ctx_tokens: int = 32  # cross-attention reads the first 32 of the 77 text states


def _norm(ch: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(16, ch // 4), ch)


class Res(nn.Module):
    """Pre-norm residual conv block with an optional time-embedding shift."""

    def __init__(self, cin: int, cout: int, temb: int = 0):
        super().__init__()
        self.n1, self.c1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.n2, self.c2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.t = nn.Linear(temb, cout) if temb else None
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, t: torch.Tensor | None = None) -> torch.Tensor:
        h = self.c1(F.silu(self.n1(x)))  # (B, cout, H, W)
        if self.t is not None:
            h = h + self.t(F.silu(t))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return h + self.skip(x)


class Encoder(nn.Module):
    def __init__(self, cfg: AEConfig):
        super().__init__()
        a, b = cfg.ch
        self.net = nn.Sequential(
            nn.Conv2d(3, a, 4, stride=2, padding=1), Res(a, a),  # (B, a, 32, 32)
            nn.Conv2d(a, b, 3, stride=2, padding=1), Res(b, b),  # (B, b, 16, 16)
            _norm(b), nn.SiLU(), nn.Conv2d(b, cfg.latent, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)  # (B, 3, 64, 64) -> (B, latent, 16, 16)


class Decoder(nn.Module):
    def __init__(self, cfg: AEConfig):
        super().__init__()
        a, b = cfg.ch
        self.net = nn.Sequential(
            nn.Conv2d(cfg.latent, b, 3, padding=1), Res(b, b), Res(b, b),  # (B, b, 16, 16)
            nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(b, a, 3, padding=1), Res(a, a),
            _norm(a), nn.SiLU(), nn.Conv2d(a, 12, 3, padding=1), nn.PixelShuffle(2))  # (B, 3, 64, 64)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.net(z))  # (B, latent, 16, 16) -> (B, 3, 64, 64) in [-1, 1]


class Attention(nn.Module):
    """Multi-head attention written with plain matmuls (exports to any ONNX opset)."""

    def __init__(self, dim: int, heads: int, kv_dim: int = 0):
        super().__init__()
        kv_dim = kv_dim or dim
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(kv_dim, 2 * dim)
        self.o = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape
        hs = d // self.heads
        q = self.q(x).reshape(b, t, self.heads, hs).transpose(1, 2)  # (B, nh, T, hs)
        k, v = self.kv(ctx).reshape(b, ctx.shape[1], 2, self.heads, hs).permute(2, 0, 3, 1, 4)  # (B, nh, S, hs)
        att = q @ k.transpose(-1, -2) * (hs ** -0.5)  # (B, nh, T, S)
        if mask is not None:
            att = att + mask
        y = att.softmax(dim=-1) @ v  # (B, nh, T, hs)
        return self.o(y.transpose(1, 2).reshape(b, t, d))  # (B, T, D)


class Block(nn.Module):
    """Transformer layer: self-attention, optional cross-attention, MLP (all pre-norm)."""

    def __init__(self, dim: int, heads: int, ctx_dim: int = 0):
        super().__init__()
        self.n1 = nn.LayerNorm(dim)
        self.sa = Attention(dim, heads)
        self.ca = Attention(dim, heads, ctx_dim) if ctx_dim else None
        self.n2 = nn.LayerNorm(dim) if ctx_dim else None
        self.n3 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, dim * 4), nn.GELU(), nn.Linear(dim * 4, dim))

    def forward(self, x: torch.Tensor, ctx: torch.Tensor | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.n1(x)
        x = x + self.sa(h, h, mask)  # (B, T, D)
        if self.ca is not None:
            x = x + self.ca(self.n2(x), ctx)  # (B, T, D)
        return x + self.ff(self.n3(x))


class TextEncoder(nn.Module):
    """CLIP-like causal transformer: input_ids (B, 77) -> last_hidden_state (B, 77, dim)."""

    def __init__(self, cfg: TextConfig):
        super().__init__()
        self.tok = nn.Embedding(cfg.vocab, cfg.dim)
        self.pos = nn.Parameter(torch.zeros(1, cfg.max_len, cfg.dim))
        nn.init.normal_(self.pos, std=0.01)
        self.blocks = nn.ModuleList([Block(cfg.dim, cfg.heads) for _ in range(cfg.layers)])
        self.norm = nn.LayerNorm(cfg.dim)
        mask = torch.full((cfg.max_len, cfg.max_len), -1e9).triu(1)  # causal
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.tok(ids.long()) + self.pos[:, : ids.shape[1]]  # (B, T, D)
        m = self.mask[: ids.shape[1], : ids.shape[1]]
        for blk in self.blocks:
            x = blk(x, mask=m)
        return self.norm(x)  # (B, T, D)


class SpatialTransformer(nn.Module):
    """Self- and cross-attention over the H*W positions of a feature map."""

    def __init__(self, ch: int, heads: int, ctx_dim: int):
        super().__init__()
        self.norm = _norm(ch)
        self.pos = nn.Conv2d(ch, ch, 3, padding=1, groups=ch)  # depthwise positional mixing
        self.block = Block(ch, heads, ctx_dim)

    def forward(self, x: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        b, c, hh, ww = x.shape
        h = self.norm(x)
        h = h + self.pos(h)
        h = h.flatten(2).transpose(1, 2)  # (B, H*W, C)
        h = self.block(h, ctx)
        return x + h.transpose(1, 2).reshape(b, c, hh, ww)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (B,) or () timesteps -> (B or 1, dim)."""
    t = t.float().reshape(-1)
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None] * freqs[None]  # (B, half)
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class UNet(nn.Module):
    """Conditional UNet on (B, 4, 16, 16) latents with cross-attention to text states."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        c0, c1, c2 = cfg.ch
        temb = c0 * 4
        self.temb_dim = c0
        self.ctx_tokens = cfg.ctx_tokens
        self.time = nn.Sequential(nn.Linear(c0, temb), nn.SiLU(), nn.Linear(temb, temb))
        self.inp = nn.Conv2d(cfg.latent, c0, 3, padding=1)
        mk = lambda ch, on: SpatialTransformer(ch, cfg.heads, cfg.ctx_dim) if on else None
        a0, a1, a2 = cfg.attn_levels
        self.d0, self.a0 = Res(c0, c0, temb), mk(c0, a0)
        self.down0 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.d1, self.a1 = Res(c1, c1, temb), mk(c1, a1)
        self.down1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.d2, self.a2 = Res(c2, c2, temb), mk(c2, a2)
        self.m1, self.ma, self.m2 = Res(c2, c2, temb), mk(c2, True), Res(c2, c2, temb)
        self.u2, self.ua2 = Res(c2 * 2, c2, temb), mk(c2, a2)
        self.up1 = nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c2, c1, 3, padding=1))
        self.u1, self.ua1 = Res(c1 * 2, c1, temb), mk(c1, a1)
        self.up0 = nn.Sequential(nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(c1, c0, 3, padding=1))
        self.u0, self.ua0 = Res(c0 * 2, c0, temb), mk(c0, a0)
        self.out = nn.Sequential(_norm(c0), nn.SiLU(), nn.Conv2d(c0, cfg.latent, 3, padding=1))
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    @staticmethod
    def _attn(mod, x, ctx):
        return mod(x, ctx) if mod is not None else x

    def forward(self, x: torch.Tensor, t: torch.Tensor, ctx: torch.Tensor) -> torch.Tensor:
        ctx = ctx[:, : self.ctx_tokens]  # (B, 32, D); captions are at most ~24 tokens
        te = self.time(timestep_embedding(t, self.temb_dim))  # (B or 1, temb)
        te = te.expand(x.shape[0], -1)
        h0 = self._attn(self.a0, self.d0(self.inp(x), te), ctx)  # (B, c0, 16, 16)
        h1 = self._attn(self.a1, self.d1(self.down0(h0), te), ctx)  # (B, c1, 8, 8)
        h2 = self._attn(self.a2, self.d2(self.down1(h1), te), ctx)  # (B, c2, 4, 4)
        m = self.m2(self.ma(self.m1(h2, te), ctx), te)
        u = self._attn(self.ua2, self.u2(torch.cat([m, h2], 1), te), ctx)  # (B, c2, 4, 4)
        u = self._attn(self.ua1, self.u1(torch.cat([self.up1(u), h1], 1), te), ctx)  # (B, c1, 8, 8)
        u = self._attn(self.ua0, self.u0(torch.cat([self.up0(u), h0], 1), te), ctx)  # (B, c0, 16, 16)
        return self.out(u)  # (B, latent, 16, 16)


def count(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
