"""A tiny random Llama chat model for tests: a GGUF written with gguf.GGUFWriter (SmolLM2's real
tokenizer and chat template, 2 blocks of width 64, a 256-token context), converted by convert_gguf."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"
NAME = "tiny-chat"
CONTEXT = 256
TEMPLATE = json.loads((FIXTURES / "smollm2_tokenizer_config.json").read_text(encoding="utf-8"))["chat_template"]


def write_gguf(path: Path, seed: int = 0) -> Path:
    import gguf

    spec = json.loads(gzip.decompress((FIXTURES / "smollm2_tokenizer.json.gz").read_bytes()))
    vocab = spec["model"]["vocab"]
    tokens = [""] * len(vocab)
    for piece, index in vocab.items():
        tokens[index] = piece
    special = {t["id"] for t in spec["added_tokens"] if t.get("special")}
    types = [3 if i in special else 1 for i in range(len(tokens))]
    merges = [" ".join(m) if isinstance(m, list) else m for m in spec["model"]["merges"]]

    d, ff, heads, kv, layers = 64, 128, 4, 2, 2
    hd = d // heads
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_name("tiny-chat")
    writer.add_block_count(layers)
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(d)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv)
    writer.add_rope_dimension_count(hd)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_add_bos_token(False)
    writer.add_chat_template(TEMPLATE)

    rng = np.random.default_rng(seed)

    def weight(*shape, scale=0.2):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    writer.add_tensor("token_embd.weight", weight(len(tokens), d, scale=0.1))  # (V, D), flat logits
    for i in range(layers):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", np.ones(d, np.float32))
        writer.add_tensor(p + "attn_q.weight", weight(d, d))
        writer.add_tensor(p + "attn_k.weight", weight(kv * hd, d))
        writer.add_tensor(p + "attn_v.weight", weight(kv * hd, d))
        writer.add_tensor(p + "attn_output.weight", weight(d, d))
        writer.add_tensor(p + "ffn_norm.weight", np.ones(d, np.float32))
        writer.add_tensor(p + "ffn_gate.weight", weight(ff, d))
        writer.add_tensor(p + "ffn_up.weight", weight(ff, d))
        writer.add_tensor(p + "ffn_down.weight", weight(d, ff))
    writer.add_tensor("output_norm.weight", np.ones(d, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def build(folder: Path, work: Path) -> Path:
    """Write the GGUF into `work` and convert it into `folder` (a registry model named tiny-chat)."""
    from models.llm.gguf_import import convert_gguf

    folder = Path(folder)
    Path(work).mkdir(parents=True, exist_ok=True)
    source = write_gguf(Path(work) / "tiny-chat.gguf")
    convert_gguf(source, folder, precision="fp32", name=NAME)
    return folder
