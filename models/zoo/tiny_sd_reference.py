"""Dev-time builder of the tiny Stable Diffusion reference fixtures in tests/fixtures/tiny_sd/.

Needs torch, transformers and diffusers (/work/devvenv); Genloom's runtime never imports this file.

    python -m models.zoo.tiny_sd_reference [--out tests/fixtures/tiny_sd]

It writes:
1. `schedulers.npz`: diffusers' schedulers run on a fixed fake denoiser, per A1111 name, config and strength.
2. `model/`: a tiny random SD-architecture model (UNet2DConditionModel, CLIPTextModel + CLIPTokenizer,
   AutoencoderKL) exported with torch.onnx.export to the optimum ONNX layout.
3. `pipeline.npz`: images of diffusers' StableDiffusionPipeline (torch, same weights) per scheduler from
   the same initial latents and per-step noise as Genloom's pipeline draws (NumPy PCG64, float32).
4. `tokenizer.json` golden ids of transformers' CLIPTokenizer on a prompt corpus.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np

CLASSES = {  # A1111 name -> (diffusers class name, config overrides)
    "Euler a": ("EulerAncestralDiscreteScheduler", {}),
    "Euler": ("EulerDiscreteScheduler", {}),
    "DPM++ 2M": ("DPMSolverMultistepScheduler", {}),
    "DPM++ 2M Karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    "DDIM": ("DDIMScheduler", {}),
    "LCM": ("LCMScheduler", {}),
    "PLMS": ("PNDMScheduler", {"skip_prk_steps": True}),
    "DDPM": ("DDPMScheduler", {}),
}
SD_CONFIG = {"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear",
             "steps_offset": 1, "set_alpha_to_one": False, "clip_sample": False, "timestep_spacing": "leading",
             "prediction_type": "epsilon"}
CONFIGS = {
    "sd": SD_CONFIG,
    "vpred_trailing": {**SD_CONFIG, "prediction_type": "v_prediction", "timestep_spacing": "trailing", "steps_offset": 0},
    "linear_linspace": {"num_train_timesteps": 1000, "beta_start": 0.0001, "beta_end": 0.02, "beta_schedule": "linear",
                        "timestep_spacing": "linspace", "clip_sample": True, "set_alpha_to_one": True},
}
RUNS = ((8, 1.0), (10, 0.6))  # (steps, strength)
PROMPTS = [
    "a photo of an astronaut riding a horse on mars",
    "A RED Circle, on a blue square!!",
    "",
    "café crème, naïve résumé — déjà vu",
    "emoji 🙂 and numbers 12345 3.14",
    "   leading and trailing spaces   ",
    "don't can't it's we'll they're",
    "a very long prompt " + "with many repeated words " * 20,
    "中文 提示词 测试",
    "tabs\tand\nnewlines",
]


def fake_denoiser(x: np.ndarray, t: float, base: np.ndarray) -> np.ndarray:
    """A smooth deterministic stand-in for a UNet, used by both diffusers and Genloom in the parity test."""
    return (0.5 * np.tanh(x) + 0.1 * np.cos(float(t) / 250.0) * base).astype(np.float32)


def _patch_noise(rng: np.random.Generator, store: list):
    """Make every diffusers scheduler draw its noise from `rng` (float32 standard normal), recording it."""
    import torch
    from diffusers.schedulers import scheduling_ddpm as ddpm
    from diffusers.schedulers import scheduling_euler_ancestral_discrete as ea
    from diffusers.schedulers import scheduling_lcm as lcm

    def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
        noise = rng.standard_normal(tuple(shape), dtype=np.float32)
        store.append(noise)
        return torch.from_numpy(noise.copy())

    ea.randn_tensor = randn_tensor
    lcm.randn_tensor = randn_tensor
    ddpm.randn_tensor = randn_tensor


def diffusers_case(name: str, config: dict, steps: int, strength: float, base: np.ndarray, image: np.ndarray) -> dict:
    """One sampling loop of diffusers' scheduler `name` on the fake denoiser; arrays keyed like schedulers.npz."""
    import diffusers
    import torch

    cls_name, overrides = CLASSES[name]
    sched = getattr(diffusers, cls_name).from_config({**config, **overrides})
    _patch_noise(np.random.default_rng(11), [])
    start_noise = np.random.default_rng(3).standard_normal(base.shape, dtype=np.float32)
    if cls_name == "LCMScheduler":
        sched.set_timesteps(steps, strength=strength)
    else:
        sched.set_timesteps(steps)
    t_start = steps - min(int(steps * strength), steps)
    timesteps = sched.timesteps[t_start:]
    if hasattr(sched, "set_begin_index"):
        sched.set_begin_index(t_start)
    if strength < 1.0:
        x = sched.add_noise(torch.from_numpy(image), torch.from_numpy(start_noise), timesteps[:1])
    else:
        x = torch.from_numpy(start_noise) * sched.init_noise_sigma
    out = {"start": x.numpy().astype(np.float32)}
    scaled, x0s = [], []
    for t in timesteps:
        x_in = sched.scale_model_input(x, t)
        scaled.append(x_in.numpy())
        model_out = fake_denoiser(x_in.numpy(), float(t), base)
        res = sched.step(torch.from_numpy(model_out), t, x, return_dict=False)
        x = res[0]
        x0s.append(res[1].numpy() if len(res) > 1 else np.zeros_like(model_out))
    out.update(timesteps=timesteps.numpy().astype(np.float64), init_noise_sigma=np.float64(float(sched.init_noise_sigma)),
               scaled=np.stack(scaled).astype(np.float32), x0=np.stack(x0s).astype(np.float32),
               final=x.numpy().astype(np.float32))
    return out


