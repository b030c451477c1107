"""The model registry: a model is a folder with a `genloom.json` manifest.

Two sources: bundled defaults (resources/models) and user models (<GENLOOM_HOME>/models).
User models with the same name shadow bundled ones.
"""
from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import paths
from .errors import BadInput, ModelError, StorageError

MANIFEST = "genloom.json"
KINDS = ("chat", "diffusion", "gan", "vae")


@dataclass(frozen=True)
class Manifest:
    kind: str
    name: str
    files: dict = field(default_factory=dict)  # role -> path relative to the folder
    io: dict = field(default_factory=dict)  # free-form I/O description (names, shapes, ranges)
    license: str = "unknown"
    source: str = "unknown"
    params: dict = field(default_factory=dict)  # kind-specific settings (z_dim, range, axes, ...)
    folder: str = ""  # filled in when loaded; not stored

    def path(self, role: str) -> Path:
        """Absolute path of a file role, refusing paths that leave the model folder."""
        if role not in self.files:
            raise ModelError(f"Model '{self.name}' has no '{role}' file in its manifest.")
        folder = Path(self.folder).resolve()
        target = (folder / self.files[role]).resolve()
        if folder != target and folder not in target.parents:
            raise ModelError(f"Model '{self.name}': file '{self.files[role]}' points outside its folder; refused.")
        if not target.exists():
            raise ModelError(f"Model '{self.name}' is missing its file {self.files[role]}.")
        return target

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("folder")
        return data


def read_manifest(folder: Path) -> Manifest:
    file = Path(folder) / MANIFEST
    if not file.is_file():
        raise ModelError(f"{folder} has no {MANIFEST}.")
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") not in KINDS or not data.get("name"):
        raise ModelError(f"{file} needs a 'name' and a 'kind' among {', '.join(KINDS)}.")
    known = {k: data[k] for k in ("kind", "name", "files", "io", "license", "source", "params") if k in data}
    return Manifest(**known, folder=str(Path(folder).resolve()))


def write_manifest(folder: Path, manifest: Manifest) -> None:
    folder = Path(folder)
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest.to_json(), indent=2), encoding="utf-8")
    tmp.replace(folder / MANIFEST)


class Registry:
    """Lists and finds models. Cheap: it only reads manifests, never loads sessions."""

    def __init__(self, user_dir: Path | None = None, bundled_dir: Path | None = None):
        self.user_dir = Path(user_dir) if user_dir else paths.models_dir()
        self.bundled_dir = Path(bundled_dir) if bundled_dir else paths.bundled_models_dir()
        self._cache: tuple[tuple, list[Manifest]] | None = None

    def _stamp(self) -> tuple:
        """Changes when a model folder is added, removed or renamed, or its manifest is (re)written
        (manifests are replaced atomically, which touches the folder's mtime)."""
        stamp = []
        for source in (self.bundled_dir, self.user_dir):
            try:
                stamp.extend((entry.path, entry.stat().st_mtime_ns) for entry in os.scandir(source) if entry.is_dir())
            except OSError:
                stamp.append((str(source), None))
        return tuple(stamp)

    def all(self) -> list[Manifest]:
        """Every installed model; manifests are re-read only when a models folder changed."""
        stamp = self._stamp()
        if self._cache is not None and self._cache[0] == stamp:
            return list(self._cache[1])
        found = self._scan()
        self._cache = (stamp, found)
        return list(found)

    def _scan(self) -> list[Manifest]:
        found: dict[str, Manifest] = {}
        for source in (self.bundled_dir, self.user_dir):
            if not source.is_dir():
                continue
            for folder in sorted(p for p in source.iterdir() if p.is_dir()):
                try:
                    manifest = read_manifest(folder)
                except ModelError:
                    continue
                found[manifest.name] = manifest
        return list(found.values())

    def of_kind(self, kind: str) -> list[Manifest]:
        return [m for m in self.all() if m.kind == kind]

    def is_bundled(self, manifest: Manifest) -> bool:
        return Path(manifest.folder).parent == self.bundled_dir.resolve()

    def get(self, kind: str, name: str | None = None) -> Manifest:
        """The named model of a kind, or the default (bundled first, then user) when name is None."""
        models = self.of_kind(kind)
        if name:
            for manifest in models:
                if manifest.name == name:
                    return manifest
            known = ", ".join(m.name for m in models) or "none"
            raise BadInput(f"No {kind} model named '{name}' (installed: {known}).")
        if not models:
            raise ModelError(f"No {kind} model is installed. Run 'genloom setup' or import one with 'genloom models import'.")
        bundled = [m for m in models if self.is_bundled(m)]
        preferred = [m for m in models if m.params.get("default")]
        return (preferred or bundled or models)[0]

    def remove(self, name: str) -> None:
        for manifest in self.all():
            if manifest.name == name:
                if self.is_bundled(manifest):
                    raise BadInput(f"'{name}' is a bundled model and cannot be removed.")
                shutil.rmtree(manifest.folder)
                return
        raise BadInput(f"No model named '{name}'.")

    @contextmanager
    def installing(self, name: str):
        """A fresh model folder for an import; removed again if the import fails for any reason
        (cancel included), and a failed copy becomes a one-line StorageError."""
        folder = self.new_folder(name)
        try:
            yield folder
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise StorageError(f"Cannot copy the model into {folder}: {exc.strerror or exc}") from None
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def new_folder(self, name: str) -> Path:
        """A fresh folder for an imported model; refuses names that clash or escape."""
        safe = "".join(c for c in name if c.isalnum() or c in "-_.").strip(".")
        if not safe:
            raise BadInput(f"'{name}' is not a usable model name (letters, digits, - _ . only).")
        if any(m.name == safe for m in self.all()):
            raise BadInput(f"A model named '{safe}' already exists; pass --name to choose another.")
        folder = self.user_dir / safe
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        return folder
