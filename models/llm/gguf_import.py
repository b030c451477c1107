"""GGUF -> Genloom chat model folder (model.onnx + tokenizer files + genloom.json), without torch.

    convert_gguf("SmolLM2-135M-Instruct.Q4_1.gguf", "out/", precision="auto")

precision: "auto" keeps Q4_0/Q4_1 exact at 4 bits and Q8_0 exact at 8 bits (F16/F32/K-quants are
requantized to 8 bits); Q4_1 stays exact through a block-sum correction term (see gguf_graph).
"int4" is the fastest build: every linear layer, the head included, symmetric 4-bit without
correction ops (Q4_0 kept, everything else requantized by round-to-nearest; SmolLM2 Q4_1: perplexity
+1.8% against +0.2% for "auto"); "int8" puts every linear layer at 8 bits; "fp16"/"fp32" dequantize
(fp32 is the parity build).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

import onnx

from models.runtime.errors import BadInput, ModelError, StorageError
from models.runtime.registry import Manifest, write_manifest

from .gguf_graph import MAX_ROPE, build_graph
from .gguf_weights import field_value, open_gguf, read_config

PRECISIONS = ("auto", "fp32", "fp16", "int8", "int4")
EXTERNAL_OVER = 1_800_000_000  # bytes; protobuf cannot hold more than 2 GB
END_PIECES = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<|endoftext|>", "<end_of_turn>", "</s>")


def model_name(gguf_path) -> str:
    """'SmolLM2-135M-Instruct.Q4_1.gguf' -> 'smollm2-135m-instruct'."""
    stem = Path(gguf_path).name
    stem = re.sub(r"\.gguf$", "", stem, flags=re.I)
    stem = re.sub(r"[.\-_](?:[QqFf]\d[\w]*|BF16|IQ\d\w*)$", "", stem)
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem.lower()).strip("-.")
    return safe or "gguf-model"


def end_token_ids(tokens: list, eos: int | None, eot: int | None) -> list[int]:
    """The ids that end an assistant turn: eos, eot and the usual end-of-turn pieces present in the vocab."""
    ids = [i for i in (eos, eot) if i is not None and 0 <= i < len(tokens)]
    lookup = {str(t): i for i, t in enumerate(tokens) if str(t) in END_PIECES}
    ids += [lookup[p] for p in END_PIECES if p in lookup]
    return sorted(set(ids))


def convert_gguf(gguf_path, out_folder, precision: str = "auto",
                 on_progress: Callable[[int, int], None] | None = None, name: str | None = None) -> Manifest:
    """Convert a Llama-family GGUF into a Genloom chat model folder and return its manifest."""
    from .tokenizer import tokenizer_files_from_gguf

    if precision not in PRECISIONS:
        raise BadInput(f"Unknown precision '{precision}' (choose {', '.join(PRECISIONS)})")
    reader = open_gguf(gguf_path)
    cfg = read_config(reader)
    if cfg.n_heads % cfg.n_kv_heads or cfg.head_dim % 2:
        raise ModelError(f"Unsupported head layout: {cfg.n_heads} heads, {cfg.n_kv_heads} kv heads of {cfg.head_dim}")
    meta = {key: field_value(reader, key) for key in reader.fields if key.startswith("tokenizer.")}
    tok_files = tokenizer_files_from_gguf(meta)
    tensors = {t.name: t for t in reader.tensors}

    total = cfg.n_layers + 2
    report = (lambda done, _t: on_progress(done, total)) if on_progress else None
    model = build_graph(cfg, tensors, precision, report)
    out = Path(out_folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for file_name, data in tok_files.items():
            (out / file_name).write_bytes(data)
        save_model(model, out / "model.onnx")
    except OSError as exc:
        raise StorageError(f"Cannot write the model to {out}: {exc.strerror or exc}") from None
    if on_progress:
        on_progress(total, total)

    tokens = meta.get("tokenizer.ggml.tokens") or []
    eos = meta.get("tokenizer.ggml.eos_token_id")
    eot = meta.get("tokenizer.ggml.eot_token_id")
    bos = meta.get("tokenizer.ggml.bos_token_id")
    files = {"model": "model.onnx", "tokenizer_config": "tokenizer_config.json"}
    files["tokenizer"] = "tokenizer.json" if "tokenizer.json" in tok_files else "tokenizer.model"
    manifest = Manifest(
        kind="chat", name=name or model_name(gguf_path), files=files,
        io={"inputs": ["input_ids", "attention_mask", "position_ids", "past_key_values.{i}.key|value"],
            "outputs": ["logits", "present.{i}.key|value"], "kv_shared_buffer": True},
        license=_license(cfg.license), source=f"gguf:{Path(gguf_path).name} ({precision})",
        params={"n_layers": cfg.n_layers, "n_heads": cfg.n_heads, "n_kv_heads": cfg.n_kv_heads,
                "head_dim": cfg.head_dim, "vocab": cfg.vocab, "context": min(cfg.context, MAX_ROPE),
                "eos_token_ids": end_token_ids(tokens, _int(eos), _int(eot)), "bos": _int(bos),
                "add_bos": bool(meta.get("tokenizer.ggml.add_bos_token", False)),
                "chat_template": str(meta.get("tokenizer.chat_template") or ""),
                "precision": precision, "arch": cfg.arch, "default": True},
        folder=str(out.resolve()))
    write_manifest(out, manifest)
    return manifest


def save_model(model, path: Path) -> None:
    """model.onnx, with weights in model.onnx.data when the protobuf would pass 2 GB."""
    size = sum(len(t.raw_data) for t in model.graph.initializer)
    if size > EXTERNAL_OVER:
        onnx.save_model(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + ".data", size_threshold=1024)
    else:
        onnx.save_model(model, str(path))


def _int(value):
    return None if value is None else int(value)


def _license(text: str) -> str:
    known = {"apache-2.0": "Apache-2.0", "mit": "MIT", "llama2": "Llama-2", "llama3": "Llama-3"}
    return known.get(text.lower(), text or "unknown")
