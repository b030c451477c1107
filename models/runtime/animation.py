"""Save frames as an animated GIF (ping-pong optional) or a folder of numbered PNGs (latent walks, filmstrips)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from models.runtime.errors import BadInput, StorageError


def _pictures(frames) -> list[Image.Image]:
    pictures = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    if not pictures:
        raise BadInput("There are no frames to export.")
    return pictures


def save_gif(frames, path, fps: float = 12.0, loop: bool = True, bounce: bool = False) -> Path:
    """Write HxWx3 uint8 frames as an animated GIF; `bounce` plays forward then back. Returns the path."""
    if not 0 < fps <= 50:
        raise BadInput(f"GIF speed must be between 1 and 50 frames per second (got {fps}).")
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise BadInput(f"{path.name}: an animation must be saved with the .gif extension.")
    pictures = _pictures(frames)
    if bounce and len(pictures) > 2:
        pictures = pictures + pictures[-2:0:-1]
    repeat = {"loop": 0} if loop else {}  # GIF: loop=0 repeats forever; no loop block plays once
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:],
                         duration=int(round(1000 / fps)), optimize=False, **repeat)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"Cannot write {path}: {exc.strerror or exc}") from None
    return path


def save_png_frames(frames, folder, stem: str = "frame") -> list[Path]:
    """Write frames as <folder>/<stem>-000.png, -001.png, ...; returns the paths in order."""
    pictures = _pictures(frames)
    folder = Path(folder)
    width = max(3, len(str(len(pictures) - 1)))
    paths = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for i, picture in enumerate(pictures):
            target = folder / f"{stem}-{i:0{width}d}.png"
            tmp = target.with_name(target.name + ".tmp")
            picture.save(tmp, format="PNG")
            tmp.replace(target)
            paths.append(target)
    except OSError as exc:
        raise StorageError(f"Cannot write frames to {folder}: {exc.strerror or exc}") from None
    return paths
