"""Importing user models: guess the kind, dispatch to the family's importer. Used by the CLI and the window."""
from __future__ import annotations

import importlib
from pathlib import Path

from models.runtime.errors import BadInput
from models.runtime.events import Notice, Progress, Result
from models.runtime.registry import KINDS, Manifest, Registry

IMPORTERS = {"gan": "models.gan.importer", "vae": "models.vae.importer",
             "chat": "models.llm.importer", "diffusion": "models.diffusion.importer"}


def guess_kind(path: Path) -> str:
    if path.suffix.lower() == ".gguf":
        return "chat"
    if path.is_dir():
        names = {p.name for p in path.iterdir()}
        if "model_index.json" in names or "unet" in names:
            return "diffusion"
        if {"encoder.onnx", "decoder.onnx"} & names:
            return "vae"
        if names & {"genai_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model"}:
            return "chat"
    if path.suffix.lower() == ".onnx":
        return "gan"  # a single ONNX generator; its I/O is validated by the importer
    raise BadInput(f"Cannot tell what kind of model {path.name} is; pass --kind ({', '.join(KINDS)}).")


def import_path(path: Path | str, registry: Registry | None = None, kind: str | None = None,
                name: str | None = None, **options) -> Manifest:
    path = Path(path).expanduser()
    if not path.exists():
        raise BadInput(f"{path} does not exist.")
    kind = kind or guess_kind(path)
    importer = importlib.import_module(IMPORTERS[kind])
    if kind != "chat":
        options.pop("precision", None)
        options.pop("on_progress", None)
    return importer.import_model(path, registry or Registry(), name=name, **options)


def import_task(ctx, path: str):
    """A worker task: import with progress events (GGUF conversion reports per tensor)."""
    progress: list = []
    yield Notice(f"Importing {Path(path).name}…")
    manifest = import_path(path, ctx.registry, on_progress=lambda done, total: progress.append((done, total)))
    if progress:
        yield Progress(*progress[-1])
    yield Result({**manifest.to_json(), "folder": manifest.folder, "files": [], "gallery_ids": []})
