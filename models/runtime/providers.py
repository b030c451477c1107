"""Execution-provider choice: GPU when it really works, CPU otherwise, and why.

onnxruntime-gpu lists CUDA as available even on machines without a GPU, and creating a session with it
prints a red error and silently runs on the CPU. Genloom probes each GPU provider once, with the
process's stdout/stderr captured, and records the reason when it falls back.
"""
from __future__ import annotations

import ctypes
import io
import os
import re
import sys
import tempfile
import threading
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import onnxruntime as ort

# Order of preference for "auto".
GPU_PROVIDERS = ("CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider")
CHOICES = {"auto": None, "cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
           "directml": "DmlExecutionProvider", "coreml": "CoreMLExecutionProvider"}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

ort.set_default_logger_severity(3)  # errors only; warnings about unused initializers etc. are noise


@dataclass(frozen=True)
class ProviderStatus:
    requested: str
    active: str
    available: list = field(default_factory=list)
    reason: str = ""  # why a GPU provider is not active ("" when nothing fell back)

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def label(self) -> str:
        short = self.active.replace("ExecutionProvider", "")
        return f"{short} ({self.reason})" if self.reason else short


@contextmanager
def quiet_native_output():
    """Capture what Python and native code write to stdout/stderr; yields a list that receives the text."""
    python_out = io.StringIO()
    with redirect_stdout(python_out), redirect_stderr(python_out), _quiet_fds() as captured:
        yield captured
    captured.append(python_out.getvalue())


@contextmanager
def _quiet_fds():
    """Capture what native code writes to fds 1 and 2."""
    captured: list[str] = []
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        saved = (os.dup(1), os.dup(2))
    except (OSError, ValueError, AttributeError):  # no real fds (embedded, some test runners)
        yield captured
        return
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            captured.append(_ANSI.sub("", sink.read().decode("utf-8", "replace")))


def _first_error(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        match = re.search(r"error: (.+)$", line) or re.search(r"\] (.+)$", line)
        return " ".join((match.group(1) if match else line).split())[:200]
    return ""


def _tiny_model() -> bytes:
    import onnx.helper as h

    graph = h.make_graph([h.make_node("Relu", ["x"], ["y"])], "probe",
                         [h.make_tensor_value_info("x", 1, [1])], [h.make_tensor_value_info("y", 1, [1])])
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 13)])
    model.ir_version = 8
    return model.SerializeToString()


def _driver_missing(provider: str) -> str:
    """A reason when the GPU driver library is absent, so we never even try (and never print red)."""
    if provider != "CUDAExecutionProvider":
        return ""
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        ctypes.CDLL(name)
    except OSError:
        return f"no NVIDIA driver found ({name} is missing)"
    return ""


def probe(provider: str) -> str:
    """'' when `provider` creates a working session here, else a one-line reason."""
    if provider == "CPUExecutionProvider":
        return ""
    if provider not in ort.get_available_providers():
        return f"{provider.replace('ExecutionProvider', '')} is not in this onnxruntime build"
    reason = _driver_missing(provider)
    if reason:
        return reason
    with quiet_native_output() as out:
        try:
            if provider == "CUDAExecutionProvider" and hasattr(ort, "preload_dlls"):
                ort.preload_dlls()
            options = ort.SessionOptions()
            options.log_severity_level = 3
            session = ort.InferenceSession(_tiny_model(), options, providers=[provider, "CPUExecutionProvider"])
            active = session.get_providers()[0]
        except Exception as exc:  # any failure to initialise means "not usable"
            active, error = "", str(exc)
        else:
            error = ""
    if active == provider:
        return ""
    text = error or "".join(out)
    return _first_error(text) or f"{provider.replace('ExecutionProvider', '')} failed to initialise"


_probe_lock = threading.Lock()


def resolve(requested: str = "auto") -> ProviderStatus:
    """Pick the provider for `requested` ('auto', 'cpu', 'cuda', 'directml', 'coreml'); cached per process.

    Serialised: the GUI thread and the worker may ask at the same time, and a probe redirects the process's
    stdout/stderr while it runs.
    """
    with _probe_lock:
        return _resolve(requested)


resolve.cache_clear = lambda: _resolve.cache_clear()  # tests reset the cache


@lru_cache(maxsize=8)
def _resolve(requested: str) -> ProviderStatus:
    requested = (requested or "auto").lower()
    if requested not in CHOICES:
        from .errors import BadInput

        raise BadInput(f"Unknown provider '{requested}' (choose from {', '.join(CHOICES)}).")
    available = list(ort.get_available_providers())
    if requested == "cpu":
        return ProviderStatus(requested, "CPUExecutionProvider", available, "")
    wanted = [CHOICES[requested]] if CHOICES[requested] else [p for p in GPU_PROVIDERS if p in available]
    reasons = []
    for provider in wanted:
        reason = probe(provider)
        if not reason:
            return ProviderStatus(requested, provider, available, "")
        reasons.append(f"{provider.replace('ExecutionProvider', '')}: {reason}")
    reason = "; ".join(reasons) if reasons else "no GPU provider in this onnxruntime build"
    return ProviderStatus(requested, "CPUExecutionProvider", available, reason)
