"""Checks that an ONNX graph can be driven as a GAN generator: one latent in, one RGB image batch out."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.runtime.errors import ModelError

FLOAT_TYPES = ("tensor(float)", "tensor(float16)", "tensor(double)")


@dataclass(frozen=True)
class GeneratorIO:
    """What a validated generator looks like from outside."""

    input_name: str
    input_rank: int  # 2: (N, Z) or 4: (N, Z, 1, 1)
    z_dim: int | None  # None when the graph leaves it symbolic
    output_name: str
    height: int | None
    width: int | None


def _dim(value) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def validate_generator(session_or_path) -> GeneratorIO:
    """Describe a generator's I/O, or raise ModelError with a one-line reason.

    Accepts an onnxruntime InferenceSession or a path (a session is created on CPU just to read the I/O).
    """
    session = session_or_path
    if isinstance(session_or_path, (str, Path)):
        session = _load(Path(session_or_path))
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        raise ModelError(f"A GAN generator needs exactly one latent input; this model has {len(inputs)} ({names}).")
    z = inputs[0]
    if z.type not in FLOAT_TYPES:
        raise ModelError(f"The generator input '{z.name}' is {z.type}; a latent must be a float tensor.")
    rank = len(z.shape)
    if rank not in (2, 4):
        raise ModelError(f"The generator input '{z.name}' has rank {rank}; expected [N, Z] or [N, Z, 1, 1].")
    if rank == 4 and any(_dim(d) not in (None, 1) for d in z.shape[2:]):
        raise ModelError(f"The generator input '{z.name}' has shape {z.shape}; expected [N, Z, 1, 1].")
    if len(outputs) != 1:
        raise ModelError(f"A GAN generator needs exactly one image output; this model has {len(outputs)}.")
    image = outputs[0]
    if image.type not in FLOAT_TYPES:
        raise ModelError(f"The generator output '{image.name}' is {image.type}; expected a float image tensor.")
    if len(image.shape) != 4 or image.shape[1] != 3:
        raise ModelError(f"The generator output '{image.name}' has shape {image.shape}; expected [N, 3, H, W].")
    return GeneratorIO(z.name, rank, _dim(z.shape[1]), image.name, _dim(image.shape[2]), _dim(image.shape[3]))


def _load(path: Path):
    import onnxruntime as ort

    from models.runtime.session import check_external_data

    if not path.is_file():
        raise ModelError(f"Model file {path} is missing.")
    check_external_data(path)
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        text = " ".join(str(exc).split())[:200]
        raise ModelError(f"{path.name} could not be loaded: {text}") from None
