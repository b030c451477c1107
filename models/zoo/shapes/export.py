"""Export checkpoints to the optimum ONNX Stable Diffusion layout and verify with onnxruntime.

    python -m models.zoo.shapes.export --ckpt /work/artifacts/shapes --out resources/models/shapes-sd
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from . import schedule, tokenizer
from .nets import AEConfig, Decoder, Encoder, TextConfig, TextEncoder, UNet, UNetConfig, count
from .preview import fit_preview

OPSET = 17


class TextOnnx(nn.Module):
    """input_ids (B, 77) -> last_hidden_state (B, 77, D), pooler_output (B, D) at <|endoftext|>."""

    def __init__(self, text: TextEncoder):
        super().__init__()
        self.text = text

    def forward(self, input_ids: torch.Tensor):
        h = self.text(input_ids)  # (B, 77, D)
        eos = input_ids.long().argmax(dim=1)  # <|endoftext|> has the largest id, as in CLIP
        pooled = h[torch.arange(h.shape[0]), eos]  # (B, D)
        return h, pooled


SD_SCALE = 0.18215  # the VAE scaling factor of SD 1.x, hard-coded by some pipelines


class DecoderOnnx(nn.Module):
    """Takes latents divided by SD_SCALE (as SD pipelines do) and undoes the ratio to our scale."""

    def __init__(self, dec: Decoder, scale: float):
        super().__init__()
        self.dec, self.ratio = dec, SD_SCALE / scale

    def forward(self, latent_sample: torch.Tensor) -> torch.Tensor:
        return self.dec(latent_sample * self.ratio)  # (B, 4, h, w) -> (B, 3, 4h, 4w)


class EncoderOnnx(nn.Module):
    """Returns latents that become diffusion-space latents when multiplied by SD_SCALE."""

    def __init__(self, enc: Encoder, scale: float):
        super().__init__()
        self.enc, self.ratio = enc, scale / SD_SCALE

    def forward(self, sample: torch.Tensor) -> torch.Tensor:
        return self.enc(sample) * self.ratio  # (B, 3, H, W) -> (B, 4, H/4, W/4)


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
            axes: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(module.eval(), args, str(path), input_names=inputs, output_names=outputs,
                      dynamic_axes=axes, opset_version=OPSET, dynamo=False)


def _max_diff(path: Path, feeds: dict, ref: list[torch.Tensor]) -> float:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {k: v.numpy() for k, v in feeds.items()})
    return max(float(np.abs(g - r.detach().numpy()).max()) for g, r in zip(got, ref))


def _component_configs(out: Path, scale: float, tcfg: TextConfig, ucfg: UNetConfig) -> None:
    index = {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.30.0",
        "feature_extractor": [None, None], "safety_checker": [None, None],
        "requires_safety_checker": False,
        "scheduler": ["diffusers", "EulerAncestralDiscreteScheduler"],
        "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
        "vae_encoder": ["diffusers", "OnnxRuntimeModel"],
    }
    (out / "model_index.json").write_text(json.dumps(index, indent=2))
    (out / "scheduler").mkdir(exist_ok=True)
    (out / "scheduler" / "scheduler_config.json").write_text(
        json.dumps(schedule.scheduler_config(), indent=2))
    vae = {"latent_channels": 4, "scaling_factor": scale, "sample_size": 64, "in_channels": 3,
           "out_channels": 3, "block_out_channels": [32, 64, 64]}  # 3 levels: 4 px per latent px
    for part in ("vae_decoder", "vae_encoder"):
        (out / part / "config.json").write_text(json.dumps(vae, indent=2))
    (out / "unet" / "config.json").write_text(json.dumps(
        {"in_channels": 4, "out_channels": 4, "sample_size": 16,
         "cross_attention_dim": ucfg.ctx_dim, "block_out_channels": list(ucfg.ch)}, indent=2))
    (out / "text_encoder" / "config.json").write_text(json.dumps(
        {"hidden_size": tcfg.dim, "num_hidden_layers": tcfg.layers, "num_attention_heads": tcfg.heads,
         "vocab_size": tcfg.vocab, "max_position_embeddings": tcfg.max_len}, indent=2))


def export(ckpt_dir: Path, out: Path, use_ema: bool = True) -> dict:
    """Write every file of the model folder except MODEL_CARD.md; return size/param figures."""
    torch.set_num_threads(1)
    ae = torch.load(ckpt_dir / "ae.pt")
    st = torch.load(ckpt_dir / "unet.pt")
    acfg = AEConfig(**ae["cfg"])
    tcfg, ucfg = TextConfig(**st["text_cfg"]), UNetConfig(**st["unet_cfg"])
    enc, dec, text, unet = Encoder(acfg), Decoder(acfg), TextEncoder(tcfg), UNet(ucfg)
    enc.load_state_dict(ae["enc"]), dec.load_state_dict(ae["dec"])
    pre = "ema_" if use_ema else ""
    text.load_state_dict(st[pre + "text"]), unet.load_state_dict(st[pre + "unet"])
    scale = float(st["scale"])
    out.mkdir(parents=True, exist_ok=True)
    tokenizer.write_tokenizer(out / "tokenizer")
    tok = tokenizer.load(out / "tokenizer")
    diffs = {}
    with torch.no_grad():
        ids = torch.from_numpy(tokenizer.encode(tok, ["a small red circle on the left", ""])).int()  # int32 like SD 1.x ONNX exports
        p = out / "text_encoder" / "model.onnx"
        _export(TextOnnx(text), (ids,), p, ["input_ids"], ["last_hidden_state", "pooler_output"],
                {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}, "pooler_output": {0: "batch"}})
        diffs["text_encoder"] = _max_diff(p, {"input_ids": ids}, list(TextOnnx(text)(ids)))
        ctx = text(ids)  # (2, 77, D)
        sample, t = torch.randn(2, 4, 16, 16), torch.tensor([500.0, 500.0])
        p = out / "unet" / "model.onnx"
        _export(unet, (sample, t, ctx), p, ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
                {"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "steps"},
                 "encoder_hidden_states": {0: "batch"}, "out_sample": {0: "batch", 2: "height", 3: "width"}})
        diffs["unet"] = _max_diff(p, {"sample": sample, "timestep": t, "encoder_hidden_states": ctx},
                                  [unet(sample, t, ctx)])
        lat = torch.randn(2, 4, 16, 16) / SD_SCALE
        p = out / "vae_decoder" / "model.onnx"
        _export(DecoderOnnx(dec, scale), (lat,), p, ["latent_sample"], ["sample"],
                {"latent_sample": {0: "batch", 2: "height", 3: "width"}, "sample": {0: "batch", 2: "height", 3: "width"}})
        diffs["vae_decoder"] = _max_diff(p, {"latent_sample": lat}, [DecoderOnnx(dec, scale)(lat)])
        img = torch.rand(2, 3, 64, 64) * 2 - 1
        p = out / "vae_encoder" / "model.onnx"
        _export(EncoderOnnx(enc, scale), (img,), p, ["sample"], ["latent_sample"],
                {"sample": {0: "batch", 2: "height", 3: "width"}, "latent_sample": {0: "batch", 2: "height", 3: "width"}})
        diffs["vae_encoder"] = _max_diff(p, {"sample": img}, [EncoderOnnx(enc, scale)(img)])
    _component_configs(out, SD_SCALE, tcfg, ucfg)
    preview = fit_preview(enc, dec, scale)
    (out / "preview.json").write_text(json.dumps(preview, indent=2))
    sizes = {part: (out / part / "model.onnx").stat().st_size
             for part in ("text_encoder", "unet", "vae_decoder", "vae_encoder")}
    manifest = {
        "kind": "diffusion", "name": "shapes", "files": {"model_index": "model_index.json"},
        "io": {"prompt": "text", "image": "64x64 rgb"},
        "license": "Apache-2.0 (weights trained by Genloom on procedural images)",
        "source": "models/zoo/shapes (trained in-house)",
        "params": {"default": True, "width": 64, "height": 64, "latent_channels": 4,
                   "vae_scale_factor": 4, "scaling_factor": SD_SCALE,
                   "steps": 20, "guidance": 5.0, "scheduler": "DPM++ 2M", "max_prompt_tokens": 30},
    }
    (out / "genloom.json").write_text(json.dumps(manifest, indent=2))
    return {"max_abs_diff": diffs, "bytes": sizes, "total_mb": sum(sizes.values()) / 2**20,
            "params": {"vae_encoder": count(enc), "vae_decoder": count(dec),
                       "text_encoder": count(text), "unet": count(unet)},
            "unet_steps": st["step"], "unet_minutes": st["elapsed"] / 60, "latent_std_scale": scale,
            "unet_init": st.get("init", {}),
            "ae_steps": ae["step"], "ae_minutes": ae["elapsed"] / 60,
            "decoder_ft_steps": ae.get("ft_steps", 0), "decoder_ft_minutes": ae.get("ft_elapsed", 0.0) / 60, "scale": SD_SCALE}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="/work/artifacts/shapes")
    ap.add_argument("--out", default="resources/models/shapes-sd")
    ap.add_argument("--raw", action="store_true", help="export raw weights instead of EMA")
    args = ap.parse_args()
    out = Path(args.out)
    if out.exists() and (out / "unet").exists():
        for part in ("text_encoder", "unet", "vae_decoder", "vae_encoder"):
            shutil.rmtree(out / part, ignore_errors=True)
    info = export(Path(args.ckpt), out, use_ema=not args.raw)
    (Path(args.ckpt) / "export_info.json").write_text(json.dumps(info, indent=2))
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
