"""Importing user VAEs: folders, single decoder files, and one-line errors for graphs that do not fit."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from models.runtime.errors import BadInput, ModelError
from models.runtime.registry import Registry
from models.vae import job
from models.vae.explorer import encode_unavailable_reason
from models.vae.importer import import_model

from .conftest import events_of, tiny_decoder, tiny_encoder


@pytest.fixture
def registry(tmp_path):
    return Registry(user_dir=tmp_path / "user", bundled_dir=tmp_path / "bundled")


def test_import_folder_with_encoder_decoder_and_axes(tmp_path, registry):
    src = tmp_path / "my-vae"
    tiny_decoder(src / "decoder.onnx", 4)
    tiny_encoder(src / "encoder.onnx", 4)
    axes = {"mean": [0, 0, 0, 0], "components": np.eye(4).tolist(), "sigma": [1, 1, 1, 1]}
    (src / "axes.json").write_text(json.dumps(axes))
    manifest = import_model(src, registry)
    assert manifest.kind == "vae" and manifest.name == "my-vae"
    assert set(manifest.files) == {"decoder", "encoder", "axes"}
    assert manifest.params == {"z_dim": 4, "range": [-1, 1]}  # Tanh head
    assert manifest.path("decoder").is_file() and manifest.path("encoder").is_file()
    assert encode_unavailable_reason(manifest) is None
    assert registry.get("vae", "my-vae").name == "my-vae"


def test_import_single_decoder_file_is_decoder_only(tmp_path, registry):
    tiny_decoder(tmp_path / "mnist_dec.onnx", 3, channels=1, head="Sigmoid")
    manifest = import_model(tmp_path / "mnist_dec.onnx", registry, name="mnist")
    assert manifest.name == "mnist" and set(manifest.files) == {"decoder"}
    assert manifest.params["range"] == [0, 1]
    assert "cannot encode" in encode_unavailable_reason(manifest)


def test_imported_model_runs(tmp_path, registry, monkeypatch, ctx):
    monkeypatch.setattr(ctx.registry, "user_dir", registry.user_dir)
    tiny_decoder(tmp_path / "d.onnx", 4, symbolic_z=True)
    import_model(tmp_path / "d.onnx", registry, name="sym", z_dim=4)
    payload = events_of(job.run(job.DecodeRequest(model="sym", latent=(0.1, 0.2, 0.3, 0.4)), ctx))[1]
    assert payload["images"][0].shape == (8, 8, 3)


def test_symbolic_latent_needs_z_dim(tmp_path, registry):
    tiny_decoder(tmp_path / "d.onnx", 4, symbolic_z=True)
    with pytest.raises(BadInput) as err:
        import_model(tmp_path / "d.onnx", registry)
    assert "z_dim" in str(err.value)
    assert not registry.user_dir.exists() or not any(registry.user_dir.iterdir())


def test_encoder_decoder_latent_mismatch_is_model_error(tmp_path, registry):
    src = tmp_path / "bad"
    tiny_decoder(src / "decoder.onnx", 4)
    tiny_encoder(src / "encoder.onnx", 5)
    with pytest.raises(ModelError) as err:
        import_model(src, registry)
    assert "\n" not in str(err.value)
    assert not (registry.user_dir / "bad").exists()


def test_not_a_decoder_is_one_line_model_error(tmp_path, registry):
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id",
                              [helper.make_tensor_value_info("x", TensorProto.INT64, ["N", 4])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, ["N", 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(tmp_path / "id.onnx"))
    with pytest.raises(ModelError) as err:
        import_model(tmp_path / "id.onnx", registry)
    assert "\n" not in str(err.value) and "float" in str(err.value)
    (tmp_path / "junk.onnx").write_bytes(b"not onnx at all")
    with pytest.raises(ModelError):
        import_model(tmp_path / "junk.onnx", registry)


def test_bad_paths_are_bad_input(tmp_path, registry):
    with pytest.raises(BadInput):
        import_model(tmp_path / "missing", registry)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(BadInput):
        import_model(tmp_path / "notes.txt", registry)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BadInput):
        import_model(empty, registry)


def test_bad_axes_file_is_refused(tmp_path, registry):
    src = tmp_path / "vae"
    tiny_decoder(src / "decoder.onnx", 4)
    (src / "axes.json").write_text(json.dumps({"mean": [0, 0], "components": [[1, 0], [0, 1]], "sigma": [1, 1]}))
    with pytest.raises(ModelError):
        import_model(src, registry)
