"""Provider choice: GPU only when it really works; quiet fallback to the CPU with a reason."""
from __future__ import annotations

import onnxruntime as ort
import pytest

from models.runtime import providers
from models.runtime.errors import BadInput


def test_cpu_when_requested():
    status = providers.resolve("cpu")
    assert status.active == "CPUExecutionProvider"
    assert status.reason == ""


def test_auto_falls_back_with_a_reason_on_this_machine():
    status = providers.resolve("auto")
    if status.active != "CPUExecutionProvider":
        pytest.skip("a working GPU provider is present here")
    assert status.reason, "a fallback must say why"
    assert "\n" not in status.reason


def test_broken_cuda_falls_back_quietly(monkeypatch, capfd):
    """onnxruntime-gpu without CUDA libraries: no red error on the terminal, CPU chosen, reason kept."""
    calls = []
    real_preload = getattr(ort, "preload_dlls", None)

    def preload(*args, **kwargs):
        calls.append("preload")
        if real_preload:
            real_preload(*args, **kwargs)

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "preload_dlls", preload, raising=False)
    monkeypatch.setattr(providers, "_driver_missing", lambda provider: "")
    status = providers.resolve("cuda")
    out, err = capfd.readouterr()
    if status.active == "CUDAExecutionProvider":
        pytest.skip("CUDA works here")
    assert calls == ["preload"], "preload_dlls must run before the CUDA probe"
    assert status.active == "CPUExecutionProvider"
    assert status.reason.startswith("CUDA:")
    assert "ONNXRuntimeError" not in err and "\x1b[" not in err and "Failed to" not in out + err


def test_missing_driver_is_reported_without_trying(monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(providers, "_driver_missing", lambda provider: "no NVIDIA driver found (libcuda.so.1 is missing)")
    status = providers.resolve("auto")
    assert status.active == "CPUExecutionProvider"
    assert "no NVIDIA driver" in status.reason


def test_provider_not_in_build(monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    status = providers.resolve("directml")
    assert status.active == "CPUExecutionProvider"
    assert "not in this onnxruntime build" in status.reason


def test_unknown_provider_is_bad_input():
    with pytest.raises(BadInput):
        providers.resolve("tpu")