def scheduler_goldens(out: Path) -> None:
    """Run every (scheduler, config, steps, strength) case with diffusers; save inputs and outputs."""
    rng = np.random.default_rng(7)
    base = rng.standard_normal((1, 4, 4, 4), dtype=np.float32)
    image = np.clip(rng.standard_normal((1, 4, 4, 4), dtype=np.float32), -1, 1)
    arrays = {"base": base, "image": image}
    for name in CLASSES:
        for cfg_name, cfg in CONFIGS.items():
            for steps, strength in RUNS:
                key = f"{name}|{cfg_name}|{steps}|{strength}"
                for field, value in diffusers_case(name, cfg, steps, strength, base, image).items():
                    arrays[f"{key}|{field}"] = value
    np.savez_compressed(out / "schedulers.npz", **arrays)
    (out / "scheduler_cases.json").write_text(json.dumps(
        {"names": list(CLASSES), "configs": CONFIGS, "runs": RUNS}, indent=1), encoding="utf-8")


def tokenizer_goldens(tokenizer_dir: Path, out: Path) -> None:
    """Golden CLIP ids (padded/truncated to 77) from transformers' slow CLIPTokenizer."""
    from transformers import CLIPTokenizer

    tok = CLIPTokenizer.from_pretrained(str(tokenizer_dir))
    rows = []
    for prompt in PROMPTS:
        ids = tok(prompt, padding="max_length", max_length=77, truncation=True).input_ids
        full = tok(prompt).input_ids
        rows.append({"prompt": prompt, "ids": ids, "truncated": len(full) > 77})
    text = "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n"
    (out / "tokenizer_golden.json").write_text(text, encoding="utf-8")



