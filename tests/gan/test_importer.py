"""Importing user generators: validation of I/O, corrupt files, external data, manifests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from models.gan.importer import import_model
from models.gan.validate import validate_generator
from models.runtime.errors import BadInput, ModelError
from models.runtime.registry import Registry

from .conftest import flat_output_model, tiny_generator, two_input_model

BUNDLED = Path(__file__).resolve().parents[2] / "resources" / "models" / "faces-dcgan" / "generator.onnx"


@pytest.fixture
def registry(tmp_path):
    return Registry(user_dir=tmp_path / "models", bundled_dir=tmp_path / "bundled")


def one_line_model_error(call) -> str:
    with pytest.raises(ModelError) as info:
        call()
    text = str(info.value)
    assert text and "\n" not in text
    return text


def test_bundled_generator_validates():
    io = validate_generator(BUNDLED)
    assert (io.input_name, io.input_rank, io.z_dim, io.output_name, io.height, io.width) == ("z", 4, 100, "image", 64, 64)


def test_import_single_file_writes_a_manifest(registry, tmp_path):
    manifest = import_model(tiny_generator(tmp_path / "mine.onnx"), registry)
    assert manifest.kind == "gan" and manifest.name == "mine"
    assert manifest.params == {"z_dim": 8, "range": [0, 1]}  # Sigmoid head -> [0, 1]
    assert registry.get("gan", "mine").path("generator").is_file()
    assert Path(manifest.folder).parent == registry.user_dir


def test_tanh_head_guesses_minus_one_to_one(registry, tmp_path):
    manifest = import_model(tiny_generator(tmp_path / "t.onnx", head="Tanh"), registry, name="tanhy")
    assert manifest.params["range"] == [-1, 1] and manifest.name == "tanhy"


def test_corrupt_file_is_refused_and_leaves_nothing(registry, tmp_path):
    good = tiny_generator(tmp_path / "good.onnx").read_bytes()
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(good[: len(good) // 2])
    text = one_line_model_error(lambda: import_model(bad, registry))
    assert "bad.onnx" in text
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all \x00\xff" * 10)
    one_line_model_error(lambda: import_model(junk, registry))
    assert not registry.user_dir.exists() or not any(registry.user_dir.iterdir())


def test_wrong_io_is_refused_with_one_line(registry, tmp_path):
    text = one_line_model_error(lambda: import_model(two_input_model(tmp_path / "two.onnx"), registry))
    assert "exactly one latent input" in text
    text = one_line_model_error(lambda: import_model(flat_output_model(tmp_path / "flat.onnx"), registry))
    assert "[N, 3, H, W]" in text


def test_integer_latent_is_refused(registry, tmp_path):
    graph = helper.make_graph([helper.make_node("Cast", ["z"], ["image"], to=TensorProto.FLOAT)], "int",
                              [helper.make_tensor_value_info("z", TensorProto.INT64, ["N", 3, 4, 4])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 4, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.save(model, str(tmp_path / "int.onnx"))
    assert "float" in one_line_model_error(lambda: import_model(tmp_path / "int.onnx", registry))


def test_external_data_outside_the_folder_is_refused(registry, tmp_path):
    inner = tmp_path / "inner"
    inner.mkdir()
    model_path = tiny_generator(inner / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                                location="weights.bin", size_threshold=256)
    model = onnx.load(str(model_path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../outside.bin"
    (tmp_path / "outside.bin").write_bytes((inner / "weights.bin").read_bytes())
    onnx.save(model, str(model_path))
    assert "outside" in one_line_model_error(lambda: import_model(model_path, registry))


def test_folder_with_external_data_is_copied_whole(registry, tmp_path):
    folder = tmp_path / "extgan"
    folder.mkdir()
    tiny_generator(folder / "g.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                   location="g.data", size_threshold=256)
    manifest = import_model(folder, registry)
    assert manifest.name == "extgan" and manifest.files == {"generator": "g.onnx"}
    assert (Path(manifest.folder) / "g.data").is_file()
    io = validate_generator(manifest.path("generator"))
    assert io.input_rank == 2


def test_single_file_with_external_data_brings_its_data(registry, tmp_path):
    path = tiny_generator(tmp_path / "solo.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                          location="solo.data", size_threshold=256)
    manifest = import_model(path, registry)
    assert (Path(manifest.folder) / "solo.data").is_file()


def test_name_clash_and_missing_path(registry, tmp_path):
    path = tiny_generator(tmp_path / "dup.onnx")
    import_model(path, registry)
    with pytest.raises(BadInput):
        import_model(path, registry)
    with pytest.raises(BadInput):
        import_model(tmp_path / "nowhere.onnx", registry)
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(BadInput):
        import_model(tmp_path / "notes.txt", registry)


def test_folder_with_two_onnx_files_needs_a_manifest(registry, tmp_path):
    folder = tmp_path / "pair"
    folder.mkdir()
    tiny_generator(folder / "a.onnx")
    tiny_generator(folder / "b.onnx")
    with pytest.raises(BadInput):
        import_model(folder, registry)


def test_validate_accepts_a_session():
    import onnxruntime as ort

    session = ort.InferenceSession(str(BUNDLED), providers=["CPUExecutionProvider"])
    assert validate_generator(session).z_dim == 100
    assert np.isfinite(session.run(None, {"z": np.zeros((1, 100, 1, 1), np.float32)})[0]).all()
