"""Reference tests for the face-VAE recipe (torch): ONNX export parity, PCA axes, resumable training."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.heavy


def test_onnx_export_matches_torch(tmp_path):
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    from models.zoo.face_vae.export import export_onnx
    from models.zoo.face_vae.model import FaceVae, VaeConfig

    torch.manual_seed(0)
    model = FaceVae(VaeConfig(z_dim=6, width=8)).eval()
    export_onnx(model, tmp_path)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        mean, logvar = model.encoder(x)
        image = model.decoder(mean)
    enc = ort.InferenceSession(str(tmp_path / "encoder.onnx"), providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(str(tmp_path / "decoder.onnx"), providers=["CPUExecutionProvider"])
    o_mean, o_logvar = enc.run(["mean", "logvar"], {"image": x.numpy()})
    o_image = dec.run(["image"], {"z": o_mean})[0]
    np.testing.assert_allclose(o_mean, mean.numpy(), atol=1e-4)
    np.testing.assert_allclose(o_logvar, logvar.numpy(), atol=1e-4)
    np.testing.assert_allclose(o_image, image.numpy(), atol=1e-4)
    assert o_image.shape == (3, 3, 64, 64) and np.abs(o_image).max() <= 1.0


def test_pca_axes_order_and_units():
    pytest.importorskip("torch")
    from models.vae import explorer
    from models.zoo.face_vae.export import pca_axes

    rng = np.random.default_rng(0)
    means = rng.standard_normal((3000, 5)) * np.array([5.0, 0.5, 2.0, 1.0, 0.1]) + 3.0
    data = json.loads(json.dumps(pca_axes(means)))
    axes = explorer.axes_from_json(data, 5)
    np.testing.assert_allclose(axes.sigma, [5.0, 2.0, 1.0, 0.5, 0.1], rtol=0.06)
    np.testing.assert_allclose(np.abs(axes.components[0]), [1, 0, 0, 0, 0], atol=0.02)
    sliders = np.stack([explorer.latent_to_sliders(m, axes) for m in means[:500]])
    np.testing.assert_allclose(sliders.std(0), 1.0, atol=0.1)


def test_training_resumes_from_its_checkpoint(tmp_path):
    torch = pytest.importorskip("torch")
    from models.zoo.face_vae import train
    from models.zoo.face_vae.model import VaeConfig

    np.save(tmp_path / "faces_96.npy", np.random.RandomState(0).randint(0, 255, (96, 64, 64, 3), dtype=np.uint8))
    cfg = train.TrainConfig(count=96, val=32, batch=16, budget_s=1.0, checkpoint_every_s=0.0)
    vcfg = VaeConfig(z_dim=4, width=4)
    final = train.train(cfg, vcfg, tmp_path)
    first = torch.load(final, weights_only=False)["metrics"]
    assert first["steps"] >= 1 and np.isfinite(first["mse"])
    final.unlink()
    longer = train.TrainConfig(count=96, val=32, batch=16, budget_s=2.0, checkpoint_every_s=0.0)
    second = torch.load(train.train(longer, vcfg, tmp_path), weights_only=False)["metrics"]
    assert second["steps"] > first["steps"]  # resumed, not restarted
