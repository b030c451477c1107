"""Import a user's GAN generator (a single .onnx file or a folder) into the model registry."""
from __future__ import annotations

import shutil
from pathlib import Path

from models.runtime.errors import BadInput
from models.runtime.registry import MANIFEST, Manifest, read_manifest, write_manifest
from models.runtime.session import check_external_data

from .validate import validate_generator

OUTPUT_RANGES = {"Tanh": [-1, 1], "Sigmoid": [0, 1]}


def _find_generator(source: Path) -> Path:
    """The .onnx file to import: the file itself, the folder's manifest 'generator', or its only .onnx."""
    if source.is_file():
        if source.suffix.lower() != ".onnx":
            raise BadInput(f"{source.name} is not an .onnx file.")
        return source
    if (source / MANIFEST).is_file():
        manifest = read_manifest(source)
        if manifest.kind != "gan":
            raise BadInput(f"{source.name} holds a '{manifest.kind}' model, not a GAN.")
        return manifest.path("generator")
    found = sorted(source.glob("*.onnx"))
    if len(found) != 1:
        raise BadInput(f"{source.name} must hold exactly one .onnx file (found {len(found)}).")
    return found[0]


def _guess_range(path: Path) -> list:
    """[-1, 1] for a Tanh head, [0, 1] for a Sigmoid head, else [-1, 1] (the DCGAN/StyleGAN convention)."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    output = model.graph.output[0].name
    for node in model.graph.node:
        if output in node.output:
            return OUTPUT_RANGES.get(node.op_type, [-1, 1])
    return [-1, 1]


def _external_files(path: Path) -> set[Path]:
    """The external-data files `path` refers to (already checked to stay inside its folder)."""
    import onnx
    from onnx.external_data_helper import uses_external_data

    model = onnx.load(str(path), load_external_data=False)
    files = set()
    for tensor in model.graph.initializer:
        if uses_external_data(tensor):
            location = next(e.value for e in tensor.external_data if e.key == "location")
            files.add((path.parent / location).resolve())
    return files


def import_model(path, registry, name: str | None = None, **opts) -> Manifest:
    """Validate and copy a generator into `registry.new_folder(name)`; writes and returns its manifest.

    opts: z_dim (when the graph leaves it symbolic), range ([low, high] of the output), license, source.
    """
    source = Path(path).expanduser()
    if not source.exists():
        raise BadInput(f"{source} does not exist.")
    onnx_file = _find_generator(source)
    check_external_data(onnx_file)  # corrupt files and data paths leaving the folder stop here
    io = validate_generator(onnx_file)
    z_dim = opts.get("z_dim") or io.z_dim
    if not z_dim:
        raise BadInput(f"{onnx_file.name} leaves its latent size open; give it with z_dim.")
    value_range = list(opts.get("range") or _guess_range(onnx_file))
    name = name or (source.stem if source.is_file() else source.name)
    with registry.installing(name) as folder:
        if source.is_dir():
            relative = onnx_file.resolve().relative_to(source.resolve())
            for item in source.rglob("*"):
                if item.is_file() and not item.is_symlink() and item.name != MANIFEST:
                    target = folder / item.relative_to(source)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(item, target)
        else:
            relative = Path(onnx_file.name)
            for extra in {onnx_file.resolve(), *_external_files(onnx_file)}:
                target = folder / extra.relative_to(onnx_file.parent.resolve())
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(extra, target)
        manifest = Manifest(
            kind="gan", name=folder.name, files={"generator": relative.as_posix()},
            io={"inputs": {io.input_name: {"rank": io.input_rank, "z_dim": z_dim}},
                "outputs": {io.output_name: {"shape": ["N", 3, io.height or "H", io.width or "W"], "range": value_range}}},
            license=opts.get("license", "unknown"), source=opts.get("source", f"imported from {source}"),
            params={"z_dim": int(z_dim), "range": value_range}, folder=str(folder))
        write_manifest(folder, manifest)
    return read_manifest(folder)
