"""Sessions: dtype casting, corrupt files, external data that escapes its folder."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from models.runtime.errors import ModelError
from models.runtime.session import SessionCache, cast_inputs
from tests.helpers_onnx import identity_model, save


def test_inputs_are_cast_to_declared_dtype(tmp_path):
    cache = SessionCache("cpu", threads=1)
    session = cache.get(identity_model(tmp_path / "m.onnx", TensorProto.INT32))
    feeds = cast_inputs(session, {"x": np.array([1, 2], dtype=np.int64)})
    assert feeds["x"].dtype == np.int32
    (out,) = cache.run(session, {"x": np.array([3, 4], dtype=np.int64)})
    assert out.tolist() == [3, 4]


def test_sessions_are_cached(tmp_path):
    cache = SessionCache("cpu", threads=1)
    path = identity_model(tmp_path / "m.onnx")
    assert cache.get(path) is cache.get(path)


def test_unknown_input_name(tmp_path):
    cache = SessionCache("cpu", threads=1)
    session = cache.get(identity_model(tmp_path / "m.onnx"))
    with pytest.raises(ModelError, match="no input 'q'"):
        cache.run(session, {"q": np.zeros(1)})


@pytest.mark.parametrize("content", [b"", b"not an onnx file at all", None])
def test_corrupt_or_truncated_model(tmp_path, content):
    path = tmp_path / "bad.onnx"
    if content is None:  # a real model cut in half
        good = identity_model(tmp_path / "good.onnx").read_bytes()
        content = good[: len(good) // 2]
    path.write_bytes(content)
    with pytest.raises(ModelError) as info:
        SessionCache("cpu").get(path)
    assert "\n" not in str(info.value)
    assert "bad.onnx" in str(info.value)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="missing"):
        SessionCache("cpu").get(tmp_path / "nope.onnx")


def _external_model(folder, location):
    weight = numpy_helper.from_array(np.ones(4, np.float32), "w")
    weight.data_location = TensorProto.EXTERNAL
    del weight.external_data[:]
    entry = weight.external_data.add()
    entry.key, entry.value = "location", location
    weight.ClearField("raw_data")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "ext",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], [weight])
    return save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), folder / "model.onnx")


def test_external_data_outside_folder_is_refused(tmp_path):
    (tmp_path / "secret.bin").write_bytes(np.ones(4, np.float32).tobytes())
    path = _external_model(tmp_path / "model", "../secret.bin")
    with pytest.raises(ModelError, match="outside its folder"):
        SessionCache("cpu").get(path)


def test_external_data_inside_folder_loads(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "w.bin").write_bytes(np.full(4, 2, np.float32).tobytes())
    path = _external_model(folder, "w.bin")
    cache = SessionCache("cpu")
    (out,) = cache.run(cache.get(path), {"x": np.ones(4, np.float32)})
    assert out.tolist() == [3, 3, 3, 3]


def test_missing_external_data(tmp_path):
    path = _external_model(tmp_path / "model", "gone.bin")
    with pytest.raises(ModelError, match="missing"):
        SessionCache("cpu").get(path)


@pytest.mark.parametrize("location", ["w.bin", "sub/" + "long_name_" * 20 + ".bin"])
def test_external_locations_read_from_the_bytes_match_the_onnx_parser(tmp_path, location):
    from onnx import load

    from models.runtime.session import external_locations

    path = _external_model(tmp_path / "model", location)
    model = load(str(path), load_external_data=False)
    parsed = sorted({e.value for t in model.graph.initializer for e in t.external_data if e.key == "location"})
    assert external_locations(path.read_bytes()) == parsed == [location]
    assert external_locations(b"no entries, just the word location") is None
    assert external_locations(b"\x0a\x08location\x12\x80") is None  # truncated length: fall back to the parser
