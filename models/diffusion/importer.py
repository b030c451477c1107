"""Import a Stable Diffusion folder in the optimum ONNX layout into the model registry.

Checks before copying anything: the required submodels exist and are valid ONNX, their external data
stays inside the folder, their inputs/outputs are the SD ones, latent channels agree, the tokenizer and
scheduler config are readable. Then copies the folder, fits the latent preview (`preview.json`) with the
model's own VAE decoder and writes `genloom.json`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from models.runtime.errors import BadInput, ModelError
from models.runtime.registry import MANIFEST, Manifest, write_manifest
from models.runtime.session import check_external_data

from . import preview as latent_preview
from .clip_tokenizer import ClipTokenizer
from .sd_model import REQUIRED, onnx_files, read_json, vae_scale_factor

EXPECTED = {
    "text_encoder": ({"input_ids"}, 1),
    "unet": ({"sample", "timestep", "encoder_hidden_states"}, 1),
    "vae_decoder": ({"latent_sample"}, 1),
    "vae_encoder": ({"sample"}, 1),
}


def graph_io(path: Path) -> tuple[dict, list]:
    """(input name -> shape list, output names) of an ONNX file, without loading its weights."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        raise ModelError(f"{path.parent.name}/{path.name} is not a valid ONNX model (corrupt or truncated).") from None
    inits = {i.name for i in model.graph.initializer}
    inputs = {}
    for item in model.graph.input:
        if item.name in inits:
            continue
        dims = item.type.tensor_type.shape.dim
        inputs[item.name] = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in dims]
    return inputs, [o.name for o in model.graph.output]


def validate(folder: Path) -> dict:
    """Check an optimum-layout folder; returns facts for the manifest. ModelError with one line otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BadInput(f"{folder} is not a folder; a diffusion model is a folder in the optimum ONNX layout.")
    files = onnx_files(folder)
    missing = [p for p in REQUIRED if p not in files]
    if missing:
        raise ModelError(f"{folder.name} is missing {', '.join(m + '/model.onnx' for m in missing)}.")
    io = {}
    for part, path in files.items():
        check_external_data(path)
        inputs, outputs = graph_io(path)
        needed, n_out = EXPECTED[part]
        if not needed <= set(inputs):
            raise ModelError(f"{part}/model.onnx needs inputs {', '.join(sorted(needed))} (has {', '.join(inputs)}).")
        if len(outputs) < n_out:
            raise ModelError(f"{part}/model.onnx has no outputs.")
        io[part] = {"inputs": inputs, "outputs": outputs}
    unet_c = io["unet"]["inputs"]["sample"][1] if len(io["unet"]["inputs"]["sample"]) > 1 else None
    vae_c = io["vae_decoder"]["inputs"]["latent_sample"][1] if len(io["vae_decoder"]["inputs"]["latent_sample"]) > 1 else None
    if isinstance(unet_c, int) and isinstance(vae_c, int) and unet_c and vae_c and unet_c != vae_c:
        raise ModelError(f"The UNet works on {unet_c} latent channels but the VAE decoder expects {vae_c}.")
    ClipTokenizer(folder / "tokenizer")  # raises ModelError when missing or unreadable
    scheduler = read_json(folder / "scheduler" / "scheduler_config.json")
    vae_config = read_json(folder / "vae_decoder" / "config.json", default={})
    unet_config = read_json(folder / "unet" / "config.json", default={})
    channels = unet_c if isinstance(unet_c, int) and unet_c else int(vae_config.get("latent_channels", 4))
    return {"io": io, "scheduler": scheduler, "vae": vae_config, "unet": unet_config, "channels": channels}


def default_params(facts: dict) -> dict:
    """Manifest params: size, latent layout and a sampler that suits the model (LCM for LCM UNets)."""
    factor = vae_scale_factor(facts["vae"], {})
    side = int(facts["unet"].get("sample_size") or 64) * factor
    lcm = "timestep_cond" in facts["io"]["unet"]["inputs"] or facts["scheduler"].get("_class_name") == "LCMScheduler"
    params = {"width": side, "height": side, "latent_channels": facts["channels"], "vae_scale_factor": factor,
              "scaling_factor": float(facts["vae"].get("scaling_factor", 0.18215)),
              "steps": 4 if lcm else 20, "guidance": 1.5 if lcm else 7.0, "scheduler": "LCM" if lcm else "Euler a",
              "img2img": "vae_encoder" in facts["io"]}
    return params


def fit_preview(folder: Path, channels: int, scaling: float, samples: int = 3, size: int = 16) -> Path:
    """Fit preview.json by decoding a few smooth random latents with the model's own VAE decoder."""
    import onnxruntime as ort

    from .sd_model import run

    session = ort.InferenceSession(str(folder / "vae_decoder" / "model.onnx"), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    latents = latent_preview.smooth_latents(rng, samples, channels, size)  # (N, C, s, s), scaled like the loop
    images = np.concatenate([run(session, {"latent_sample": z[None] / np.float32(scaling)}) for z in latents])
    return latent_preview.save_preview(folder, latent_preview.fit(latents, np.clip(images, -1, 1)))


def import_model(path, registry, name: str | None = None, **opts) -> Manifest:
    """Validate and copy an optimum-layout SD folder into the registry; returns its manifest.

    opts: license, source, preview (False to skip fitting preview.json).
    """
    source = Path(path).expanduser()
    if not source.exists():
        raise BadInput(f"{source} does not exist.")
    facts = validate(source)
    with registry.installing(name or source.name) as folder:
        for item in source.rglob("*"):
            if item.is_symlink():
                raise BadInput(f"{item.relative_to(source)} is a symbolic link; copy the real file in instead.")
            if item.is_file() and item.name != MANIFEST:
                target = folder / item.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(item, target)
        params = default_params(facts)
        if opts.get("preview", True) and not (folder / latent_preview.FILE).is_file():
            fit_preview(folder, facts["channels"], params["scaling_factor"])
        files = {part: f"{part}/model.onnx" for part in facts["io"]}
        files.update(tokenizer="tokenizer/vocab.json", scheduler="scheduler/scheduler_config.json")
        io = {part: {"inputs": sorted(v["inputs"]), "outputs": v["outputs"]} for part, v in facts["io"].items()}
        manifest = Manifest(kind="diffusion", name=folder.name, files=files, io=io,
                            license=str(opts.get("license") or "unknown"),
                            source=str(opts.get("source") or source), params=params, folder=str(folder))
        write_manifest(folder, manifest)
    return manifest

