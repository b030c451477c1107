"""Tiny ONNX models built in tests (no files committed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def save(model: onnx.ModelProto, path: Path) -> Path:
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def identity_model(path: Path, dtype=TensorProto.INT32) -> Path:
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "id",
                              [helper.make_tensor_value_info("x", dtype, ["n"])],
                              [helper.make_tensor_value_info("y", dtype, ["n"])])
    return save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)


def generator_model(path: Path, z_dim: int = 8, size: int = 8, rank4: bool = True) -> Path:
    """z [N,Z(,1,1)] -> tanh image [N,3,size,size] through one MatMul."""
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((z_dim, 3 * size * size)).astype(np.float32), "w")
    shape = numpy_helper.from_array(np.array([-1, 3, size, size], dtype=np.int64), "shape")
    flat = numpy_helper.from_array(np.array([-1, z_dim], dtype=np.int64), "flat")
    nodes = [helper.make_node("Reshape", ["z", "flat"], ["z2"]), helper.make_node("MatMul", ["z2", "w"], ["m"]),
             helper.make_node("Tanh", ["m"], ["t"]), helper.make_node("Reshape", ["t", "shape"], ["image"])]
    zshape = ["n", z_dim, 1, 1] if rank4 else ["n", z_dim]
    graph = helper.make_graph(nodes, "gen", [helper.make_tensor_value_info("z", TensorProto.FLOAT, zshape)],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, size, size])],
                              [weight, shape, flat])
    return save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
