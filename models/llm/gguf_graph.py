"""Builds the ONNX decoder graph for a Llama-family GGUF model with onnxruntime contrib ops.

I/O (optimum naming): input_ids (B, S) int64, attention_mask (B, T) int64, position_ids (B, S) int64,
past_key_values.{i}.key|value (B, n_kv, P, hd) float32 [, logits_to_keep (1,) int64, default 0 = all]
-> logits (B, S or logits_to_keep, V) float32, present.{i}.key|value.
GroupQueryAttention may share the past and present buffers (metadata genloom.kv_shared_buffer = "1").
Per block: SkipSimplifiedLayerNormalization -> fused QKV MatMulNBits -> GroupQueryAttention (rotary inside)
-> o_proj -> SkipSimplifiedLayerNormalization -> fused gate/up -> SiLU * up -> down.
Q4_1 blocks are exact: MatMulNBits computes d*(q-8); the block sums of the input (one MatMul with a 0/1
indicator) times (m + 8d) (a second small MatMul) are added, so each weight is d*q + m.
(MatMulNBits' float zero points would hold Q4_1 too, but onnxruntime 1.31/1.32 runs them ~20x slower.)
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from models.runtime.errors import ModelError

from .gguf_weights import BLOCK, GgufConfig, Quant, as_quant, auto_bits, dequantize, native_quant, type_name

MS = "com.microsoft"
MAX_ROPE = 32768  # rows of the cos/sin tables (and the context Genloom will use)


def plan_mode(tensor, precision: str):
    """How a linear weight is stored: "fp32", "fp16", 8 or 4 (MatMulNBits bits)."""
    if precision in ("fp32", "fp16"):
        return precision
    if int(tensor.shape[0]) % BLOCK:  # MatMulNBits blocks need K to be a multiple of 32
        return "fp32"
    if precision == "int8":
        return 8
    if precision == "int4":
        return 4
    return auto_bits(tensor)


class GraphBuilder:
    """Collects nodes and initializers; small helpers emit the common patterns."""

    def __init__(self, cfg: GgufConfig, accuracy_level: int = 4, keep_q4_1: bool = True):
        self.cfg = cfg
        self.keep_q4_1 = keep_q4_1  # False ("int4"): Q4_1 requantized symmetric, no correction ops
        self.accuracy_level = accuracy_level
        self.nodes: list = []
        self.inits: list = []
        self.count = 0
        self.block_sums: dict[str, str] = {}
        self.indicators: dict[int, str] = {}

    def name(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, array: np.ndarray, base: str) -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, kind: str, inputs: list[str], n_out: int = 1, domain: str = "", names=None, **attrs) -> list[str]:
        outs = list(names) if names else [self.name(kind.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(kind, inputs, outs, name=self.name(kind), domain=domain, **attrs))
        return outs

    # ---- linear layers -------------------------------------------------------------------------
    def linear(self, x: str, tensors: list, mode, base: str) -> str:
        """x (B, S, K) @ concat(tensors as (N_i, K))^T -> (B, S, sum N_i)."""
        if mode in ("fp32", "fp16"):
            w = np.concatenate([dequantize(t) for t in tensors], axis=0).T  # (K, N)
            dtype = np.float32 if mode == "fp32" else np.float16
            wname = self.const(w.astype(dtype), base + ".w")
            if mode == "fp16":
                wname = self.op("Cast", [wname], to=TensorProto.FLOAT)[0]
            return self.op("MatMul", [x, wname])[0]
        quants = [as_quant(t, mode, self.keep_q4_1) for t in tensors]
        return self.nbits(x, merge(quants), base)

    def nbits(self, x: str, q: Quant, base: str) -> str:
        b = self.const(q.packed, base + ".q")
        s = self.const(q.scales.reshape(-1).astype(np.float32), base + ".scales")
        y = self.op("MatMulNBits", [x, b, s], domain=MS, K=q.k, N=q.n, bits=q.bits, block_size=BLOCK,
                    accuracy_level=self.accuracy_level)[0]
        if q.offsets is None:
            return y
        offsets = self.const(np.ascontiguousarray(q.offsets.T.astype(np.float32)), base + ".offsets")  # (nb, N)
        corr = self.op("MatMul", [self.block_sum(x, q.k), offsets])[0]  # (B, S, N)
        return self.op("Add", [y, corr])[0]

    def block_sum(self, x: str, k: int) -> str:
        """Sums of x over each block of 32 input features, (B, S, K) -> (B, S, K/32), as one MatMul
        with a 0/1 block indicator (cheaper to dispatch than Reshape + ReduceSum)."""
        if x not in self.block_sums:
            if k not in self.indicators:
                ones = np.kron(np.eye(k // BLOCK, dtype=np.float32), np.ones((BLOCK, 1), np.float32))  # (K, K/32)
                self.indicators[k] = self.const(ones, "block_indicator")
            self.block_sums[x] = self.op("MatMul", [x, self.indicators[k]])[0]
        return self.block_sums[x]

    # ---- embedding ----------------------------------------------------------------------------
    def embedding(self, ids: str, tensor, precision: str) -> str:
        if precision in ("fp32", "fp16") or int(tensor.shape[0]) % BLOCK:
            table = dequantize(tensor)  # (V, D)
            dtype = np.float16 if precision == "fp16" else np.float32
            out = self.op("Gather", [self.const(table.astype(dtype), "embed"), ids], axis=0)[0]
            return out if dtype == np.float32 else self.op("Cast", [out], to=TensorProto.FLOAT)[0]
        q = native_quant(tensor) if type_name(tensor) == "Q8_0" else as_quant(tensor, 8)
        data = self.const(q.packed.reshape(q.n, q.k), "embed.q")  # (V, D) uint8, zero point 128
        scales = self.const(q.scales.astype(np.float32), "embed.scales")  # (V, D/32)
        return self.op("GatherBlockQuantized", [data, ids, scales], domain=MS, bits=8, block_size=BLOCK,
                       gather_axis=0, quantize_axis=1)[0]


def merge(quants: list[Quant]) -> Quant:
    """Stack several quantized weights along N (fused QKV, gate/up)."""
    if len(quants) == 1:
        return quants[0]
    bits = {q.bits for q in quants}
    if len(bits) != 1:
        raise ModelError("Fused weights with different bit widths")
    offsets = None
    if any(q.offsets is not None for q in quants):
        offsets = np.concatenate([q.offsets if q.offsets is not None else np.zeros_like(q.scales)
                                  for q in quants], axis=0)
    return Quant(bits.pop(), sum(q.n for q in quants), quants[0].k,
                 np.concatenate([q.packed for q in quants], axis=0),
                 np.concatenate([q.scales for q in quants], axis=0), offsets)


def fused_linear(g: GraphBuilder, x: str, tensors: list, precision: str, base: str) -> str:
    """One fused linear when all weights share a storage mode, else one per weight joined by Concat
    (so mixed-type files such as Q4_K_M keep every tensor exact)."""
    modes = [plan_mode(t, precision) for t in tensors]
    if all(m == modes[0] for m in modes):
        return g.linear(x, tensors, modes[0], base)
    parts = [g.linear(x, [t], m, f"{base}.{j}") for j, (t, m) in enumerate(zip(tensors, modes))]
    return g.op("Concat", parts, axis=-1)[0]


def rope_tables(cfg: GgufConfig) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin tables (positions, head_dim/2) for the rotary embedding."""
    half = cfg.head_dim // 2
    inv = 1.0 / (cfg.rope_base ** (np.arange(0, half, dtype=np.float64) * 2.0 / cfg.head_dim))
    if cfg.rope_freqs is not None and cfg.rope_freqs.size == half:
        inv = inv / cfg.rope_freqs.astype(np.float64)
    angles = np.arange(min(cfg.context, MAX_ROPE), dtype=np.float64)[:, None] * inv[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def build_graph(cfg: GgufConfig, tensors: dict, precision: str = "auto",
                on_progress: Callable[[int, int], None] | None = None, accuracy_level: int = 4):
    """The ONNX ModelProto for the model; `tensors` maps GGUF names to ReaderTensors.
    accuracy_level 4 lets MatMulNBits quantize activations to int8 (fast); 0 keeps them float (exact)."""
    def get(name):
        if name not in tensors:
            raise ModelError(f"The GGUF file has no tensor {name}")
        return tensors[name]

    g = GraphBuilder(cfg, accuracy_level, keep_q4_1=precision != "int4")
    kv, hd = cfg.n_kv_heads, cfg.head_dim
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "total"]),
              helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch", "seq"])]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "kept", cfg.vocab])]
    for i in range(cfg.n_layers):
        for part in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(f"past_key_values.{i}.{part}", TensorProto.FLOAT,
                                                        ["batch", kv, "past", hd]))
            outputs.append(helper.make_tensor_value_info(f"present.{i}.{part}", TensorProto.FLOAT,
                                                         ["batch", kv, "present", hd]))

    # seqlens_k = tokens seen - 1 (B,) int32; total_sequence_length = T, int32 scalar
    one = g.const(np.array([1], np.int64), "one")
    seen = g.op("ReduceSum", ["attention_mask", one], keepdims=0)[0]  # (B,)
    seqlens = g.op("Cast", [g.op("Sub", [seen, one])[0]], to=TensorProto.INT32)[0]
    mask_shape = g.op("Shape", ["attention_mask"])[0]
    total = g.op("Gather", [mask_shape, g.const(np.array(1, np.int64), "idx")], axis=0)[0]
    total = g.op("Cast", [total], to=TensorProto.INT32)[0]
    cos, sin = rope_tables(cfg)
    cos, sin = g.const(cos, "cos_cache"), g.const(sin, "sin_cache")

    hidden = g.embedding("input_ids", get("token_embd.weight"), precision)  # (B, S, D)
    residual, pending = hidden, None
    steps = cfg.n_layers + 1
    for i in range(cfg.n_layers):
        p = f"blk.{i}."
        x, residual = norm(g, residual, pending, get(p + "attn_norm.weight"), cfg.rms_eps)
        qkv_t = [get(p + "attn_q.weight"), get(p + "attn_k.weight"), get(p + "attn_v.weight")]
        qkv = fused_linear(g, x, qkv_t, precision, f"l{i}.qkv")  # (B, S, (nh + 2 kv) hd)
        biases = [tensors.get(p + f"attn_{w}.bias") for w in "qkv"]
        if all(b is not None for b in biases):
            qkv = g.op("Add", [qkv, g.const(np.concatenate([dequantize(b) for b in biases]), "qkv_bias")])[0]
        attn, pk, pv = g.op("GroupQueryAttention",
                            [qkv, "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value",
                             seqlens, total, cos, sin, "position_ids"], n_out=3, domain=MS,
                            num_heads=cfg.n_heads, kv_num_heads=kv, do_rotary=1,
                            rotary_interleaved=int(cfg.interleaved_rope),
                            names=[g.name("attn"), f"present.{i}.key", f"present.{i}.value"])  # (B, S, nh hd)
        o_t = [get(p + "attn_output.weight")]
        attn_out = fused_linear(g, attn, o_t, precision, f"l{i}.o")  # (B, S, D)
        x, residual = norm(g, residual, attn_out, get(p + "ffn_norm.weight"), cfg.rms_eps)
        gu_t = [get(p + "ffn_gate.weight"), get(p + "ffn_up.weight")]
        gate_up = fused_linear(g, x, gu_t, precision, f"l{i}.gate_up")  # (B, S, 2F)
        gate, up = g.op("Split", [gate_up, g.const(np.array([cfg.ffn, cfg.ffn], np.int64), "split")],
                        n_out=2, axis=-1)
        act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])[0]])[0], up])[0]  # SiLU(gate) * up
        d_t = [get(p + "ffn_down.weight")]
        pending = fused_linear(g, act, d_t, precision, f"l{i}.down")  # (B, S, D)
        if on_progress:
            on_progress(i + 1, steps)
    x, _ = norm(g, residual, pending, get("output_norm.weight"), cfg.rms_eps)
    # logits_to_keep (1,) int64, default 0 = every position; 1 = only the last (a prompt's first token)
    inputs.append(helper.make_tensor_value_info("logits_to_keep", TensorProto.INT64, [1]))
    g.inits.append(numpy_helper.from_array(np.array([0], np.int64), "logits_to_keep"))
    start = g.op("Neg", ["logits_to_keep"])[0]
    end = g.const(np.array([np.iinfo(np.int64).max], np.int64), "end")
    x = g.op("Slice", [x, start, end, g.const(np.array([1], np.int64), "axis")])[0]  # (B, S', D)
    head = tensors["output.weight"] if "output.weight" in tensors else get("token_embd.weight")
    logits = fused_linear(g, x, [head], precision, "lm_head")  # (B, S, V)
    g.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="logits_out"))

    graph = helper.make_graph(g.nodes, "genloom_llama", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)],
                              producer_name="genloom-gguf")
    model.ir_version = 10
    helper.set_model_props(model, {"genloom.kv_shared_buffer": "1", "genloom.source": "gguf"})
    if on_progress:
        on_progress(steps, steps)
    return model


def norm(g: GraphBuilder, residual: str, pending: str | None, weight, eps: float) -> tuple[str, str]:
    """RMSNorm of residual + pending; returns (normed, new residual)."""
    gamma = g.const(dequantize(weight).reshape(-1), "norm")
    if pending is None:
        return g.op("SimplifiedLayerNormalization", [residual, gamma], axis=-1, epsilon=eps)[0], residual
    out = [g.name("normed"), "", "", g.name("residual")]
    g.op("SkipSimplifiedLayerNormalization", [pending, residual, gamma], domain=MS, names=out, epsilon=eps)
    return out[0], out[3]
