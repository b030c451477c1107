"""Train the shapes latent autoencoder for a wall-clock budget (resumable).

    python -m models.zoo.shapes.train_ae --out /work/artifacts/shapes --minutes 25
    python -m models.zoo.shapes.train_ae --out /work/artifacts/shapes --minutes 10 --decoder-only

--decoder-only sharpens the decoder with the encoder frozen, so latents (and a UNet trained
on them) stay valid; its time is counted separately (key "ft_elapsed").
"""
from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .data import batch, to_tensor
from .nets import AEConfig, Decoder, Encoder, count


def edge_weight(x: torch.Tensor, boost: float = 8.0) -> torch.Tensor:
    """(B, 1, 64, 64) loss weights: 1 + boost near colour edges, so small shapes stay sharp."""
    local = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
    edge = ((x - local).abs().amax(dim=1, keepdim=True) > 0.05).float()
    edge = F.max_pool2d(edge, 3, stride=1, padding=1)
    return 1.0 + boost * edge


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/artifacts/shapes")
    ap.add_argument("--minutes", type=float, default=18.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--save-every", type=float, default=180.0, help="seconds between checkpoints")
    ap.add_argument("--decoder-only", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    tkey = "ft_elapsed" if args.decoder_only else "elapsed"
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = out / "ae.pt"
    cfg = AEConfig()
    enc, dec = Encoder(cfg), Decoder(cfg)
    params = list(dec.parameters()) if args.decoder_only else list(enc.parameters()) + list(dec.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.0)
    step, elapsed, seed, extra = 0, 0.0, 0, {}
    if ckpt.exists():
        st = torch.load(ckpt)
        enc.load_state_dict(st["enc"]), dec.load_state_dict(st["dec"])
        if args.decoder_only == ("ft_opt" in st):
            opt.load_state_dict(st["ft_opt" if args.decoder_only else "opt"])
        step, elapsed, seed = st["step"], st.get(tkey, 0.0), st["step"] + st.get("ft_steps", 0)
        extra = {k: st[k] for k in ("opt", "elapsed", "ft_steps", "ft_elapsed", "ft_opt") if k in st}
        print(f"resumed at step {step}, {elapsed / 60:.1f} min", flush=True)
    enc.requires_grad_(not args.decoder_only)
    print(f"encoder {count(enc)} params, decoder {count(dec)} params", flush=True)
    rng = random.Random(1000 + seed)
    budget = args.minutes * 60
    t0, last_save, run_loss = time.time() - elapsed, time.time(), None

    ft_steps = extra.get("ft_steps", 0)

    def save() -> None:
        st = dict(extra, enc=enc.state_dict(), dec=dec.state_dict(), step=step, cfg=cfg.__dict__)
        if args.decoder_only:
            st.update(ft_opt=opt.state_dict(), ft_steps=ft_steps, ft_elapsed=time.time() - t0)
        else:
            st.update(opt=opt.state_dict(), elapsed=time.time() - t0)
        torch.save(st, ckpt)

    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * (1 - frac))
        x = to_tensor(batch(rng, args.batch)[0])  # (B, 3, 64, 64)
        z = enc(x)  # (B, 4, 16, 16)
        zn = z + 0.1 * z.detach().std() * torch.randn_like(z)
        y = dec(zn)  # (B, 3, 64, 64)
        err = (y - x).abs() + (y - x).pow(2)  # (B, 3, 64, 64)
        loss = (edge_weight(x) * err).mean() + 1e-3 * z.pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if args.decoder_only:
            ft_steps += 1
        else:
            step += 1
        run_loss = loss.item() if run_loss is None else 0.98 * run_loss + 0.02 * loss.item()
        if (ft_steps if args.decoder_only else step) % 50 == 0:
            print(f"step {step} ft {ft_steps} loss {run_loss:.4f} z_std {z.std().item():.3f} "
                  f"{(time.time() - t0) / 60:.1f} min", flush=True)
        if time.time() - last_save > args.save_every:
            save()
            last_save = time.time()
    save()
    print(f"done: {step} steps, {ft_steps} decoder-only steps, {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
