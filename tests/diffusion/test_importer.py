"""Importing optimum-layout SD folders: validation, copying, manifest and preview fitting."""
from __future__ import annotations

import json
import shutil

import onnx
import pytest

from models.diffusion.importer import import_model
from models.runtime.errors import ModelError
from models.runtime.registry import Registry

from .conftest import FIXTURES


@pytest.fixture
def registry(tmp_path):
    return Registry(user_dir=tmp_path / "user", bundled_dir=tmp_path / "bundled")


def test_import_writes_manifest_and_preview(registry):
    manifest = import_model(FIXTURES / "model", registry, name="tiny")
    folder = registry.get("diffusion", "tiny").folder
    assert manifest.kind == "diffusion" and manifest.params["vae_scale_factor"] == 8
    assert manifest.params["width"] == 64 and manifest.params["img2img"] is True
    assert (manifest.path("unet").parent / "model.onnx_data").is_file()
    preview = json.loads((registry.user_dir / "tiny" / "preview.json").read_text())
    assert len(preview["matrix"]) == 3 and len(preview["matrix"][0]) == 4
    assert folder.endswith("tiny")


def test_lcm_model_gets_lcm_defaults(registry, lcm_folder):
    manifest = import_model(lcm_folder, registry, name="tiny-lcm", preview=False)
    assert manifest.params["scheduler"] == "LCM" and manifest.params["steps"] == 4


def test_external_data_outside_the_folder_is_refused(registry, tmp_path):
    folder = tmp_path / "evil"
    shutil.copytree(FIXTURES / "model", folder)
    path = folder / "unet" / "model.onnx"
    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = "../../secret.bin"
    onnx.save(model, str(path))
    with pytest.raises(ModelError, match="outside its folder"):
        import_model(folder, registry, name="evil")
    assert not (registry.user_dir / "evil").exists()


def test_missing_parts_and_wrong_io(registry, tmp_path):
    folder = tmp_path / "broken"
    shutil.copytree(FIXTURES / "model", folder)
    shutil.rmtree(folder / "vae_decoder")
    with pytest.raises(ModelError, match="missing vae_decoder/model.onnx"):
        import_model(folder, registry)
    shutil.copytree(FIXTURES / "model" / "vae_decoder", folder / "vae_decoder")
    shutil.copy(folder / "vae_decoder" / "model.onnx", folder / "text_encoder" / "model.onnx")
    with pytest.raises(ModelError, match="text_encoder/model.onnx needs inputs input_ids"):
        import_model(folder, registry)
