"""GGUF -> ONNX conversion against a numpy reference forward pass (tiny random models, no torch)."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from models.llm.gguf_graph import build_graph
from models.llm.gguf_import import convert_gguf, model_name
from models.llm.gguf_weights import open_gguf, read_config
from models.runtime.errors import BadInput, ModelError

from tests.llm.gguf_tiny import HD, KV, LAYERS, reference_logits, write_tiny_gguf

IDS = [5, 17, 33, 2, 90, 41, 7, 64, 12]
ALL_QUANT = {"attn_output": "Q8_0"}  # every linear in a native MatMulNBits type


def run_logits(model, ids=IDS) -> np.ndarray:
    """Full-sequence logits (S, V) from an in-memory ModelProto."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    n = len(ids)
    feeds = {"input_ids": np.array([ids]), "attention_mask": np.ones((1, n), np.int64),
             "position_ids": np.arange(n)[None]}
    for i in range(LAYERS):
        for part in ("key", "value"):
            feeds[f"past_key_values.{i}.{part}"] = np.zeros((1, KV, 0, HD), np.float32)  # (1, kv, 0, hd)
    return session.run(["logits"], feeds)[0][0]


def convert(tiny, precision, accuracy_level=0):
    reader = open_gguf(tiny.path)
    return build_graph(read_config(reader), {t.name: t for t in reader.tensors}, precision,
                       accuracy_level=accuracy_level)


