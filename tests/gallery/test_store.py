"""GalleryStore: adding, listing, searching, favourites, trash, export, and a full disk during a save."""
from __future__ import annotations

import errno
import json
import os
import time

import pytest
from PIL import Image

from models.gallery import store as store_module
from models.gallery.store import GalleryStore
from models.runtime.errors import BadInput, StorageError

from .conftest import image


def ids_of(items) -> set[int]:
    return {item.id for item in items}


def test_add_and_list_newest_first(store, sample):
    items = store.list()
    assert [i.id for i in items] == sorted(sample.values(), reverse=True)
    cat = store.get(sample["cat"])
    assert (cat.kind, cat.model, cat.seed, cat.prompt) == ("image", "tiny-sd", 1234, "a red cat")
    assert cat.params["steps"] == 20 and cat.path.is_file() and not cat.is_text
    with Image.open(cat.path) as picture:
        assert picture.size == (24, 24)
    chat = store.get(sample["chat"])
    assert chat.is_text and store.text_of(chat)["text"].startswith("Paris")
    assert store.models() == ["dcgan-faces", "mnist-vae", "tiny-llama", "tiny-sd"]
    with pytest.raises(BadInput):
        store.get(10_000)


def test_filters_and_search(store, sample):
    assert ids_of(store.list(kind="image")) == {sample["cat"], sample["dog"]}
    assert ids_of(store.list(model="dcgan-faces")) == {sample["face"]}
    assert ids_of(store.list(search="red cat")) == {sample["cat"]}  # every word must match
    assert ids_of(store.list(search="cat blue")) == set()
    assert ids_of(store.list(search="tiny-llama")) == {sample["chat"]}  # model name
    assert ids_of(store.list(search="1234")) == {sample["cat"]}  # seed (also in params)
    assert ids_of(store.list(search="99")) == {sample["dog"]}
    assert ids_of(store.list(search="truncation")) == {sample["face"]}  # parameter names
    assert ids_of(store.list(search="capital")) == {sample["chat"]}  # a chat's question
    assert len(store.list(limit=2)) == 2 and len(store.list(limit=2, offset=4)) == 1


def test_favourite_trash_restore_empty(store, sample):
    store.set_favourite(sample["dog"])
    assert ids_of(store.list(favourites=True)) == {sample["dog"]}
    store.set_favourite(sample["dog"], False)
    assert store.list(favourites=True) == []

    cat = store.get(sample["cat"])
    store.trash([sample["cat"], sample["chat"]])
    assert ids_of(store.list(trashed=True)) == {sample["cat"], sample["chat"]}
    assert sample["cat"] not in ids_of(store.list())
    assert cat.path.exists()  # trash is a flag: the file stays until the trash is emptied
    store.trash([sample["chat"]], trashed=False)
    assert sample["chat"] in ids_of(store.list())

    thumb = store.thumbnail(sample["cat"])
    assert thumb.exists()
    assert store.empty_trash() == 1
    assert not cat.path.exists() and not thumb.exists()
    assert store.list(trashed=True) == []
    with pytest.raises(BadInput):
        store.get(sample["cat"])
    assert len(store.list()) == 4


def test_export_images_and_text_formats(store, sample, tmp_path):
    out = tmp_path / "export"
    written = store.export([sample["cat"], sample["face"]], out)
    assert [p.name for p in written] == [f"image-{sample['cat']}.png", f"faces-{sample['face']}.png"]
    assert written[0].read_bytes() == store.get(sample["cat"]).path.read_bytes()  # metadata travels along

    md = store.export([sample["chat"]], out, text_format="md")[0]
    text = md.read_text(encoding="utf-8")
    assert md.suffix == ".md" and text.startswith("# Capitals")
    assert "## User" in text and "What is the capital of France?" in text and "## Assistant" in text
    assert "Paris is the capital" in text

    txt = store.export([sample["chat"]], out, text_format="txt")[0].read_text(encoding="utf-8")
    assert txt.startswith("Capitals\n========") and "ASSISTANT:\nParis" in txt and "#" not in txt

    data = json.loads(store.export([sample["chat"]], out, text_format="json")[0].read_text(encoding="utf-8"))
    assert data["model"] == "tiny-llama" and data["params"]["temperature"] == 0.7
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]

    with pytest.raises(BadInput):
        store.export([sample["chat"]], out, text_format="docx")


def test_export_to_unwritable_folder_is_one_line_storage_error(store, sample, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as caught:
        store.export([sample["cat"]], blocker / "sub")  # cannot mkdir under a file (works as root too)
    message = str(caught.value)
    assert "\n" not in message and "export folder" in message.lower()


class FullDisk:
    """A file handle whose write() stores a few bytes and then fails like a full disk."""

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()
        return False

    def write(self, data):
        self.handle.write(data[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name):
        return getattr(self.handle, name)


def test_full_disk_during_save_leaves_nothing(store, sample, monkeypatch):
    before_rows = len(store.list())
    before_files = sorted(p for p in store.files.rglob("*") if p.is_file())

    def full_open(path, mode="r", *args, **kwargs):
        return FullDisk(open(path, mode, *args, **kwargs))

    monkeypatch.setattr(store_module, "open", full_open, raising=False)
    with pytest.raises(StorageError) as caught:
        store.add_image(image(9), kind="image", model="tiny-sd", params={"seed": 3}, seed=3)
    assert "\n" not in str(caught.value) and "disk is full" in str(caught.value).lower()
    with pytest.raises(StorageError):
        store.add_text("hello", kind="chat", model="tiny-llama", params={})
    monkeypatch.undo()

    assert len(store.list()) == before_rows
    assert sorted(p for p in store.files.rglob("*") if p.is_file()) == before_files  # no file, no .tmp
    # The store still works once there is space again.
    new_id = store.add_image(image(9), kind="image", model="tiny-sd", params={"seed": 3}, seed=3)
    assert store.get(new_id).path.is_file()


def test_reopen_keeps_rows_and_reindexes_orphans(store, sample):
    orphan = store.get(sample["dog"])
    with store.db:
        store.db.execute("DELETE FROM items WHERE id = ?", (orphan.id,))  # as if killed before the INSERT
    junk = store.files / "junk.png.tmp"
    junk.write_bytes(b"\x89PNG half")
    os.utime(junk, (time.time() - 3600, time.time() - 3600))  # stale: no live writer owns it
    fresh = store.files / "live.png.tmp"
    fresh.write_bytes(b"\x89PNG being written")  # a live writer's temp file must survive
    store.close()
    again = GalleryStore()
    try:
        items = again.list()
        assert len(items) == 5 and list(again.files.rglob("*.tmp")) == [fresh]
        restored = [i for i in items if i.path == orphan.path]
        assert restored and restored[0].kind == "image" and restored[0].seed == 99
        assert restored[0].params["prompt"] == "a blue dog"
    finally:
        again.close()


def test_page_queries_walk_an_index_instead_of_sorting(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLOOM_HOME", str(tmp_path))
    from models.gallery.store import GalleryStore

    store = GalleryStore()
    for kind in (None, "image"):
        where = "trashed = ?" + (" AND kind = ?" if kind else "")
        args = (0,) + ((kind,) if kind else ()) + (400, 1000)
        plan = store.db.execute("EXPLAIN QUERY PLAN SELECT * FROM items WHERE " + where +
                                " ORDER BY created DESC, id LIMIT ? OFFSET ?", args).fetchall()
        text = " ".join(str(row[-1]) for row in plan)
        assert "TEMP B-TREE" not in text and "USING INDEX" in text, text
    store.close()
