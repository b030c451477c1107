"""The gallery store: files under <home>/gallery/files plus a SQLite (WAL) index.

Crash safety: a file is written to a temporary name, fsynced, and renamed into place; only then is its
row inserted. A killed process can leave a complete file without a row, never a row without its file
or a half-written file. `recover()` (run on open) re-indexes such files from their embedded metadata.
"""
from __future__ import annotations

import errno
import json
import os
import secrets
import threading
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from models.runtime import paths
from models.runtime.errors import BadInput, StorageError

from . import pngmeta

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    model TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    params TEXT NOT NULL DEFAULT '{}',
    seed INTEGER,
    prompt TEXT NOT NULL DEFAULT '',
    favourite INTEGER NOT NULL DEFAULT 0,
    tags TEXT NOT NULL DEFAULT '',
    trashed INTEGER NOT NULL DEFAULT 0,
    file TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS items_model ON items(model);
-- the gallery's page order (newest first, then id): deep pages walk the index instead of sorting every row
CREATE INDEX IF NOT EXISTS items_page ON items(trashed, created DESC, id);
CREATE INDEX IF NOT EXISTS items_kind_page ON items(kind, trashed, created DESC, id);
DROP INDEX IF EXISTS items_kind;
DROP INDEX IF EXISTS items_trashed_created;
"""
STALE_TMP_SECONDS = 600  # a temp file this old belongs to no live writer
TEXT_FORMATS = ("md", "txt", "json")


@dataclass(frozen=True)
class Item:
    id: int
    kind: str
    model: str
    created: float
    params: dict
    seed: int | None
    prompt: str
    favourite: bool
    tags: str
    trashed: bool
    path: Path

    @property
    def is_text(self) -> bool:
        return self.path.suffix == ".json"

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "model": self.model, "created": self.created,
                "params": self.params, "seed": self.seed, "prompt": self.prompt,
                "favourite": self.favourite, "tags": self.tags, "trashed": self.trashed,
                "files": [str(self.path)]}


class GalleryStore:
    def __init__(self, root: Path | None = None):
        self.root = (Path(root) if root else paths.gallery_dir()).resolve()
        self.files = self.root / "files"
        self.thumbs = self.root / "thumbs"
        self.files.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.root / "index.sqlite", timeout=30, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        fresh = self.db.execute("SELECT name FROM sqlite_master WHERE name = 'items'").fetchone() is None
        self.db.executescript(SCHEMA)
        if fresh and self.thumbs.is_dir():  # thumbnails are keyed by id: a new index invalidates them
            for thumb in self.thumbs.glob("*.png"):
                thumb.unlink(missing_ok=True)
        self.recover()

    # ---- writing -------------------------------------------------------------------------------
    def add_image(self, image, *, kind: str, model: str, params: dict, seed: int | None = None,
                  prompt: str = "", a1111: str | None = None) -> int:
        """Save an HxWx3 uint8 image (or PIL image) with its request embedded; returns the item id."""
        meta = {"kind": kind, "model": model, "params": params, "seed": seed, "prompt": prompt}
        data = pngmeta.encode_png(image, meta, a1111)
        return self._add(data, ".png", meta)

    def add_text(self, text: str, *, kind: str, model: str, params: dict, seed: int | None = None,
                 prompt: str = "", messages: list | None = None) -> int:
        """Save a text item (a chat answer or conversation) as JSON; exportable as md/txt/json."""
        meta = {"kind": kind, "model": model, "params": params, "seed": seed, "prompt": prompt,
                "text": text, "messages": messages or [{"role": "user", "content": prompt},
                                                        {"role": "assistant", "content": text}]}
        data = json.dumps({"genloom": meta}, indent=2, ensure_ascii=False).encode("utf-8")
        return self._add(data, ".json", meta)

    def _add(self, data: bytes, suffix: str, meta: dict) -> int:
        day = time.strftime("%Y-%m")
        folder = self.files / day
        stem = f"{meta['kind']}-{time.time_ns()}-{secrets.token_hex(3)}"  # unique even on a coarse clock
        if meta.get("seed") is not None:
            stem += f"-s{meta['seed']}"
        final = folder / (stem + suffix)
        _atomic_write(final, data)
        try:
            with self.db:
                cursor = self.db.execute(
                    "INSERT INTO items(kind, model, created, params, seed, prompt, file) VALUES (?,?,?,?,?,?,?)",
                    (meta["kind"], meta.get("model") or "", time.time(), json.dumps(meta.get("params") or {}, default=str),
                     meta.get("seed"), meta.get("prompt") or "", str(final.relative_to(self.files))))
        except sqlite3.Error as exc:
            final.unlink(missing_ok=True)
            raise StorageError(f"The gallery index could not be updated: {exc}") from None
        return int(cursor.lastrowid)

    # ---- reading -------------------------------------------------------------------------------
    def list(self, kind: str | None = None, model: str | None = None, search: str | None = None,
             favourites: bool = False, trashed: bool = False, limit: int | None = None, offset: int = 0,
             newest_first: bool = True) -> list[Item]:
        where, args = ["trashed = ?"], [1 if trashed else 0]
        if kind:
            where.append("kind = ?")
            args.append(kind)
        if model:
            where.append("model = ?")
            args.append(model)
        if favourites:
            where.append("favourite = 1")
        if search:
            for word in search.split():
                where.append("(prompt LIKE ? OR params LIKE ? OR model LIKE ? OR CAST(seed AS TEXT) = ? OR tags LIKE ?)")
                like = f"%{word}%"
                args += [like, like, like, word, like]
        sql = f"SELECT * FROM items WHERE {' AND '.join(where)} ORDER BY created {'DESC' if newest_first else 'ASC'}, id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        return [self._item(row) for row in self.db.execute(sql, args)]

    def count(self, kind: str | None = None, trashed: bool = False) -> int:
        sql, args = "SELECT COUNT(*) FROM items WHERE trashed = ?", [1 if trashed else 0]
        if kind:
            sql += " AND kind = ?"
            args.append(kind)
        return int(self.db.execute(sql, args).fetchone()[0])

    def kinds(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT kind FROM items WHERE trashed = 0 ORDER BY kind")]

    def ids(self, **filters) -> list[int]:
        return [item.id for item in self.list(**filters)]

    def get(self, item_id: int) -> Item:
        row = self.db.execute("SELECT * FROM items WHERE id = ?", (int(item_id),)).fetchone()
        if row is None:
            raise BadInput(f"No gallery item with id {item_id}.")
        return self._item(row)

    def models(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT model FROM items WHERE trashed = 0 ORDER BY model")]

    def text_of(self, item: Item) -> dict:
        return json.loads(item.path.read_text(encoding="utf-8"))["genloom"]

    # ---- changing ------------------------------------------------------------------------------
    def set_favourite(self, item_id: int, favourite: bool = True) -> None:
        self.get(item_id)
        with self.db:
            self.db.execute("UPDATE items SET favourite = ? WHERE id = ?", (1 if favourite else 0, int(item_id)))

    def set_tags(self, item_id: int, tags: str) -> None:
        self.get(item_id)
        with self.db:
            self.db.execute("UPDATE items SET tags = ? WHERE id = ?", (tags, int(item_id)))

    def trash(self, ids, trashed: bool = True) -> None:
        """Safe delete: items go to the trash (restorable) until the trash is emptied."""
        for item_id in ids:
            self.get(item_id)
        with self.db:
            self.db.executemany("UPDATE items SET trashed = ? WHERE id = ?", [(1 if trashed else 0, int(i)) for i in ids])

    def empty_trash(self) -> int:
        items = self.list(trashed=True)
        with self.db:
            self.db.executemany("DELETE FROM items WHERE id = ?", [(i.id,) for i in items])
        for item in items:  # rows first, then files: a crash in between leaves orphan files, re-indexed later
            item.path.unlink(missing_ok=True)
            (self.thumbs / f"{item.id}.png").unlink(missing_ok=True)
        return len(items)

    def export(self, ids, folder: Path | str, text_format: str = "md") -> list[Path]:
        """Copy items to `folder` (text items converted to md/txt/json); returns the written paths."""
        if text_format not in TEXT_FORMATS:
            raise BadInput(f"Unknown text format '{text_format}' (choose from {', '.join(TEXT_FORMATS)}).")
        items = [self.get(i) for i in ids]
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"Cannot create export folder {folder}: {exc.strerror}") from None
        if not os.access(folder, os.W_OK):
            raise StorageError(f"Export folder {folder} is not writable.")
        written = []
        for item in items:
            if item.is_text:
                from .text_export import render

                data = render(self.text_of(item), text_format).encode("utf-8")
                target = folder / f"{item.kind}-{item.id}.{text_format}"
            else:
                data = item.path.read_bytes()
                target = folder / f"{item.kind}-{item.id}{item.path.suffix}"
            _atomic_write(target, data)
            written.append(target.resolve())
        return written

    def thumbnail(self, item_id: int, size: int = 192) -> Path:
        """A cached PNG thumbnail of an image item (made on first request)."""
        from PIL import Image

        target = self.thumbs / f"{item_id}.png"
        if target.exists():
            return target
        item = self.get(item_id)
        if item.is_text:
            raise BadInput(f"Item {item_id} is text and has no thumbnail.")
        self.thumbs.mkdir(parents=True, exist_ok=True)
        with Image.open(item.path) as picture:
            picture = picture.convert("RGB")
            picture.thumbnail((size, size), Image.Resampling.LANCZOS if picture.width > size else Image.Resampling.BICUBIC)
            if picture.width < size:  # small images (64 px faces) are upscaled smoothly
                scale = size / max(picture.width, picture.height)
                picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.Resampling.BICUBIC)
            import io
            buffer = io.BytesIO()
            picture.save(buffer, format="PNG")
        _atomic_write(target, buffer.getvalue(), sync=False)
        return target

    # ---- recovery ------------------------------------------------------------------------------
    def recover(self) -> int:
        """Remove stale temp files and re-index complete files that have no row (after a kill).

        Cheap when nothing happened: the full scan runs only if the folder holds more files than rows.
        """
        on_disk = []
        for entry in os.scandir(self.files):
            on_disk.extend(os.scandir(entry.path) if entry.is_dir() else [entry])
        rows = int(self.db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
        if len(on_disk) <= rows:
            return 0
        known = {r[0] for r in self.db.execute("SELECT file FROM items")}
        added = 0
        now = time.time()
        for path in sorted(Path(e.path) for e in on_disk if e.is_file()):
            if path.name.endswith(".tmp"):
                if now - path.stat().st_mtime > STALE_TMP_SECONDS:  # younger ones may belong to a live writer
                    path.unlink(missing_ok=True)
                continue
            rel = str(path.relative_to(self.files))
            if rel in known:
                continue
            meta = _meta_of(path)
            if meta is None:
                continue
            with self.db:
                self.db.execute(
                    "INSERT INTO items(kind, model, created, params, seed, prompt, file) VALUES (?,?,?,?,?,?,?)",
                    (meta.get("kind", "unknown"), meta.get("model") or "", path.stat().st_mtime,
                     json.dumps(meta.get("params") or {}, default=str), meta.get("seed"), meta.get("prompt") or "", rel))
            added += 1
        return added

    def close(self) -> None:
        self.db.close()

    def _item(self, row) -> Item:
        (item_id, kind, model, created, params, seed, prompt, favourite, tags, trashed, file) = row
        return Item(item_id, kind, model, created, json.loads(params), seed, prompt, bool(favourite), tags,
                    bool(trashed), self.files / file)


def _meta_of(path: Path) -> dict | None:
    try:
        if path.suffix == ".json":
            return json.loads(path.read_text(encoding="utf-8")).get("genloom")
        if path.suffix == ".png":
            return pngmeta.read_meta(path)[0]
    except (OSError, ValueError, BadInput):
        return None
    return None


def _atomic_write(target: Path, data: bytes, sync: bool = True) -> None:
    """Write to a temp name, fsync, rename into place. A full disk raises StorageError and leaves nothing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}-{threading.get_ident()}.tmp")  # one per writer
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        if exc.errno == errno.ENOSPC:
            raise StorageError(f"The disk is full: {target.name} was not saved. Free some space and try again.") from None
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise StorageError(f"Cannot write {target.parent}: permission denied.") from None
        raise StorageError(f"Cannot write {target.name}: {exc.strerror or exc}") from None
