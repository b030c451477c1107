"""Finding the decoder graph, its weights, tokenizer files and config in the folders users bring.

Layouts:
- Genloom: `genloom.json` (kind "chat").
- onnxruntime-genai: `genai_config.json` names the decoder file and gives the shape and eos ids.
- optimum: `model.onnx` or `decoder_model_merged.onnx` (+ `.onnx_data`) next to `config.json`.
- onnx-community: `onnx/model_q4.onnx`, `onnx/model_int8.onnx`, ... with `config.json` at the root.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from models.runtime.errors import ModelError

# CPU preference among onnx-community variants: 4-bit first, fp16 last (slow on CPU)
VARIANTS = ("model_q4.onnx", "model_int4.onnx", "model_int8.onnx", "model_quantized.onnx", "model_uint8.onnx",
            "model.onnx", "model_bnb4.onnx", "model_q4f16.onnx", "model_fp16.onnx")
OPTIMUM = ("model.onnx", "decoder_model_merged.onnx", "model_quantized.onnx")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
                   "generation_config.json", "chat_template.jinja", "config.json", "genai_config.json")


@dataclass
class DecoderFiles:
    """What an imported chat model needs, as paths inside `root`."""

    layout: str  # "genloom", "genai", "optimum" or "onnx-community"
    root: Path
    model: Path
    data: list[Path] = field(default_factory=list)  # external weight files beside the model
    support: list[Path] = field(default_factory=list)  # tokenizer and config files
    params: dict = field(default_factory=dict)  # n_layers, n_heads, n_kv_heads, head_dim, context, eos ids, bos
    shared_buffer: bool | None = None


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path.name} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path.name} is not a JSON object")
    return data


def _ids(value) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in (value if isinstance(value, list) else [value])]


def data_files(model: Path) -> list[Path]:
    """External-data files that belong to `model` (model.onnx_data, model.onnx.data, model.onnx_data_1...)."""
    return sorted(p for p in model.parent.iterdir()
                  if p.is_file() and p != model and p.name.startswith(model.name) and "data" in p.name[len(model.name):])


def params_from_config(config: dict, generation: dict | None = None) -> dict:
    """Shape and special ids from a Hugging Face config.json (+ generation_config.json)."""
    cfg = config.get("text_config", config)
    heads = cfg.get("num_attention_heads")
    layers = cfg.get("num_hidden_layers")
    if not heads or not layers:
        raise ModelError("config.json lacks num_attention_heads or num_hidden_layers")
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    eos = _ids(cfg.get("eos_token_id")) + _ids((generation or {}).get("eos_token_id"))
    return {"n_layers": int(layers), "n_heads": int(heads), "n_kv_heads": int(cfg.get("num_key_value_heads") or heads),
            "head_dim": int(head_dim), "context": int(cfg.get("max_position_embeddings") or 2048),
            "eos_token_ids": sorted(set(eos)), "bos": cfg.get("bos_token_id")}


def _support(root: Path, *extra: Path) -> list[Path]:
    found = []
    for folder in (root, *extra):
        found += [folder / n for n in TOKENIZER_FILES if (folder / n).is_file() and n not in {p.name for p in found}]
    return found


def find_decoder(folder) -> DecoderFiles:
    """Recognise the layout of a decoder folder; ModelError with one line when it is none of them."""
    root = Path(folder)
    if root.is_file() and root.suffix == ".onnx":
        root = root.parent.parent if root.parent.name == "onnx" else root.parent
    if not root.is_dir():
        raise ModelError(f"{root} is not a folder")
    if (root / "genloom.json").is_file():
        manifest = _json(root / "genloom.json")
        model = root / manifest.get("files", {}).get("model", "model.onnx")
        if not model.is_file():
            raise ModelError(f"{root.name}: genloom.json names a missing model file")
        return DecoderFiles("genloom", root, model, data_files(model), _support(root), dict(manifest.get("params", {})),
                            manifest.get("io", {}).get("kv_shared_buffer"))
    if (root / "genai_config.json").is_file():
        return _genai(root)
    generation = _json(root / "generation_config.json") if (root / "generation_config.json").is_file() else None
    for name in OPTIMUM:
        if (root / name).is_file():
            return _hf("optimum", root, root / name, generation)
    if (root / "onnx").is_dir():
        for name in VARIANTS:
            if (root / "onnx" / name).is_file():
                return _hf("onnx-community", root, root / "onnx" / name, generation)
    raise ModelError(f"No decoder found in {root.name}: expected genai_config.json, model.onnx or onnx/model*.onnx")


def _hf(layout: str, root: Path, model: Path, generation) -> DecoderFiles:
    if not (root / "config.json").is_file():
        raise ModelError(f"{root.name} has {model.name} but no config.json")
    params = params_from_config(_json(root / "config.json"), generation)
    return DecoderFiles(layout, root, model, data_files(model), _support(root), params)


def _genai(root: Path) -> DecoderFiles:
    config = _json(root / "genai_config.json")
    model_cfg = config.get("model", {})
    dec = model_cfg.get("decoder", {})
    model = root / dec.get("filename", "model.onnx")
    if not model.is_file():
        raise ModelError(f"genai_config.json names {model.name}, which is missing")
    try:
        params = {"n_layers": int(dec["num_hidden_layers"]), "n_heads": int(dec["num_attention_heads"]),
                  "n_kv_heads": int(dec.get("num_key_value_heads") or dec["num_attention_heads"]),
                  "head_dim": int(dec.get("head_size") or dec["hidden_size"] // dec["num_attention_heads"]),
                  "context": int(model_cfg.get("context_length") or 2048),
                  "eos_token_ids": sorted(set(_ids(model_cfg.get("eos_token_id")))),
                  "bos": model_cfg.get("bos_token_id")}
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"genai_config.json lacks decoder shape fields ({exc})") from None
    shared = config.get("search", {}).get("past_present_share_buffer")
    return DecoderFiles("genai", root, model, data_files(model), _support(root), params, shared)
