"""Importing chat models into the registry: a GGUF file and the ONNX folder layouts users bring."""
from __future__ import annotations

import json
import shutil

import onnxruntime as ort
import pytest

from models.llm.decoder import Decoder
from models.llm.importer import import_model
from models.llm.layouts import find_decoder
from models.runtime.errors import BadInput, ModelError
from models.runtime.registry import Registry
from tests.llm.gguf_tiny import HD, KV, LAYERS, write_tiny_gguf


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A converted tiny model folder (model.onnx + tokenizer files)."""
    from models.llm.gguf_import import convert_gguf

    work = tmp_path_factory.mktemp("imp")
    tiny = write_tiny_gguf(work / "tiny.gguf", "llama")
    convert_gguf(tiny.path, work / "m")
    return work / "m"


def hf_config(kv=KV):
    return {"num_hidden_layers": LAYERS, "num_attention_heads": 4, "num_key_value_heads": kv, "hidden_size": 64,
            "max_position_embeddings": 128, "eos_token_id": 2, "bos_token_id": 1}


def make_layout(converted, root, layout, kv=KV):
    root.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(converted / name, root / name)
    if layout == "optimum":
        shutil.copy(converted / "model.onnx", root / "model.onnx")
        (root / "config.json").write_text(json.dumps(hf_config(kv)))
    elif layout == "onnx-community":
        (root / "onnx").mkdir()
        shutil.copy(converted / "model.onnx", root / "onnx" / "model_q4.onnx")
        shutil.copy(converted / "model.onnx", root / "onnx" / "model_fp16.onnx")
        (root / "config.json").write_text(json.dumps(hf_config(kv)))
    else:
        shutil.copy(converted / "model.onnx", root / "decoder.onnx")
        cfg = {"model": {"bos_token_id": 1, "eos_token_id": [2, 0], "context_length": 128,
                         "decoder": {"filename": "decoder.onnx", "head_size": HD, "hidden_size": 64,
                                     "num_attention_heads": 4, "num_key_value_heads": kv, "num_hidden_layers": LAYERS}},
               "search": {"past_present_share_buffer": True}}
        (root / "genai_config.json").write_text(json.dumps(cfg))
    return root


def test_import_gguf_into_registry(tmp_path):
    registry = Registry(user_dir=tmp_path / "models", bundled_dir=tmp_path / "none")
    tiny = write_tiny_gguf(tmp_path / "My-Tiny.Q4_1.gguf", "llama")
    steps = []
    manifest = import_model(tiny.path, registry, on_progress=lambda d, t: steps.append(d))
    assert manifest.name == "my-tiny" and steps[-1] == LAYERS + 2
    assert registry.get("chat").name == "my-tiny"
    assert manifest.path("model").is_file() and manifest.path("tokenizer").is_file()
    with pytest.raises(BadInput):
        import_model(tiny.path, registry)  # the name exists already


def test_failed_conversion_leaves_no_folder(tmp_path):
    registry = Registry(user_dir=tmp_path / "models", bundled_dir=tmp_path / "none")
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 40)
    with pytest.raises(ModelError):
        import_model(bad, registry)
    assert not (tmp_path / "models" / "broken").exists()


@pytest.mark.parametrize("layout", ["optimum", "onnx-community", "genai"])
def test_folder_layouts_are_found_and_imported(converted, tmp_path, layout):
    root = make_layout(converted, tmp_path / "src", layout)
    files = find_decoder(root)
    assert files.layout == layout
    assert files.params["n_kv_heads"] == KV and files.params["head_dim"] == HD
    if layout == "onnx-community":
        assert files.model.name == "model_q4.onnx"
    if layout == "genai":
        assert files.params["eos_token_ids"] == [0, 2] and files.shared_buffer is True
    registry = Registry(user_dir=tmp_path / "models", bundled_dir=tmp_path / "none")
    manifest = import_model(root, registry, name="imported")
    model = manifest.path("model")
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    dec = Decoder(session, manifest.params["n_kv_heads"], manifest.params["head_dim"], manifest.params["context"])
    out = list(dec.generate(dec.conversation(), [1, 5, 6, 7], max_new_tokens=3))
    assert len(out) == 3


def test_config_that_disagrees_with_the_graph(converted, tmp_path):
    root = make_layout(converted, tmp_path / "src", "optimum", kv=KV + 1)
    registry = Registry(user_dir=tmp_path / "models", bundled_dir=tmp_path / "none")
    with pytest.raises(ModelError, match="kv heads"):
        import_model(root, registry)
    assert not (tmp_path / "models").exists() or not any((tmp_path / "models").iterdir())


def test_unknown_folder_is_a_model_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="No decoder found"):
        find_decoder(tmp_path / "empty")
