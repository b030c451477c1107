"""Train the text encoder + UNet on autoencoder latents for a wall-clock budget (resumable).

DDPM epsilon objective on the linear beta schedule, min-SNR-5 loss weights, 10% empty
captions for classifier-free guidance, EMA weights. Checkpoints go to --out/unet.pt.

    python -m models.zoo.shapes.train_unet --out /work/artifacts/shapes --minutes 75
"""
from __future__ import annotations

import argparse
import copy
import random
import time
from pathlib import Path

import torch

from . import schedule, tokenizer
from .data import batch, to_tensor
from .nets import AEConfig, Encoder, TextConfig, TextEncoder, UNet, UNetConfig, count

DROP = 0.1


def latent_scale(enc: Encoder, rng: random.Random) -> float:
    """1 / std of latents over 512 rendered images."""
    with torch.no_grad():
        zs = [enc(to_tensor(batch(rng, 64)[0])) for _ in range(8)]
    return float(1.0 / torch.cat(zs).std())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/artifacts/shapes")
    ap.add_argument("--minutes", type=float, default=75.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--save-every", type=float, default=240.0, help="seconds between checkpoints")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--init", default="", help="start from the weights of an earlier unet.pt "
                    "(warm start; optimizer, step count and latent scale start fresh)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    ae = torch.load(out / "ae.pt")
    enc = Encoder(AEConfig(**ae["cfg"]))
    enc.load_state_dict(ae["enc"])
    enc.eval().requires_grad_(False)
    tok = tokenizer.load(tokenizer.write_tokenizer(out / "tokenizer"))
    tcfg, ucfg = TextConfig(vocab=tok.get_vocab_size()), UNetConfig()
    text, unet = TextEncoder(tcfg), UNet(ucfg)
    params = list(text.parameters()) + list(unet.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    ema_text, ema_unet = copy.deepcopy(text), copy.deepcopy(unet)
    ckpt = out / "unet.pt"
    step, elapsed, init = 0, 0.0, {}
    if ckpt.exists():
        st = torch.load(ckpt)
        text.load_state_dict(st["text"]), unet.load_state_dict(st["unet"])
        ema_text.load_state_dict(st["ema_text"]), ema_unet.load_state_dict(st["ema_unet"])
        opt.load_state_dict(st["opt"])
        step, elapsed, scale = st["step"], st["elapsed"], st["scale"]
        init = st.get("init", {})
        print(f"resumed at step {step}, {elapsed / 60:.1f} min", flush=True)
    else:
        scale = latent_scale(enc, random.Random(7))
        if args.init:
            st = torch.load(args.init)
            text.load_state_dict(st["text"]), unet.load_state_dict(st["unet"])
            ema_text.load_state_dict(st["ema_text"]), ema_unet.load_state_dict(st["ema_unet"])
            prior = st.get("init", {})
            init = {"steps": st["step"] + prior.get("steps", 0),
                    "minutes": st["elapsed"] / 60 + prior.get("minutes", 0.0)}
            print(f"warm start from {args.init} ({st['step']} steps)", flush=True)
    print(f"text encoder {count(text)} params, unet {count(unet)} params, latent scale {scale:.4f}",
          flush=True)
    ac = torch.tensor(schedule.alphas_cumprod(), dtype=torch.float32)  # (1000,)
    snr = ac / (1 - ac)
    weight = torch.clamp(snr, max=5.0) / snr  # min-SNR-5 for epsilon prediction
    n_tok = ucfg.ctx_tokens  # causal text encoder: the first 32 states do not depend on the rest
    rng = random.Random(2000 + step)
    budget = args.minutes * 60
    t0, last_save, run_loss = time.time() - elapsed, time.time(), None

    def save() -> None:
        torch.save({"text": text.state_dict(), "unet": unet.state_dict(),
                    "ema_text": ema_text.state_dict(), "ema_unet": ema_unet.state_dict(),
                    "opt": opt.state_dict(), "step": step, "elapsed": time.time() - t0,
                    "scale": scale, "init": init, "text_cfg": tcfg.__dict__, "unet_cfg": ucfg.__dict__}, ckpt)

    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (step + 1) / 100) * (0.1 + 0.9 * (1 - frac))
        images, caps = batch(rng, args.batch)
        caps = ["" if rng.random() < DROP else c for c in caps]
        ids = torch.from_numpy(tokenizer.encode(tok, caps)[:, :n_tok])  # (B, 32)
        with torch.no_grad():
            z0 = enc(to_tensor(images)) * scale  # (B, 4, 16, 16)
        t = torch.randint(0, schedule.NUM_TRAIN_TIMESTEPS, (z0.shape[0],))
        a = ac[t][:, None, None, None]
        eps = torch.randn_like(z0)
        zt = a.sqrt() * z0 + (1 - a).sqrt() * eps  # (B, 4, 16, 16)
        pred = unet(zt, t, text(ids))
        loss = (weight[t] * (pred - eps).pow(2).mean(dim=(1, 2, 3))).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        d = min(args.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for m, e in ((text, ema_text), (unet, ema_unet)):
                for p, q in zip(m.parameters(), e.parameters()):
                    q.lerp_(p, 1 - d)
        run_loss = loss.item() if run_loss is None else 0.99 * run_loss + 0.01 * loss.item()
        if step % 50 == 0:
            print(f"step {step} loss {run_loss:.4f} lr {opt.param_groups[0]['lr']:.2e} "
                  f"{(time.time() - t0) / 60:.1f} min", flush=True)
        if time.time() - last_save > args.save_every:
            save()
            last_save = time.time()
    save()
    print(f"done: {step} steps, {(time.time() - t0) / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
