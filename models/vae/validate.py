"""Checks that ONNX graphs can be driven as a VAE decoder ([N, Z] -> image) and encoder (image -> mean)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.runtime.errors import ModelError

FLOAT_TYPES = ("tensor(float)", "tensor(float16)", "tensor(double)")
MEAN_NAMES = ("mean", "mu", "z_mean", "latent_mean", "latent")


@dataclass(frozen=True)
class DecoderIO:
    input_name: str
    input_rank: int  # 2: (N, Z) or 4: (N, Z, 1, 1)
    z_dim: int | None  # None when the graph leaves it symbolic
    output_name: str
    channels: int  # 1 (grey) or 3 (RGB)
    height: int | None
    width: int | None


@dataclass(frozen=True)
class EncoderIO:
    input_name: str
    channels: int
    height: int | None
    width: int | None
    mean_name: str
    logvar_name: str | None
    z_dim: int | None


def _dim(value) -> int | None:
    return value if isinstance(value, int) and value > 0 else None


def _session(session_or_path):
    if not isinstance(session_or_path, (str, Path)):
        return session_or_path
    import onnxruntime as ort

    from models.runtime.session import check_external_data

    path = Path(session_or_path)
    if not path.is_file():
        raise ModelError(f"Model file {path} is missing.")
    check_external_data(path)
    try:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"{path.name} could not be loaded: {' '.join(str(exc).split())[:200]}") from None


def validate_decoder(session_or_path) -> DecoderIO:
    """Describe a decoder's I/O, or raise ModelError with a one-line reason."""
    session = _session(session_or_path)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs) or "none"
        raise ModelError(f"A VAE decoder needs exactly one latent input; this one has {len(inputs)} ({names}).")
    z = inputs[0]
    if z.type not in FLOAT_TYPES:
        raise ModelError(f"The decoder input '{z.name}' is {z.type}; a latent must be a float tensor.")
    rank = len(z.shape)
    if rank not in (2, 4) or (rank == 4 and any(_dim(d) not in (None, 1) for d in z.shape[2:])):
        raise ModelError(f"The decoder input '{z.name}' has shape {z.shape}; expected [N, Z].")
    if not outputs:
        raise ModelError("The decoder has no output.")
    image = outputs[0]
    if image.type not in FLOAT_TYPES:
        raise ModelError(f"The decoder output '{image.name}' is {image.type}; expected a float image tensor.")
    if len(image.shape) != 4 or _dim(image.shape[1]) not in (1, 3):
        raise ModelError(f"The decoder output '{image.name}' has shape {image.shape}; expected [N, 3, H, W] or [N, 1, H, W].")
    return DecoderIO(z.name, rank, _dim(z.shape[1]), image.name, image.shape[1], _dim(image.shape[2]), _dim(image.shape[3]))


def validate_encoder(session_or_path, z_dim: int | None = None) -> EncoderIO:
    """Describe an encoder's I/O (image in; mean and optional logvar out), or raise ModelError."""
    session = _session(session_or_path)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1:
        raise ModelError(f"A VAE encoder needs exactly one image input; this one has {len(inputs)}.")
    image = inputs[0]
    if image.type not in FLOAT_TYPES or len(image.shape) != 4 or _dim(image.shape[1]) not in (1, 3):
        raise ModelError(f"The encoder input '{image.name}' is {image.type} {image.shape}; expected a float [N, 3, H, W].")
    latents = [o for o in outputs if o.type in FLOAT_TYPES and len(o.shape) == 2]
    if not latents:
        raise ModelError("The encoder has no [N, Z] float output to use as the latent mean.")
    named = {o.name.lower(): o for o in latents}
    mean = next((named[n] for n in MEAN_NAMES if n in named), latents[0])
    logvar = next((o for o in latents if o is not mean and "var" in o.name.lower()), None)
    size = _dim(mean.shape[1])
    if z_dim and size and size != z_dim:
        raise ModelError(f"The encoder gives {size}-D latents but the decoder takes {z_dim}-D ones.")
    return EncoderIO(image.name, image.shape[1], _dim(image.shape[2]), _dim(image.shape[3]), mean.name,
                     logvar.name if logvar else None, size or z_dim)
