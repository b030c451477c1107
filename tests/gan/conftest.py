"""Fixtures for the GAN tests: a real Context on a temporary GENLOOM_HOME and tiny ONNX generators."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """A Context whose registry, sessions and gallery live in a fresh GENLOOM_HOME (CPU provider)."""
    from models.runtime.context import Context

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENLOOM_HOME", str(tmp_path_factory.mktemp("home")))
        context = Context(provider="cpu")
        yield context
        if "gallery" in context.__dict__:
            context.gallery.close()


def _save(model, path: Path, **kwargs) -> Path:
    model.ir_version = 10
    onnx.save(model, str(path), **kwargs)
    return path


def tiny_generator(path: Path, z_dim: int = 8, size: int = 4, head: str = "Sigmoid", **save_kwargs) -> Path:
    """z (N, z_dim) -> MatMul -> Reshape -> head -> image (N, 3, size, size)."""
    rng = np.random.RandomState(0)
    weight = rng.randn(z_dim, 3 * size * size).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["z", "w"], ["flat"]),
             helper.make_node("Reshape", ["flat", "shape"], ["raw"]),
             helper.make_node(head, ["raw"], ["image"])]
    inits = [numpy_helper.from_array(weight, "w"),
             numpy_helper.from_array(np.array([-1, 3, size, size], np.int64), "shape")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", z_dim])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])], inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path, **save_kwargs)


def two_input_model(path: Path) -> Path:
    """A graph with two inputs (a and b), which no GAN generator has."""
    graph = helper.make_graph([helper.make_node("Add", ["a", "b"], ["image"])], "two",
                              [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["N", 3, 4, 4]),
                               helper.make_tensor_value_info("b", TensorProto.FLOAT, ["N", 3, 4, 4])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, 4, 4])])
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def flat_output_model(path: Path) -> Path:
    """z (N, 8) -> Relu -> (N, 8): a latent input but no image output."""
    graph = helper.make_graph([helper.make_node("Relu", ["z"], ["y"])], "flat",
                              [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 8])])
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
