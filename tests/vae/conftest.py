"""Fixtures for the VAE tests: a Context on a temporary GENLOOM_HOME and tiny ONNX VAEs built in place."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "resources" / "models" / "faces-vae"
DCGAN = ROOT / "resources" / "models" / "faces-dcgan" / "generator.onnx"


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


def _save(model, path: Path) -> Path:
    model.ir_version = 10
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def tiny_weight(z_dim: int, channels: int, size: int) -> np.ndarray:
    return np.random.RandomState(0).randn(z_dim, channels * size * size).astype(np.float32) * 0.5


def tiny_decoder(path: Path, z_dim: int = 4, size: int = 8, channels: int = 3, head: str = "Tanh",
                 symbolic_z: bool = False) -> Path:
    """z (N, z_dim) -> MatMul -> Reshape -> head -> image (N, channels, size, size)."""
    nodes = [helper.make_node("MatMul", ["z", "w"], ["flat"]),
             helper.make_node("Reshape", ["flat", "shape"], ["raw"]),
             helper.make_node(head, ["raw"], ["image"])]
    inits = [numpy_helper.from_array(tiny_weight(z_dim, channels, size), "w"),
             numpy_helper.from_array(np.array([-1, channels, size, size], np.int64), "shape")]
    zshape = ["N", "Z"] if symbolic_z else ["N", z_dim]
    graph = helper.make_graph(nodes, "dec", [helper.make_tensor_value_info("z", TensorProto.FLOAT, zshape)],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", channels, size, size])], inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def tiny_encoder(path: Path, z_dim: int = 4, size: int = 8) -> Path:
    """image (N, 3, size, size) -> flatten -> MatMul (pseudo-inverse of the decoder) -> mean, logvar (N, z_dim)."""
    w = tiny_weight(z_dim, 3, size)
    nodes = [helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
             helper.make_node("MatMul", ["flat", "pinv"], ["mean"]),
             helper.make_node("MatMul", ["flat", "zero"], ["logvar"])]
    inits = [numpy_helper.from_array(np.array([-1, 3 * size * size], np.int64), "flat_shape"),
             numpy_helper.from_array(np.linalg.pinv(w).astype(np.float32), "pinv"),
             numpy_helper.from_array(np.zeros((3 * size * size, z_dim), np.float32), "zero")]
    graph = helper.make_graph(nodes, "enc", [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size])],
                              [helper.make_tensor_value_info("mean", TensorProto.FLOAT, ["N", z_dim]),
                               helper.make_tensor_value_info("logvar", TensorProto.FLOAT, ["N", z_dim])], inits)
    return _save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def install(registry, name: str, z_dim: int = 4, encoder: bool = True, axes: dict | None = None,
            value_range=(-1, 1), **dec_kwargs) -> Path:
    """Write a tiny VAE folder with a manifest straight into the registry's user folder."""
    folder = Path(registry.user_dir) / name
    files = {"decoder": "decoder.onnx"}
    tiny_decoder(folder / "decoder.onnx", z_dim, **dec_kwargs)
    if encoder:
        tiny_encoder(folder / "encoder.onnx", z_dim)
        files["encoder"] = "encoder.onnx"
    if axes is not None:
        (folder / "axes.json").write_text(json.dumps(axes), encoding="utf-8")
        files["axes"] = "axes.json"
    manifest = {"kind": "vae", "name": name, "files": files, "io": {}, "license": "test", "source": "test",
                "params": {"z_dim": z_dim, "range": list(value_range)}}
    (folder / "genloom.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def events_of(gen) -> tuple[list, dict]:
    """All events of a job and the Result payload."""
    from models.runtime.events import Result

    events = list(gen)
    results = [e for e in events if isinstance(e, Result)]
    assert len(results) == 1 and events[-1] is results[0]
    return events, results[0].payload