# ---------------------------------------------------------------- a tiny CLIP-style BPE vocabulary
def byte_alphabet() -> list[str]:
    """CLIP/GPT-2's reversible byte -> printable unicode character table, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars, extra = {}, 0
    for b in range(256):
        if b in keep:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return [chars[b] for b in range(256)]


def learn_bpe(corpus: list[str], merges_wanted: int) -> tuple[dict, list]:
    """A small CLIP-format BPE (vocab.json dict, merges list) learned from `corpus`."""
    import re
    from collections import Counter

    table = byte_alphabet()
    words = Counter()
    for text in corpus:
        for word in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|[^\s\w]+", text.lower()):
            symbols = [table[b] for b in word.encode("utf-8")]
            symbols[-1] += "</w>"
            words[tuple(symbols)] += 1
    merges = []
    for _ in range(merges_wanted):
        pairs = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = max(pairs, key=lambda p: (pairs[p], p))
        merges.append(best)
        merged = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    tokens = table + [c + "</w>" for c in table] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {}
    for token in tokens:
        vocab.setdefault(token, len(vocab))
    return vocab, merges


def clip_vocab_from_openclip(gz_path: Path, folder: Path) -> Path:
    """The real CLIP ViT-L/14 vocab.json + merges.txt (SD 1.x's tokenizer) from open-clip-torch's merges file.

    Get it with `pip download --no-deps open-clip-torch` and unzip open_clip/bpe_simple_vocab_16e6.txt.gz.
    """
    import gzip

    lines = gzip.open(gz_path, "rt", encoding="utf-8").read().split("\n")
    merges = [tuple(line.split()) for line in lines[1:49152 - 256 - 2 + 1]]
    table = byte_alphabet()
    tokens = table + [c + "</w>" for c in table] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(tokens)}, ensure_ascii=False), "utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n", "utf-8")
    return folder


def write_tokenizer(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    corpus = PROMPTS + ["a photo of a cat sitting on a red chair in the garden, highly detailed, sharp focus",
                        "portrait of a woman, oil painting, trending, landscape with mountains and a lake at sunset",
                        "blurry, low quality, watermark, text, ugly, deformed"] * 3
    vocab, merges = learn_bpe(corpus, 300)
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    lines = ["#version: 0.2"] + [f"{a} {b}" for a, b in merges]
    (folder / "merges.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    special = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
               "pad_token": "<|endoftext|>"}
    (folder / "special_tokens_map.json").write_text(json.dumps(special), encoding="utf-8")
    config = {**special, "model_max_length": 77, "do_lower_case": True, "tokenizer_class": "CLIPTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return len(vocab)


# ---------------------------------------------------------------- tiny torch models and their ONNX export
PRESETS = {  # "tiny": committed test fixture; "bench": an SD-shaped random model for benchmarks (not committed)
    "tiny": {"unet": (8, 16), "groups": 4, "heads": 4, "text": 32, "layers": 2, "vae": (4, 8, 8, 8), "sample": 8},
    "bench": {"unet": (64, 128, 256), "groups": 32, "heads": 8, "text": 128, "layers": 4, "vae": (32, 64, 128, 128),
              "sample": 32},
}


def tiny_models(vocab_size: int, cond_dim: int | None, preset: str = "tiny"):
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    size = PRESETS[preset]
    torch.manual_seed(0)  # vae and text encoder first, so both variants share their weights
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=size["vae"][0],
        block_out_channels=size["vae"], down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4, scaling_factor=0.18215, sample_size=size["sample"] * 8,
    ).eval()
    text = CLIPTextModel(CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=size["text"], intermediate_size=size["text"] + 5,
        num_hidden_layers=size["layers"], num_attention_heads=4,
        max_position_embeddings=77, bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1,
    )).eval()
    levels = len(size["unet"])
    unet = UNet2DConditionModel(
        sample_size=size["sample"], in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=size["unet"],
        down_block_types=("CrossAttnDownBlock2D",) * (levels - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (levels - 1),
        cross_attention_dim=size["text"], attention_head_dim=size["heads"], norm_num_groups=size["groups"],
        time_cond_proj_dim=cond_dim,
    ).eval()
    with torch.no_grad():  # random init gives near-zero UNet outputs; widen them so schedulers differ visibly
        for p in unet.parameters():
            p.mul_(1.5)
    return text, unet, vae


def export_onnx(module, args, path: Path, inputs, outputs, dynamic, external=False) -> None:
    import onnx
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=dynamic,
                          opset_version=17, dynamo=False)
    model = onnx.load(str(path))
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx_data", size_threshold=0)
        return
    onnx.save_model(model, str(path))


def export_model(folder: Path, lcm: bool, preset: str = "tiny") -> dict:
    """Export a tiny SD model in the optimum layout; the LCM variant is a UNet with fp16 I/O and a scalar timestep."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    vocab_size = write_tokenizer(folder / "tokenizer")
    text, unet, vae = tiny_models(vocab_size, 8 if lcm else None, preset)
    size = PRESETS[preset]
    side, dim = size["sample"], size["text"]
    half = torch.float16 if lcm else torch.float32

    class Wrap(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

    class Text(Wrap):
        def forward(self, input_ids):
            out = self.inner(input_ids=input_ids.long())
            return out.last_hidden_state.to(half), out.pooler_output.to(half)

    class Unet(Wrap):
        def forward(self, sample, timestep, encoder_hidden_states, timestep_cond=None):
            cond = timestep_cond.float() if timestep_cond is not None else None
            out = self.inner(sample.float(), timestep, encoder_hidden_states.float(), timestep_cond=cond).sample
            return out.to(half)

    batch = {0: "batch"}
    if not lcm:  # optimum exports take int32 ids; Genloom casts to whatever the session declares
        export_onnx(Text(text), (torch.zeros(1, 77, dtype=torch.int32),), folder / "text_encoder/model.onnx",
                    ["input_ids"], ["last_hidden_state", "pooler_output"], {"input_ids": batch})
    sample = torch.zeros(2, 4, side, side, dtype=half)
    states = torch.zeros(2, 77, dim, dtype=half)
    if lcm:
        args = (sample, torch.tensor(999, dtype=torch.int64), states, torch.zeros(2, 8, dtype=half))
        names = ["sample", "timestep", "encoder_hidden_states", "timestep_cond"]
        dynamic = {"sample": {0: "batch", 2: "h", 3: "w"}, "encoder_hidden_states": batch, "timestep_cond": batch}
    else:
        args = (sample, torch.tensor([999.0, 999.0]), states)
        names = ["sample", "timestep", "encoder_hidden_states"]
        dynamic = {"sample": {0: "batch", 2: "h", 3: "w"}, "timestep": batch, "encoder_hidden_states": batch}
    export_onnx(Unet(unet), args, folder / "unet/model.onnx", names, ["out_sample"], {**dynamic, "out_sample": batch},
                external=not lcm)
    (folder / "unet/config.json").write_text(json.dumps({"sample_size": side, "in_channels": 4, "out_channels": 4,
                                                          "cross_attention_dim": dim, "time_cond_proj_dim": 8 if lcm else None}))
    if lcm:  # the LCM variant shares tokenizer, text encoder and VAE with the main model (tests copy them in)
        shutil.rmtree(folder / "tokenizer")
    else:
        export_vae(folder, vae, side)
    scheduler = {"_class_name": "LCMScheduler" if lcm else "PNDMScheduler", **SD_CONFIG, "skip_prk_steps": True}
    (folder / "scheduler").mkdir(exist_ok=True)
    (folder / "scheduler/scheduler_config.json").write_text(json.dumps(scheduler, indent=1))
    index = {"_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.42.1",
             "text_encoder": ["diffusers", "OnnxRuntimeModel"], "unet": ["diffusers", "OnnxRuntimeModel"],
             "vae_decoder": ["diffusers", "OnnxRuntimeModel"], "vae_encoder": ["diffusers", "OnnxRuntimeModel"],
             "tokenizer": ["transformers", "CLIPTokenizer"], "scheduler": ["diffusers", scheduler["_class_name"]]}
    (folder / "model_index.json").write_text(json.dumps(index, indent=1))
    return {"text": text, "unet": unet, "vae": vae, "scheduler": scheduler}


def export_vae(folder: Path, vae, side: int = 8) -> None:
    import torch

    class Decoder(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, latent_sample):
            return self.inner.decode(latent_sample).sample

    class Encoder(Decoder):
        def forward(self, sample):
            return self.inner.encode(sample).latent_dist.parameters  # (B, 2C, h, w): mean, logvar

    export_onnx(Decoder(vae), (torch.zeros(1, 4, side, side),), folder / "vae_decoder/model.onnx",
                ["latent_sample"], ["sample"], {"latent_sample": {0: "batch", 2: "h", 3: "w"}})
    export_onnx(Encoder(vae), (torch.zeros(1, 3, side * 8, side * 8),), folder / "vae_encoder/model.onnx",
                ["sample"], ["latent_parameters"], {"sample": {0: "batch", 2: "H", 3: "W"}})
    (folder / "vae_decoder/config.json").write_text(json.dumps({"scaling_factor": 0.18215, "latent_channels": 4}))


# ---------------------------------------------------------------- golden pipeline outputs
GOLDEN_RUNS = [  # (case, scheduler, steps, cfg, strength)
    ("euler_a", "Euler a", 6, 7.0, 1.0), ("euler", "Euler", 6, 7.0, 1.0), ("dpm2m", "DPM++ 2M", 6, 7.0, 1.0),
    ("dpm2mk", "DPM++ 2M Karras", 6, 5.0, 1.0), ("ddim", "DDIM", 6, 7.0, 1.0), ("euler_nocfg", "Euler", 4, 1.0, 1.0),
    ("img2img_euler_a", "Euler a", 8, 7.0, 0.6), ("img2img_ddim", "DDIM", 8, 7.0, 0.5),
]
GOLDEN_PROMPT, GOLDEN_NEGATIVE, GOLDEN_SEED = "a red circle on a blue square", "blurry", 1234


def init_image() -> np.ndarray:
    """The img2img input: a 64x64 RGB gradient with a square, uint8 (H, W, 3)."""
    y, x = np.mgrid[0:64, 0:64]
    img = np.stack([x * 4, y * 4, np.full_like(x, 128)], axis=-1)
    img[16:48, 16:48] = [250, 30, 30]
    return img.astype(np.uint8)


def pipeline_goldens(out: Path, parts: dict, lcm_parts: dict) -> None:
    import diffusers
    import torch
    from diffusers.models.autoencoders import vae as vae_module
    from diffusers.pipelines.stable_diffusion import pipeline_stable_diffusion_img2img as i2i
    from PIL import Image
    from transformers import CLIPTokenizer

    vae_module.DiagonalGaussianDistribution.sample = lambda self, generator=None: self.mean  # Genloom uses the mean
    arrays = {"init_image": init_image()}
    for case, name, steps, cfg, strength in GOLDEN_RUNS + [("lcm", "LCM", 4, 8.0, 1.0)]:
        p = lcm_parts if name == "LCM" else parts
        tok = CLIPTokenizer.from_pretrained(str(out / "model" / "tokenizer"))
        cls_name, overrides = CLASSES[name]
        sched = getattr(diffusers, cls_name).from_config({**p["scheduler"], **overrides})
        rng = np.random.default_rng(GOLDEN_SEED)
        _patch_noise(rng, [])
        common = dict(unet=p["unet"], vae=p["vae"], text_encoder=p["text"], tokenizer=tok, scheduler=sched)
        with torch.no_grad():
            if name == "LCM":
                latents = torch.from_numpy(rng.standard_normal((1, 4, 8, 8), dtype=np.float32))
                pipe = diffusers.LatentConsistencyModelPipeline(**common, safety_checker=None, feature_extractor=None,
                                                                requires_safety_checker=False)
                image = pipe(GOLDEN_PROMPT, height=64, width=64, num_inference_steps=steps, guidance_scale=cfg,
                             latents=latents, output_type="np").images
            elif strength < 1.0:
                i2i.randn_tensor = lambda shape, generator=None, device=None, dtype=None: torch.from_numpy(
                    rng.standard_normal(tuple(shape), dtype=np.float32))
                pipe = diffusers.StableDiffusionImg2ImgPipeline(**common, safety_checker=None, feature_extractor=None,
                                                                requires_safety_checker=False)
                image = pipe(GOLDEN_PROMPT, image=Image.fromarray(init_image()), strength=strength,
                             num_inference_steps=steps, guidance_scale=cfg, negative_prompt=GOLDEN_NEGATIVE,
                             output_type="np").images
            else:
                latents = torch.from_numpy(rng.standard_normal((1, 4, 8, 8), dtype=np.float32))
                pipe = diffusers.StableDiffusionPipeline(**common, safety_checker=None, feature_extractor=None,
                                                         requires_safety_checker=False)
                image = pipe(GOLDEN_PROMPT, height=64, width=64, num_inference_steps=steps, guidance_scale=cfg,
                             negative_prompt=GOLDEN_NEGATIVE, latents=latents, output_type="np").images
        arrays[case] = np.round(image[0, ::2, ::2] * 65535).astype(np.uint16)  # every 2nd pixel (32, 32, 3), 1/65535
    np.savez_compressed(out / "pipeline.npz", **arrays)
    (out / "pipeline_cases.json").write_text(json.dumps({
        "prompt": GOLDEN_PROMPT, "negative": GOLDEN_NEGATIVE, "seed": GOLDEN_SEED,
        "runs": GOLDEN_RUNS + [("lcm", "LCM", 4, 8.0, 1.0)]}, indent=1))


def build_all(out: Path) -> None:
    import torch

    torch.set_num_threads(1)
    for name in ("model", "model_lcm"):
        shutil.rmtree(out / name, ignore_errors=True)
    parts = export_model(out / "model", lcm=False)
    lcm_parts = export_model(out / "model_lcm", lcm=True)
    pipeline_goldens(out, parts, lcm_parts)
    tokenizer_goldens(out / "model" / "tokenizer", out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="tests/fixtures/tiny_sd")
    parser.add_argument("--only", choices=["schedulers", "model", "all", "bench"], default="all",
                        help="bench: only export the larger random 'bench' model to --out (for benchmarks/diffusion.py)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.only in ("schedulers", "all"):
        scheduler_goldens(out)
    if args.only == "bench":
        import torch

        torch.set_num_threads(1)
        export_model(out, lcm=False, preset="bench")
    if args.only in ("model", "all"):
        build_all(out)
