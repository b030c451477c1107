"""Import a chat model: a GGUF file (converted to ONNX) or an ONNX decoder folder
(optimum, onnx-community, onnxruntime-genai, Genloom) copied into the user's models folder."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

from models.runtime.errors import BadInput, GenloomError, ModelError
from models.runtime.registry import Manifest, write_manifest

from .gguf_import import convert_gguf, model_name
from .layouts import DecoderFiles, find_decoder


def import_model(path, registry, name: str | None = None, precision: str = "auto",
                 on_progress: Callable[[int, int], None] | None = None, **opts) -> Manifest:
    """Validate and install a chat model under `registry`; returns its manifest."""
    source = Path(path).expanduser()
    if not source.exists():
        raise BadInput(f"{source} does not exist.")
    if source.is_file() and source.suffix.lower() == ".gguf":
        with registry.installing(name or model_name(source)) as folder:
            return convert_gguf(source, folder, precision, on_progress, name=folder.name)
    files = find_decoder(source)
    validate(files)
    with registry.installing(name or _folder_name(files.root)) as folder:
        copied = [files.model, *files.data, *files.support]
        for done, item in enumerate(copied, 1):
            target = folder / item.relative_to(files.root)
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(item, target)
            if on_progress:
                on_progress(done, len(copied))
        roles = {"model": files.model.relative_to(files.root).as_posix()}
        for role, file_name in (("tokenizer", "tokenizer.json"), ("tokenizer", "tokenizer.model"),
                                ("tokenizer_config", "tokenizer_config.json")):
            if role not in roles and (folder / file_name).is_file():
                roles[role] = file_name
        if "tokenizer" not in roles:
            raise ModelError(f"{files.root.name} has no tokenizer.json or tokenizer.model")
        io = {"layout": files.layout}
        if files.shared_buffer is not None:
            io["kv_shared_buffer"] = bool(files.shared_buffer)
        manifest = Manifest(kind="chat", name=folder.name, files=roles, io=io, license=opts.get("license", "unknown"),
                            source=opts.get("source", f"imported from {source} ({files.layout})"),
                            params={**files.params, "default": False}, folder=str(folder))
        write_manifest(folder, manifest)
        return manifest


def validate(files: DecoderFiles) -> None:
    """Open the decoder and check its cache inputs against the config (ModelError with one line)."""
    import onnxruntime as ort

    from .decoder import Decoder

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        session = ort.InferenceSession(str(files.model), options, providers=["CPUExecutionProvider"])
    except GenloomError:
        raise
    except Exception as exc:  # onnxruntime raises several unrelated types for bad files
        text = " ".join(str(exc).split())[:200]
        raise ModelError(f"onnxruntime cannot load {files.model.name}: {text}") from None
    p = files.params
    Decoder(session, p.get("n_kv_heads"), p.get("head_dim"), p.get("context"), files.shared_buffer)


def _folder_name(root: Path) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in root.name.lower()).strip("-.") or "chat-model"


def _link_or_copy(src: Path, dst: Path) -> None:
    """A hard link when source and target share a disk (no extra space), else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
