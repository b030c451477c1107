"""ONNX Runtime sessions: created lazily, cached, checked, and fed inputs of the declared dtypes."""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort

from . import providers
from .errors import ModelError

# onnxruntime's type strings -> numpy dtypes, for casting inputs the way optimum does.
ORT_DTYPES = {
    "tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8, "tensor(bool)": np.bool_,
}


def default_threads() -> int:
    """Use every core but never spin: idle workers yield the CPU to the GUI thread."""
    return max(1, min(8, os.cpu_count() or 1))


# An external-data entry is StringStringEntryProto{1: key, 2: value}; writers emit key first:
# 0x0A 0x08 "location" 0x12 <varint length> <value>.
LOCATION_ENTRY = re.compile(rb"\x0a\x08location\x12")


def external_locations(data) -> list[str] | None:
    """The external-data file names an ONNX file refers to, read straight from its protobuf bytes.

    Returns None when the bytes mention "location" but not as a well-formed entry (the caller then parses the
    graph with the onnx package, which costs about a second to import).
    """
    found = set()
    for match in LOCATION_ENTRY.finditer(data):
        pos, length, shift = match.end(), 0, 0
        while True:
            if pos >= len(data) or shift > 28:
                return None
            byte = data[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        if pos + length > len(data):
            return None
        found.add(bytes(data[pos: pos + length]).decode("utf-8", "replace"))
    return sorted(found) if found else None


def _check_location(path: Path, folder: Path, location: str) -> None:
    target = (folder / location).resolve()
    if folder not in target.parents:
        raise ModelError(f"{path.name} refers to external data '{location}' outside its folder; refused.")
    if not target.is_file():
        raise ModelError(f"{path.name} needs its external data file '{location}', which is missing.")


def check_external_data(path: Path) -> None:
    """Refuse a model whose external-data files point outside its folder (or are missing)."""
    import mmap

    folder = path.parent.resolve()
    try:
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if data.find(b"location") < 0:  # no external-data entry can exist: skip parsing the graph
                return
            locations = external_locations(data)
    except (OSError, ValueError):  # empty or unreadable: let the parser below report it
        locations = None
    if locations is not None:
        for location in locations:
            _check_location(path, folder, location)
        return
    import onnx
    from onnx.external_data_helper import uses_external_data

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        raise ModelError(f"{path.name} is not a valid ONNX model (corrupt or truncated).") from None
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        tensors += [a.t for a in node.attribute if a.HasField("t")]
    for tensor in tensors:
        if uses_external_data(tensor):
            _check_location(path, folder, next((e.value for e in tensor.external_data if e.key == "location"), ""))


def cast_inputs(session: ort.InferenceSession, feeds: dict) -> dict:
    """Cast each feed to the dtype the session declares (int32 vs int64 ids, fp16 models, ...)."""
    out = {}
    declared = {i.name: i.type for i in session.get_inputs()}
    for name, value in feeds.items():
        if name not in declared:
            known = ", ".join(declared)
            raise ModelError(f"The model has no input '{name}' (its inputs: {known}).")
        dtype = ORT_DTYPES.get(declared[name])
        array = np.asarray(value)
        out[name] = array.astype(dtype, copy=False) if dtype is not None and array.dtype != dtype else array
    return out


class SessionCache:
    """Creates sessions on first use and keeps them. Owned by exactly one thread (the worker or the CLI)."""

    def __init__(self, provider: str = "auto", threads: int | None = None):
        self.requested = provider
        self.threads = threads or default_threads()
        self._sessions: dict[str, ort.InferenceSession] = {}
        self._lock = threading.Lock()

    @property
    def status(self) -> providers.ProviderStatus:
        return providers.resolve(self.requested)

    def options(self) -> ort.SessionOptions:
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        return options

    def get(self, path: Path | str) -> ort.InferenceSession:
        with self._lock:  # fast path: the same path string as before
            if str(path) in self._sessions:
                return self._sessions[str(path)]
        path = Path(path)
        key = str(path.resolve())
        with self._lock:
            if key in self._sessions:
                self._sessions[str(path)] = self._sessions[key]
                return self._sessions[key]
        if not path.is_file():
            raise ModelError(f"Model file {path} is missing.")
        check_external_data(path)
        provider = self.status.active
        chosen = [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]
        try:
            # No output capture here: the provider was already probed (quietly) once, and capturing fds
            # from the worker thread would swallow what other threads print at the same moment.
            session = ort.InferenceSession(str(path), self.options(), providers=chosen)
        except Exception as exc:
            text = " ".join(str(exc).split())
            if "Protobuf parsing failed" in text or "INVALID_PROTOBUF" in text:
                text = "corrupt or truncated"
            raise ModelError(f"{path.name} could not be loaded: {text[:240]}") from None
        with self._lock:
            self._sessions[key] = self._sessions[str(path)] = session
        return session

    def run(self, session: ort.InferenceSession, feeds: dict, outputs: list | None = None) -> list:
        return session.run(outputs, cast_inputs(session, feeds))

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
