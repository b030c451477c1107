"""Reading a Llama-family GGUF file: its config and its tensors, as float arrays or as MatMulNBits blocks.

GGUF stores a linear weight of shape (N out, K in) as N rows of K values; quantized rows are blocks of 32:
- Q4_0 (18 bytes): f16 d, 16 bytes of nibbles; x = d * (q - 8).
- Q4_1 (20 bytes): f16 d, f16 m, 16 bytes of nibbles; x = d * q + m.
- Q8_0 (34 bytes): f16 d, 32 int8; x = d * q.
In a 4-bit block, byte j holds element j (low nibble) and element j + 16 (high nibble).
onnxruntime's MatMulNBits wants (N, K/32, 16) bytes with element 2i in the low and 2i+1 in the high nibble.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from models.runtime.errors import ModelError

BLOCK = 32
ARCHS = ("llama", "mistral", "qwen2")  # smollm and tinyllama files say "llama"
NATIVE = ("F32", "F16", "Q8_0", "Q4_0", "Q4_1")


@dataclass
class GgufConfig:
    """What the graph builder needs to know about the model."""

    arch: str
    n_layers: int
    hidden: int
    ffn: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    vocab: int
    context: int
    rope_base: float
    rms_eps: float
    interleaved_rope: bool  # llama.cpp permuted Q/K rows for pairwise (GPT-J style) rotation
    name: str = ""
    license: str = ""
    rope_freqs: np.ndarray | None = field(default=None, repr=False)


@dataclass
class Quant:
    """A linear weight as MatMulNBits data. Per block: W = scales * (q - 8 or 128) (+ offsets for Q4_1)."""

    bits: int
    n: int
    k: int
    packed: np.ndarray  # (N, K/32, 32*bits/8) uint8
    scales: np.ndarray  # (N, K/32) float32
    offsets: np.ndarray | None = None  # (N, K/32) float32, Q4_1's block minimum (+ 8 d), else None


def open_gguf(path):
    """A GGUFReader for `path`, or ModelError with one line."""
    import gguf

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"No such GGUF file: {path}")
    try:
        return gguf.GGUFReader(str(path))
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise ModelError(f"Cannot read GGUF {path.name}: {exc}") from None


def field_value(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    try:
        return f.contents()
    except (ValueError, IndexError):
        return default


def read_config(reader) -> GgufConfig:
    arch = field_value(reader, "general.architecture")
    if arch not in ARCHS:
        raise ModelError(f"GGUF architecture '{arch}' is not supported (supported: {', '.join(ARCHS)})")

    def need(key):
        value = field_value(reader, f"{arch}.{key}")
        if value is None:
            raise ModelError(f"The GGUF file lacks '{arch}.{key}'")
        return value

    hidden, heads = int(need("embedding_length")), int(need("attention.head_count"))
    kv = field_value(reader, f"{arch}.attention.head_count_kv", heads)
    tensors = {t.name: t for t in reader.tensors}
    if "token_embd.weight" not in tensors:
        raise ModelError("The GGUF file has no token_embd.weight tensor")
    vocab = int(tensors["token_embd.weight"].shape[1])
    freqs = tensors.get("rope_freqs.weight")
    head_dim = int(field_value(reader, f"{arch}.attention.key_length", hidden // heads))
    rope_dims = int(field_value(reader, f"{arch}.rope.dimension_count", head_dim))
    if rope_dims != head_dim:
        raise ModelError(f"Partial rotary embeddings ({rope_dims} of {head_dim} dims) are not supported")
    return GgufConfig(
        arch=arch, n_layers=int(need("block_count")), hidden=hidden, ffn=int(need("feed_forward_length")),
        n_heads=heads, n_kv_heads=int(kv), head_dim=head_dim,
        vocab=vocab, context=int(field_value(reader, f"{arch}.context_length", 4096)),
        rope_base=float(field_value(reader, f"{arch}.rope.freq_base", 10000.0)),
        rms_eps=float(field_value(reader, f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)),
        interleaved_rope=arch != "qwen2",
        name=str(field_value(reader, "general.name", "") or ""),
        license=str(field_value(reader, "general.license", "") or ""),
        rope_freqs=None if freqs is None else np.asarray(freqs.data, np.float32).reshape(-1),
    )


def type_name(tensor) -> str:
    return tensor.tensor_type.name


def dequantize(tensor) -> np.ndarray:
    """Any GGUF tensor as float32, in (rows, cols) = (N, K) order for matrices."""
    from gguf import quants

    kind = type_name(tensor)
    if kind == "F32":
        out = np.asarray(tensor.data, np.float32)
    elif kind == "F16":
        out = np.asarray(tensor.data).view(np.float16).astype(np.float32)
    else:
        try:
            out = quants.dequantize(np.asarray(tensor.data), tensor.tensor_type)
        except (NotImplementedError, KeyError, ValueError) as exc:
            raise ModelError(f"GGUF tensor {tensor.name} uses {kind}, which cannot be read: {exc}") from None
    shape = tuple(int(s) for s in reversed(tensor.shape))  # GGUF lists the innermost axis first
    return out.reshape(shape).astype(np.float32, copy=False)


def _blocks(tensor, size: int) -> np.ndarray:
    """Raw bytes as (N, K/32, block bytes)."""
    n, k = int(tensor.shape[1]), int(tensor.shape[0])
    return np.ascontiguousarray(np.asarray(tensor.data, np.uint8).reshape(n, k // BLOCK, size))


def _f16(raw: np.ndarray) -> np.ndarray:
    """Two bytes at the end axis -> float32."""
    return np.ascontiguousarray(raw).view(np.float16)[..., 0].astype(np.float32)


def _pack_pairs(q: np.ndarray) -> np.ndarray:
    """(..., 32) nibbles 0..15 -> (..., 16) bytes, element 2i low, 2i+1 high."""
    return (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)


def native_quant(tensor) -> Quant:
    """Exact MatMulNBits data for a Q4_0, Q4_1 or Q8_0 tensor."""
    kind = type_name(tensor)
    n, k = int(tensor.shape[1]), int(tensor.shape[0])
    if kind == "Q8_0":
        raw = _blocks(tensor, 34)
        q = raw[..., 2:].view(np.int8).astype(np.int16) + 128  # uint8 with zero point 128
        return Quant(8, n, k, q.astype(np.uint8), _f16(raw[..., :2]))
    if kind in ("Q4_0", "Q4_1"):
        size = 18 if kind == "Q4_0" else 20
        raw = _blocks(tensor, size)
        nib = raw[..., size - 16:]  # (N, nb, 16)
        q = np.concatenate([nib & 0x0F, nib >> 4], axis=-1)  # (N, nb, 32) in element order
        d = _f16(raw[..., 0:2])
        offsets = None
        if kind == "Q4_1":  # d*q + m == d*(q - 8) + (m + 8d)
            offsets = _f16(raw[..., 2:4]) + 8.0 * d
        return Quant(4, n, k, _pack_pairs(q), d, offsets)
    raise ModelError(f"GGUF tensor {tensor.name} has type {kind}, which has no exact MatMulNBits form")


def quantize(w: np.ndarray, bits: int) -> Quant:
    """Symmetric block-32 round-to-nearest quantization of a float (N, K) matrix (K a multiple of 32).
    The scale maps each block's largest-magnitude value to the code -2^(bits-1) exactly (sign included),
    which uses the whole asymmetric code range [-8, 7] / [-128, 127]."""
    n, k = w.shape
    blocks = w.reshape(n, k // BLOCK, BLOCK)  # (N, nb, 32)
    at = np.abs(blocks).argmax(axis=-1)[..., None]
    extreme = np.take_along_axis(blocks, at, axis=-1)[..., 0]  # signed value of largest magnitude
    low = -(1 << (bits - 1))
    d = (extreme / low).astype(np.float32)
    safe = np.where(d == 0, 1.0, d)
    q = np.clip(np.rint(blocks / safe[..., None]), low, -low - 1).astype(np.int16)
    if bits == 8:
        return Quant(8, n, k, (q + 128).astype(np.uint8), d)
    return Quant(4, n, k, _pack_pairs((q + 8).astype(np.uint8)), d)


def as_quant(tensor, bits: int, keep_q4_1: bool = True) -> Quant:
    """The tensor at `bits`: kept as stored when the GGUF type already is that width (Q4_1 only when
    keep_q4_1, since its exact form needs a correction term), requantized otherwise."""
    kind = type_name(tensor)
    native4 = ("Q4_0", "Q4_1") if keep_q4_1 else ("Q4_0",)
    if (bits == 4 and kind in native4) or (bits == 8 and kind == "Q8_0"):
        return native_quant(tensor)
    return quantize(dequantize(tensor), bits)


def auto_bits(tensor) -> int:
    """The MatMulNBits width for "auto": Q4_0/Q4_1 stay exact at 4 bits; everything else (Q8_0 exactly,
    F16/F32/K-quants requantized) goes to 8 bits, which is close to lossless."""
    return 4 if type_name(tensor) in ("Q4_0", "Q4_1") else 8
