"""A tiny random Llama/Qwen2 GGUF (every supported tensor type) and a numpy reference forward pass.

The weights are drawn in Hugging Face order; for "llama" the Q/K rows are permuted the way llama.cpp's
converter does, so the reference (rotate-half RoPE on unpermuted rows) checks the converter's handling
of that permutation. The reference reads back the GGUF's own quantized values (gguf.quants.dequantize).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

D, FF, HEADS, KV, LAYERS = 64, 128, 4, 2, 2
HD = D // HEADS
VOCAB = 96
EPS = 1e-5
BASE = 10000.0
TYPES = {  # tensor -> GGUF type name; covers F32, F16, Q8_0, Q4_0 and Q4_1
    "attn_q": "Q4_0", "attn_k": "Q4_1", "attn_v": "Q8_0", "attn_output": "F16",
    "ffn_gate": "Q4_1", "ffn_up": "Q4_0", "ffn_down": "Q8_0",
}


@dataclass
class Tiny:
    path: Path
    arch: str
    weights: dict  # GGUF name -> float32 array as stored (dequantized), HF row order for q/k


def permute_rows(w: np.ndarray, heads: int) -> np.ndarray:
    """llama.cpp's Q/K permutation: within each head, rows (first half, second half) are interleaved."""
    n, k = w.shape
    return w.reshape(heads, 2, n // heads // 2, k).swapaxes(1, 2).reshape(n, k)


def write_tiny_gguf(path: Path, arch: str = "llama", seed: int = 0, head_type: str = "Q8_0",
                    tied: bool = True, types: dict | None = None) -> Tiny:
    import gguf
    from gguf import GGMLQuantizationType as Q
    from gguf import quants

    types = {**TYPES, **(types or {})}
    rng = np.random.default_rng(seed)
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"tiny-{arch}")
    w.add_block_count(LAYERS)
    w.add_context_length(128)
    w.add_embedding_length(D)
    w.add_feed_forward_length(FF)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV)
    w.add_rope_dimension_count(HD)
    w.add_rope_freq_base(BASE)
    w.add_layer_norm_rms_eps(EPS)
    tokens = [f"<t{i}>" for i in range(VOCAB)]
    tokens[:3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([3, 3, 3] + [1] * (VOCAB - 3))
    w.add_token_merges([])
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                        "{% endfor %}")
    stored: dict[str, np.ndarray] = {}

    def put(name: str, array: np.ndarray, kind: str, heads: int = 0):
        """Quantize, store, and remember the dequantized values (un-permuted for q/k)."""
        array = array.astype(np.float32)
        if heads and arch == "llama":
            array = permute_rows(array, heads)
        qtype = Q[kind]
        if kind == "F32":
            data, back = array, array
        elif kind == "F16":
            data = array.astype(np.float16)
            back = data.astype(np.float32)
        else:
            data = quants.quantize(array, qtype)
            back = quants.dequantize(data, qtype).reshape(array.shape)
        w.add_tensor(name, data, raw_dtype=qtype if kind not in ("F32", "F16") else None)
        if heads and arch == "llama":  # undo: reference works in HF order
            back = back.reshape(heads, back.shape[0] // heads // 2, 2, -1).swapaxes(1, 2).reshape(back.shape)
        stored[name] = back

    def rand(*shape, scale=0.3):
        return rng.standard_normal(shape) * scale

    put("token_embd.weight", rand(VOCAB, D, scale=1.0), "Q8_0")
    for i in range(LAYERS):
        p = f"blk.{i}."
        put(p + "attn_norm.weight", 1.0 + rand(D, scale=0.1), "F32")
        put(p + "attn_q.weight", rand(D, D), types["attn_q"], HEADS)
        put(p + "attn_k.weight", rand(KV * HD, D), types["attn_k"], KV)
        put(p + "attn_v.weight", rand(KV * HD, D), types["attn_v"])
        if arch == "qwen2":
            for part, size in (("q", D), ("k", KV * HD), ("v", KV * HD)):
                put(p + f"attn_{part}.bias", rand(size, scale=0.1), "F32")
        put(p + "attn_output.weight", rand(D, D), types["attn_output"])
        put(p + "ffn_norm.weight", 1.0 + rand(D, scale=0.1), "F32")
        put(p + "ffn_gate.weight", rand(FF, D), types["ffn_gate"])
        put(p + "ffn_up.weight", rand(FF, D), types["ffn_up"])
        put(p + "ffn_down.weight", rand(D, FF), types["ffn_down"])
    put("output_norm.weight", 1.0 + rand(D, scale=0.1), "F32")
    if not tied:
        put("output.weight", rand(VOCAB, D), head_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return Tiny(Path(path), arch, stored)


def reference_logits(tiny: Tiny, ids: list[int]) -> np.ndarray:
    """Hugging Face-style Llama forward in numpy (rotate-half RoPE, GQA, SwiGLU): (S, V) logits."""
    wt = tiny.weights
    s = len(ids)
    x = wt["token_embd.weight"][ids]  # (S, D)
    inv = 1.0 / BASE ** (np.arange(0, HD, 2) / HD)
    ang = np.arange(s)[:, None] * inv[None]  # (S, HD/2)
    cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None]  # (S, 1, HD)
    sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None]

    def rms(v, g):
        return v / np.sqrt((v * v).mean(-1, keepdims=True) + EPS) * g

    def rope(t):  # (S, H, HD)
        half = np.concatenate([-t[..., HD // 2:], t[..., : HD // 2]], -1)
        return t * cos + half * sin

    mask = np.triu(np.full((s, s), -np.inf), 1)
    for i in range(LAYERS):
        p = f"blk.{i}."
        h = rms(x, wt[p + "attn_norm.weight"])
        q, k, v = (h @ wt[p + f"attn_{n}.weight"].T for n in "qkv")
        if tiny.arch == "qwen2":
            q, k, v = q + wt[p + "attn_q.bias"], k + wt[p + "attn_k.bias"], v + wt[p + "attn_v.bias"]
        q = rope(q.reshape(s, HEADS, HD))  # (S, H, HD)
        k = np.repeat(rope(k.reshape(s, KV, HD)), HEADS // KV, axis=1)
        v = np.repeat(v.reshape(s, KV, HD), HEADS // KV, axis=1)
        att = np.einsum("shd,thd->hst", q, k) / np.sqrt(HD) + mask  # (H, S, S)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        o = np.einsum("hst,thd->shd", att, v).reshape(s, D)
        x = x + o @ wt[p + "attn_output.weight"].T
        h = rms(x, wt[p + "ffn_norm.weight"])
        g = h @ wt[p + "ffn_gate.weight"].T
        u = h @ wt[p + "ffn_up.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ wt[p + "ffn_down.weight"].T
    head = wt.get("output.weight", wt["token_embd.weight"])
    return rms(x, wt["output_norm.weight"]) @ head.T  # (S, V)
