"""A Stable Diffusion model folder in the optimum ONNX layout, opened for inference.

    model_index.json
    text_encoder/model.onnx    input_ids (int32 or int64) -> last_hidden_state
    unet/model.onnx (+ model.onnx_data)   sample, timestep, encoder_hidden_states[, timestep_cond] -> out_sample
    vae_decoder/model.onnx     latent_sample -> sample
    vae_encoder/model.onnx     optional, for img2img
    tokenizer/                 vocab.json + merges.txt (CLIP BPE)
    scheduler/scheduler_config.json

Sessions come from a `get_session(path)` callable (the app passes `ctx.sessions.get`), so they are cached and
shared. `run()` casts every feed to the dtype the session declares (fp16 models take fp16 inputs).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from models.runtime.errors import ModelError

from .clip_tokenizer import ClipTokenizer
from .preview import LatentPreview, load_preview

REQUIRED = ("text_encoder", "unet", "vae_decoder")
DEFAULT_SCALING = 0.18215  # SD 1.x/2.x VAE latent scale, used when vae_decoder/config.json does not say
ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
             "tensor(int64)": np.int64, "tensor(int32)": np.int32}


def onnx_files(folder: Path) -> dict[str, Path]:
    """Submodel name -> model.onnx path for the parts present in `folder`."""
    found = {}
    for part in (*REQUIRED, "vae_encoder"):
        path = Path(folder) / part / "model.onnx"
        if path.is_file():
            found[part] = path
    return found


def read_json(path: Path, default=None):
    if not path.is_file():
        if default is not None:
            return default
        raise ModelError(f"Model folder is missing {path.parent.name}/{path.name}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON: {exc}") from None


@dataclass
class Port:
    """One declared ONNX input: name, numpy dtype and shape (ints or symbolic names)."""

    name: str
    dtype: type
    shape: list


def ports(session) -> dict[str, Port]:
    out = {}
    for item in session.get_inputs():
        out[item.name] = Port(item.name, ORT_TYPES.get(item.type, np.float32), list(item.shape or []))
    return out


def run(session, feeds: dict) -> np.ndarray:
    """First output of `session` on `feeds` cast to the declared input dtypes, returned as float32."""
    declared = ports(session)
    cast = {k: np.asarray(v).astype(declared[k].dtype, copy=False) for k, v in feeds.items() if k in declared}
    return np.asarray(session.run(None, cast)[0]).astype(np.float32, copy=False)


@dataclass
class SDModel:
    folder: Path
    name: str
    text_encoder: object
    unet: object
    vae_decoder: object
    tokenizer: ClipTokenizer
    scheduler_config: dict
    scaling: float
    latent_channels: int
    vae_scale: int  # image pixels per latent pixel (8 for SD, 4 for the bundled shapes model)
    preview: LatentPreview
    weight_bytes: int
    unet_inputs: dict = field(default_factory=dict)
    get_session: Callable | None = None

    @property
    def has_encoder(self) -> bool:
        return (self.folder / "vae_encoder" / "model.onnx").is_file()

    def vae_encoder(self):
        if not self.has_encoder:
            raise ModelError(f"Model '{self.name}' has no vae_encoder, so it cannot start from an image.")
        return self.get_session(self.folder / "vae_encoder" / "model.onnx")

    @property
    def lcm(self) -> bool:
        """LCM-distilled UNets take a guidance embedding instead of doing classifier-free guidance."""
        return "timestep_cond" in self.unet_inputs


def _dim(port: Port, axis: int):
    return port.shape[axis] if len(port.shape) > axis and isinstance(port.shape[axis], int) else None


def vae_scale_factor(vae_config: dict, params: dict) -> int:
    """Pixels per latent pixel: the manifest's params, else 2^(VAE levels - 1), else SD's 8."""
    if params.get("vae_scale_factor"):
        return int(params["vae_scale_factor"])
    levels = vae_config.get("block_out_channels")
    return 2 ** (len(levels) - 1) if isinstance(levels, list) and levels else 8


def open_model(folder: Path, get_session: Callable, name: str | None = None, params: dict | None = None) -> SDModel:
    """Check the layout, open the three required sessions and the tokenizer; ModelError on anything missing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"Diffusion model folder {folder} does not exist.")
    files = onnx_files(folder)
    missing = [p for p in REQUIRED if p not in files]
    if missing:
        raise ModelError(f"Model folder {folder.name} is missing {', '.join(m + '/model.onnx' for m in missing)}.")
    if not (folder / "tokenizer").is_dir():
        raise ModelError(f"Model folder {folder.name} is missing its tokenizer/ folder.")
    tokenizer = ClipTokenizer(folder / "tokenizer")
    scheduler_config = read_json(folder / "scheduler" / "scheduler_config.json")
    vae_config = read_json(folder / "vae_decoder" / "config.json", default={})
    sessions = {}
    for part in REQUIRED:
        try:
            sessions[part] = get_session(files[part])
        except ModelError:
            raise
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
            raise ModelError(f"{part}/model.onnx could not be loaded: {' '.join(str(exc).split())[:200]}") from None
    unet_in = ports(sessions["unet"])
    for needed in ("sample", "timestep", "encoder_hidden_states"):
        if needed not in unet_in:
            raise ModelError(f"unet/model.onnx has no '{needed}' input; is this an SD UNet export?")
    decoder_in = ports(sessions["vae_decoder"])
    if "latent_sample" not in decoder_in:
        raise ModelError("vae_decoder/model.onnx has no 'latent_sample' input.")
    unet_c, vae_c = _dim(unet_in["sample"], 1), _dim(decoder_in["latent_sample"], 1)
    if unet_c and vae_c and unet_c != vae_c:
        raise ModelError(f"The UNet works on {unet_c} latent channels but the VAE decoder expects {vae_c}.")
    channels = unet_c or vae_c or int(vae_config.get("latent_channels", 4))
    weight_bytes = sum(p.stat().st_size for p in folder.rglob("model.onnx*") if p.is_file())
    return SDModel(
        folder=folder, name=name or folder.name, text_encoder=sessions["text_encoder"], unet=sessions["unet"],
        vae_decoder=sessions["vae_decoder"], tokenizer=tokenizer, scheduler_config=scheduler_config,
        scaling=float((params or {}).get("scaling_factor") or vae_config.get("scaling_factor", DEFAULT_SCALING)),
        latent_channels=channels, vae_scale=vae_scale_factor(vae_config, params or {}),
        preview=load_preview(folder, channels), weight_bytes=weight_bytes, unet_inputs=unet_in,
        get_session=get_session,
    )
