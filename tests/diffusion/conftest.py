"""Shared fixtures: the tiny SD model folders and a plain onnxruntime session getter."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_sd"


class Sessions:
    """A minimal stand-in for ctx.sessions: cached CPU sessions by path."""

    def __init__(self):
        self.cache = {}

    def get(self, path):
        import onnxruntime as ort

        key = str(Path(path).resolve())
        if key not in self.cache:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            self.cache[key] = ort.InferenceSession(key, opts, providers=["CPUExecutionProvider"])
        return self.cache[key]


@pytest.fixture(scope="session")
def sessions():
    return Sessions()


@pytest.fixture(scope="session")
def tiny_folder():
    return FIXTURES / "model"


@pytest.fixture(scope="session")
def lcm_folder(tmp_path_factory):
    """The LCM variant: its own unet (fp16 I/O) and scheduler, the rest shared with the main tiny model."""
    folder = tmp_path_factory.mktemp("tiny_lcm")
    for part in ("tokenizer", "text_encoder", "vae_decoder", "vae_encoder"):
        shutil.copytree(FIXTURES / "model" / part, folder / part)
    for item in (FIXTURES / "model_lcm").iterdir():
        (shutil.copytree if item.is_dir() else shutil.copy)(item, folder / item.name)
    return folder


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    """A real Context on a fresh GENLOOM_HOME (CPU provider) with the tiny model imported as 'tiny'."""
    from models.diffusion.importer import import_model
    from models.runtime.context import Context

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GENLOOM_HOME", str(tmp_path_factory.mktemp("home")))
        context = Context(provider="cpu")
        import_model(FIXTURES / "model", context.registry, name="tiny")
        yield context
        if "gallery" in context.__dict__:
            context.gallery.close()