def rel_err(out, ref) -> float:
    return float(np.abs(out - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("arch,tied", [("llama", True), ("qwen2", False)])
def test_fp32_build_matches_reference(tmp_path, arch, tied):
    tiny = write_tiny_gguf(tmp_path / "t.gguf", arch, tied=tied)
    ref = reference_logits(tiny, IDS)
    assert rel_err(run_logits(convert(tiny, "fp32")), ref) < 1e-5


@pytest.mark.parametrize("arch", ["llama", "qwen2"])
def test_native_quant_is_exact(tmp_path, arch):
    """Q4_0, Q4_1 (with its block-sum correction) and Q8_0 map exactly onto MatMulNBits."""
    tiny = write_tiny_gguf(tmp_path / "t.gguf", arch, types=ALL_QUANT, tied=arch == "llama")
    ref = reference_logits(tiny, IDS)
    assert rel_err(run_logits(convert(tiny, "auto")), ref) < 1e-5


def test_permutation_matters(tmp_path):
    """The reference is sensitive to the Q/K row order: reading llama rows as qwen2 (no permutation) fails."""
    tiny = write_tiny_gguf(tmp_path / "t.gguf", "llama")
    reader = open_gguf(tiny.path)
    cfg = read_config(reader)
    cfg.interleaved_rope = False
    model = build_graph(cfg, {t.name: t for t in reader.tensors}, "fp32")
    assert rel_err(run_logits(model), reference_logits(tiny, IDS)) > 1e-2


@pytest.mark.parametrize("precision,limit", [("fp16", 5e-3), ("int8", 5e-2), ("int4", 0.5)])
def test_other_precisions_stay_close(tmp_path, precision, limit):
    tiny = write_tiny_gguf(tmp_path / "t.gguf", "llama")
    out, ref = run_logits(convert(tiny, precision)), reference_logits(tiny, IDS)
    assert rel_err(out, ref) < limit
    assert rel_err(out, ref) > 0 or precision == "fp16"


def test_fast_build_close_to_reference(tmp_path):
    """accuracy_level 4 (int8 activations) stays near the exact result."""
    tiny = write_tiny_gguf(tmp_path / "t.gguf", "llama", types=ALL_QUANT)
    out, ref = run_logits(convert(tiny, "auto", accuracy_level=4)), reference_logits(tiny, IDS)
    assert rel_err(out, ref) < 8e-2
    assert (out.argmax(-1) == ref.argmax(-1)).mean() >= 0.8


def test_convert_writes_folder_manifest_and_tokenizer(tmp_path):
    from models.llm.tokenizer import load_tokenizer
    from models.runtime.registry import read_manifest

    tiny = write_tiny_gguf(tmp_path / "Tiny-Llama-Chat.Q4_1.gguf", "llama")
    calls = []
    manifest = convert_gguf(tiny.path, tmp_path / "out", on_progress=lambda d, t: calls.append((d, t)))
    assert manifest.name == "tiny-llama-chat"
    assert calls[-1][0] == calls[-1][1] and [d for d, _ in calls] == sorted(d for d, _ in calls)
    folder = tmp_path / "out"
    again = read_manifest(folder)
    assert again.kind == "chat" and again.files["model"] == "model.onnx"
    p = again.params
    assert (p["n_layers"], p["n_heads"], p["n_kv_heads"], p["head_dim"]) == (LAYERS, 4, KV, HD)
    assert p["eos_token_ids"] == [0, 2] and p["bos"] == 1 and p["default"] is True
    assert "<|im_start|>" in p["chat_template"]
    config = json.loads((folder / "tokenizer_config.json").read_text())
    assert config["eos_token"] == "<|im_end|>"
    tok = load_tokenizer(folder)
    assert tok.encode("<|im_start|>") == [1]
    ref = reference_logits(tiny, IDS)
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().custom_metadata_map["genloom.kv_shared_buffer"] == "1"
    assert [o.name for o in session.get_outputs()][:3] == ["logits", "present.0.key", "present.0.value"]
    n = len(IDS)
    feeds = {"input_ids": np.array([IDS]), "attention_mask": np.ones((1, n), np.int64),
             "position_ids": np.arange(n)[None]}
    feeds.update({i.name: np.zeros((1, KV, 0, HD), np.float32) for i in session.get_inputs()[3:]})
    out = session.run(["logits"], feeds)[0][0]
    assert (out.argmax(-1) == ref.argmax(-1)).mean() >= 0.8


def test_errors_are_one_line(tmp_path):
    tiny = write_tiny_gguf(tmp_path / "t.gguf", "llama")
    with pytest.raises(BadInput):
        convert_gguf(tiny.path, tmp_path / "o", precision="int3")
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(ModelError) as err:
        convert_gguf(bogus, tmp_path / "o2")
    assert "\n" not in str(err.value)
    with pytest.raises(ModelError):
        convert_gguf(tmp_path / "missing.gguf", tmp_path / "o3")


def test_unsupported_architecture(tmp_path):
    import gguf

    path = tmp_path / "phi.gguf"
    w = gguf.GGUFWriter(str(path), "phi2")
    w.add_block_count(1)
    w.add_tensor("token_embd.weight", np.zeros((32, 32), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(ModelError, match="architecture 'phi2' is not supported"):
        convert_gguf(path, tmp_path / "o")


def test_model_name_drops_quant_suffix():
    assert model_name("SmolLM2-135M-Instruct.Q4_1.gguf") == "smollm2-135m-instruct"
    assert model_name("tinyllama-1.1b-chat-v1.0.Q8_0.gguf") == "tinyllama-1.1b-chat-v1.0"
    assert model_name("qwen2-0_5b-instruct-f16.gguf") == "qwen2-0_5b-instruct"


def test_int4_build_drops_the_correction_ops(tmp_path):
    """"auto" keeps Q4_1 exact with block-sum MatMuls; "int4" requantizes it and has none."""
    tiny = write_tiny_gguf(tmp_path / "t.gguf", "llama", types={"attn_q": "Q4_1", "attn_k": "Q4_1",
                                                                "attn_v": "Q4_1", "attn_output": "Q4_1"})
    auto, int4 = convert(tiny, "auto"), convert(tiny, "int4")
    count = lambda model, op: sum(n.op_type == op for n in model.graph.node)  # noqa: E731
    assert count(auto, "MatMul") > 0 and count(int4, "MatMul") == 0
    assert count(int4, "MatMulNBits") == count(auto, "MatMulNBits")
    assert rel_err(run_logits(int4), reference_logits(tiny, IDS)) < 0.5


def test_quantize_maps_the_extreme_to_the_lowest_code():
    from models.llm.gguf_weights import quantize

    w = np.linspace(-1.0, 3.0, 64, dtype=np.float32).reshape(1, 64)
    q = quantize(w, 4)
    codes = np.stack([q.packed & 15, q.packed >> 4], -1).reshape(1, 2, 32).astype(np.float32)
    back = (q.scales[..., None] * (codes - 8)).reshape(1, 64)
    assert codes.min() == 0 and np.abs(back - w).max() <= np.abs(q.scales).max() / 2 + 1e-6
    q8 = quantize(w, 8)
    back8 = (q8.scales[..., None] * (q8.packed.reshape(1, 2, 32).astype(np.float32) - 128)).reshape(1, 64)
    assert np.abs(back8 - w).max() <= np.abs(q8.scales).max() / 2 + 1e-6 < 0.02
