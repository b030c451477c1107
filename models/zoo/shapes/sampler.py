"""A small numpy DDIM sampler over an optimum-layout ONNX SD folder (torch-free).

Used by the recipe's scorer to test the exported files; the app uses
models/diffusion/pipeline.py instead.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import tokenizer

_DTYPES = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32,
           "tensor(float16)": np.float16}


@dataclass
class SampleConfig:
    steps: int = 25
    guidance: float = 5.0
    seed: int = 0


class OnnxSD:
    """Loads text_encoder, unet, vae_decoder and the tokenizer from a model folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        mk = lambda part: ort.InferenceSession(str(self.folder / part / "model.onnx"), opts,
                                               providers=["CPUExecutionProvider"])
        self.text, self.unet, self.decoder = mk("text_encoder"), mk("unet"), mk("vae_decoder")
        self.tok = tokenizer.load(self.folder / "tokenizer")
        sched = json.loads((self.folder / "scheduler" / "scheduler_config.json").read_text())
        betas = np.linspace(sched["beta_start"], sched["beta_end"], sched["num_train_timesteps"])
        if sched["beta_schedule"] == "scaled_linear":
            betas = np.linspace(sched["beta_start"] ** 0.5, sched["beta_end"] ** 0.5,
                                sched["num_train_timesteps"]) ** 2
        self.ac = np.cumprod(1.0 - betas)
        params = json.loads((self.folder / "genloom.json").read_text())["params"]
        self.scale = float(params["scaling_factor"])
        self.channels = int(params["latent_channels"])
        self.down = int(params["vae_scale_factor"])
        self.size = (int(params["height"]), int(params["width"]))

    @staticmethod
    def _run(sess: ort.InferenceSession, feeds: dict) -> list[np.ndarray]:
        cast = {i.name: np.asarray(feeds[i.name]).astype(_DTYPES[i.type]) for i in sess.get_inputs()}
        return sess.run(None, cast)

    def encode_text(self, prompts: list[str]) -> np.ndarray:
        ids = tokenizer.encode(self.tok, prompts)  # (N, 77)
        return self._run(self.text, {"input_ids": ids})[0]  # (N, 77, D)

    def generate(self, prompts: list[str], cfg: SampleConfig = SampleConfig()) -> np.ndarray:
        """Images (N, H, W, 3) uint8 with DDIM (eta 0, trailing spacing) and batched CFG."""
        n = len(prompts)
        cond = self.encode_text(prompts)
        uncond = np.repeat(self.encode_text([""]), n, axis=0)
        ctx = np.concatenate([uncond, cond])  # (2N, 77, D)
        h, w = self.size[0] // self.down, self.size[1] // self.down
        rng = np.random.default_rng(cfg.seed)
        x = rng.standard_normal((n, self.channels, h, w)).astype(np.float32)
        total = len(self.ac)
        ts = np.round(np.arange(total, 0, -total / cfg.steps)).astype(np.int64) - 1  # trailing
        for i, t in enumerate(ts):
            feeds = {"sample": np.concatenate([x, x]), "timestep": np.full((2 * n,), t),
                     "encoder_hidden_states": ctx}
            eu, ec = np.split(self._run(self.unet, feeds)[0], 2)
            eps = eu + cfg.guidance * (ec - eu)  # (N, C, h, w)
            a = self.ac[t]
            a_prev = self.ac[ts[i + 1]] if i + 1 < len(ts) else 1.0
            x0 = (x - np.sqrt(1 - a) * eps) / np.sqrt(a)
            x = (np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps).astype(np.float32)
        img = self._run(self.decoder, {"latent_sample": x / self.scale})[0]  # (N, 3, H, W)
        img = np.clip((img.transpose(0, 2, 3, 1) + 1) * 127.5, 0, 255)
        return img.round().astype(np.uint8)
