"""Helpers shared by CLI commands: context, JSON output, progress on stderr, streaming."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from models import jobs
from models.runtime.context import Context
from models.runtime.events import Notice, Partial, Progress


def context(args) -> Context:
    return Context(provider=getattr(args, "provider", None))


def print_json(data: dict) -> None:
    print(json.dumps(data, indent=2, default=_plain))


def run_job(request, args, on_partial=None) -> dict:
    """Drive a job, drawing a progress line on stderr (unless --json) and returning the result dict."""
    ctx = context(args)
    quiet = getattr(args, "json", False) or not sys.stderr.isatty()
    start = time.perf_counter()

    def on_event(event):
        if isinstance(event, Notice):
            print(f"genloom: note: {event.text}", file=sys.stderr)
        elif isinstance(event, Progress) and not quiet:
            done = event.step / max(1, event.total)
            elapsed = time.perf_counter() - start
            eta = elapsed / done - elapsed if done else 0
            bar = "#" * int(done * 30)
            print(f"\r[{bar:<30}] {event.step}/{event.total} ETA {eta:4.1f}s", end="", file=sys.stderr)
        elif isinstance(event, Partial) and on_partial:
            on_partial(event)

    result = jobs.drive(request, ctx, on_event)
    if not quiet:
        print("", file=sys.stderr)
    return {**result, "elapsed_s": round(time.perf_counter() - start, 4)}


def public(result: dict, drop=("images", "latents", "frames")) -> dict:
    """The result without in-memory arrays, ready for --json."""
    return {k: v for k, v in result.items() if k not in drop}


def copy_out(result: dict, out: str | None) -> dict:
    """Also copy the saved files to --out DIR; `files` then lists the copies."""
    if not out:
        return result
    folder = Path(out)
    from models.runtime.errors import StorageError

    try:
        folder.mkdir(parents=True, exist_ok=True)
        copies = []
        for file in result.get("files", []):
            target = folder / Path(file).name
            target.write_bytes(Path(file).read_bytes())
            copies.append(str(target.resolve()))
    except OSError as exc:
        raise StorageError(f"Cannot write to {folder}: {exc.strerror or exc}") from None
    return {**result, "files": copies, "gallery_files": result.get("files", [])}


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
