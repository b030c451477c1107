"""Import a user's VAE: a folder with decoder.onnx (+ optional encoder.onnx, axes.json) or one decoder .onnx file."""
from __future__ import annotations

import shutil
from pathlib import Path

from models.runtime.errors import BadInput
from models.runtime.registry import MANIFEST, Manifest, read_manifest, write_manifest
from models.runtime.session import check_external_data

from . import explorer
from .validate import validate_decoder, validate_encoder

OUTPUT_RANGES = {"Tanh": [-1, 1], "Sigmoid": [0, 1]}


def _find_files(source: Path) -> dict[str, Path]:
    """role -> file for the decoder, and the encoder and axes when present."""
    if source.is_file():
        if source.suffix.lower() != ".onnx":
            raise BadInput(f"{source.name} is not an .onnx file.")
        return {"decoder": source}
    if (source / MANIFEST).is_file():
        manifest = read_manifest(source)
        if manifest.kind != "vae":
            raise BadInput(f"{source.name} holds a '{manifest.kind}' model, not a VAE.")
        return {role: manifest.path(role) for role in ("decoder", "encoder", "axes") if role in manifest.files}
    onnx_files = sorted(source.glob("*.onnx"))
    found: dict[str, Path] = {}
    for role in ("decoder", "encoder"):
        named = [p for p in onnx_files if role in p.stem.lower()]
        if len(named) > 1:
            raise BadInput(f"{source.name} holds several {role} files ({', '.join(p.name for p in named)}).")
        if named:
            found[role] = named[0]
    if "decoder" not in found:
        if len(onnx_files) != 1:
            raise BadInput(f"{source.name} needs a decoder.onnx (found {len(onnx_files)} .onnx files, none named decoder).")
        found["decoder"] = onnx_files[0]
    if (source / "axes.json").is_file():
        found["axes"] = source / "axes.json"
    return found


def _guess_range(path: Path) -> list:
    """[-1, 1] for a Tanh head, [0, 1] for a Sigmoid head, else [-1, 1]."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    output = model.graph.output[0].name
    for node in model.graph.node:
        if output in node.output:
            return OUTPUT_RANGES.get(node.op_type, [-1, 1])
    return [-1, 1]


def _with_external(path: Path) -> set[Path]:
    import onnx
    from onnx.external_data_helper import uses_external_data

    model = onnx.load(str(path), load_external_data=False)
    files = {path.resolve()}
    for tensor in model.graph.initializer:
        if uses_external_data(tensor):
            location = next(e.value for e in tensor.external_data if e.key == "location")
            files.add((path.parent / location).resolve())
    return files


def import_model(path, registry, name: str | None = None, **opts) -> Manifest:
    """Validate and copy a VAE into `registry.new_folder(name)`; writes and returns its manifest.

    opts: z_dim (when the graph leaves it symbolic), range ([low, high] of images), license, source.
    """
    source = Path(path).expanduser()
    if not source.exists():
        raise BadInput(f"{source} does not exist.")
    found = _find_files(source)
    for role in ("decoder", "encoder"):
        if role in found:
            check_external_data(found[role])
    dec = validate_decoder(found["decoder"])
    z_dim = opts.get("z_dim") or dec.z_dim
    if not z_dim:
        raise BadInput(f"{found['decoder'].name} leaves its latent size open; give it with z_dim.")
    if dec.z_dim and int(z_dim) != dec.z_dim:
        raise BadInput(f"z_dim {z_dim} does not match the decoder's latent size {dec.z_dim}.")
    io = {"decoder": {"inputs": {dec.input_name: ["N", int(z_dim)]},
                      "outputs": {dec.output_name: ["N", dec.channels, dec.height or "H", dec.width or "W"]}}}
    if "encoder" in found:
        enc = validate_encoder(found["encoder"], int(z_dim))
        io["encoder"] = {"inputs": {enc.input_name: ["N", enc.channels, enc.height or "H", enc.width or "W"]},
                         "outputs": {enc.mean_name: ["N", int(z_dim)]}}
    if "axes" in found:
        explorer.load_axes(found["axes"], int(z_dim))  # ModelError when it does not fit
    value_range = list(opts.get("range") or _guess_range(found["decoder"]))
    name = name or (source.stem if source.is_file() else source.name)
    with registry.installing(name) as folder:
        files = {}
        for role, file in found.items():
            base = file.parent.resolve()
            copies = _with_external(file) if file.suffix == ".onnx" else {file.resolve()}
            for item in copies:
                target = folder / role / item.relative_to(base) if role != "axes" else folder / "axes.json"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(item, target)
            files[role] = "axes.json" if role == "axes" else f"{role}/{file.name}"
        manifest = Manifest(kind="vae", name=folder.name, files=files, io=io,
                            license=opts.get("license", "unknown"), source=opts.get("source", f"imported from {source}"),
                            params={"z_dim": int(z_dim), "range": value_range}, folder=str(folder))
        write_manifest(folder, manifest)
    return read_manifest(folder)

