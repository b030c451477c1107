"""The torch-free converter: safe checkpoint reading, BatchNorm folding, the bundled model folder."""
from __future__ import annotations

import collections
import io
import json
import os
import pickle
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import pytest

from models.zoo import dcgan_faces

FOLDER = Path(__file__).resolve().parents[2] / "resources" / "models" / "faces-dcgan"


def _zip(pkl: bytes, storages: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ckpt/data.pkl", pkl)
        archive.writestr("ckpt/byteorder", "little")
        for key, data in storages.items():
            archive.writestr(f"ckpt/data/{key}", data)
    return buffer.getvalue()


def test_arbitrary_globals_are_refused():
    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        dcgan_faces.load_checkpoint(_zip(pickle.dumps({"x": os.system}), {}))
    evil = b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R."
    with pytest.raises(pickle.UnpicklingError, match="builtins.eval"):
        dcgan_faces.load_checkpoint(_zip(evil, {}))


def _fake_torch_checkpoint(monkeypatch, tensors: dict) -> bytes:
    """Pickle `tensors` ({name: (storage_array, offset, size, stride)}) the way torch.save lays them out."""
    fake_torch, fake_utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    storage_types = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}
    for name in storage_types.values():
        setattr(fake_torch, name, type(name, (), {"__module__": "torch", "__qualname__": name}))

    def _rebuild_tensor_v2(*args):  # only its name matters: the pickle refers to it
        raise AssertionError("never called while pickling")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    fake_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    monkeypatch.setitem(sys.modules, "torch._utils", fake_utils)

    class Storage:
        def __init__(self, key, array):
            self.key, self.array = key, array

    class Tensor:
        def __init__(self, storage, offset, size, stride):
            self.args = (storage, offset, size, stride, False, collections.OrderedDict())

        def __reduce__(self):
            return _rebuild_tensor_v2, self.args

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                kind = getattr(fake_torch, storage_types[obj.array.dtype])
                return ("storage", kind, obj.key, "cpu", obj.array.size)
            return None

    state, storages = collections.OrderedDict(), {}
    for i, (name, (array, offset, size, stride)) in enumerate(tensors.items()):
        storages[str(i)] = array.tobytes()
        state[name] = Tensor(Storage(str(i), array), offset, size, stride)
    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump({"netG_state_dict": state})
    return _zip(buffer.getvalue(), storages)


def test_reads_strided_views_offsets_and_scalars(monkeypatch):
    base = np.arange(24, dtype=np.float32)
    data = _fake_torch_checkpoint(monkeypatch, {
        "plain": (base, 0, (2, 3, 4), (12, 4, 1)),
        "transposed": (base, 0, (4, 6), (1, 4)),
        "offset": (base, 5, (3,), (2,)),
        "steps": (np.array([7], np.int64), 0, (), ()),
    })
    monkeypatch.delitem(sys.modules, "torch")  # reading must not need torch at all
    state = dcgan_faces.load_checkpoint(data)["netG_state_dict"]
    np.testing.assert_array_equal(state["plain"], base.reshape(2, 3, 4))
    np.testing.assert_array_equal(state["transposed"], base.reshape(6, 4).T)
    np.testing.assert_array_equal(state["offset"], [5, 7, 9])
    assert state["steps"].shape == () and int(state["steps"]) == 7


def test_batchnorm_folding_matches_conv_then_bn():
    rng = np.random.RandomState(0)
    weight = rng.randn(5, 6, 4, 4).astype(np.float32)  # (Cin, Cout, k, k)
    bn = {"bn.weight": rng.rand(6) + 0.5, "bn.bias": rng.randn(6), "bn.running_mean": rng.randn(6),
          "bn.running_var": rng.rand(6) + 0.1}
    z = rng.randn(5).astype(np.float32)
    # a stride-1, pad-0 transposed conv of a 1x1 input is a plain contraction over Cin
    conv = np.einsum("i,iokl->okl", z, weight)  # (Cout, k, k)
    scale = (bn["bn.weight"] / np.sqrt(bn["bn.running_var"] + dcgan_faces.BN_EPS))[:, None, None]
    expected = (conv - bn["bn.running_mean"][:, None, None]) * scale + bn["bn.bias"][:, None, None]
    folded, bias = dcgan_faces.fold_batchnorm(weight, bn, "bn")
    got = np.einsum("i,iokl->okl", z, folded) + bias[:, None, None]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_build_onnx_from_a_small_random_generator():
    import onnxruntime as ort

    cfg = dcgan_faces.GeneratorConfig(nz=8, ngf=2)
    rng = np.random.RandomState(1)
    state = {}
    for i, (cin, cout, _, _) in enumerate(cfg.layers()):
        state[f"main.{3 * i}.weight"] = rng.randn(cin, cout, 4, 4).astype(np.float32) * 0.3
        if i < 4:
            bn = f"main.{3 * i + 1}"
            state.update({f"{bn}.weight": np.ones(cout, np.float32), f"{bn}.bias": np.zeros(cout, np.float32),
                          f"{bn}.running_mean": np.zeros(cout, np.float32),
                          f"{bn}.running_var": np.ones(cout, np.float32)})
    model = dcgan_faces.build_onnx(state, cfg)
    assert model.ir_version == 10
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = session.run(None, {"z": rng.randn(3, 8, 1, 1).astype(np.float32)})[0]
    assert out.shape == (3, 3, 64, 64) and np.abs(out).max() <= 1.0 and out.std() > 0
    state["main.6.weight"] = state["main.6.weight"][:, :1]
    with pytest.raises(ValueError, match="main.6.weight"):
        dcgan_faces.build_onnx(state, cfg)


def test_bundled_folder_is_complete():
    manifest = json.loads((FOLDER / "genloom.json").read_text())
    assert manifest == dcgan_faces.manifest()
    assert manifest["params"] == {"z_dim": 100, "range": [-1, 1], "default": True}
    assert "Permission is hereby granted" in (FOLDER / "LICENSE").read_text()
    assert "DigiFace-1M" in (FOLDER / "MODEL_CARD.md").read_text()
    size = (FOLDER / "generator.onnx").stat().st_size
    assert 13e6 < size < 16e6
