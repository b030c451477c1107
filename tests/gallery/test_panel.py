"""GalleryPanel: filters, search, favourites, trash, export, reuse, open, keyboard, tooltips, lazy thumbnails."""
from __future__ import annotations

import json
import time

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QAbstractButton, QCheckBox, QComboBox, QLineEdit, QSlider

from desktop.panels import gallery_panel
from desktop.panels.gallery_panel import GalleryPanel

from .conftest import load_benchmark


def shown_ids(panel) -> set[int]:
    return {panel.model.item_at(row).id for row in range(panel.model.rowCount())}


def select(panel, *ids) -> None:
    panel.select_ids(list(ids))
    assert set(panel.selected_ids()) == set(ids)


def wait_thumbnails(qtbot, panel, ids) -> None:
    qtbot.waitUntil(lambda: all(panel.loader.cache.get(i) is not None for i in ids), timeout=10000)


def test_panel_identity_and_tooltips(make_panel, sample):
    panel = make_panel()
    assert (GalleryPanel.key, GalleryPanel.title, GalleryPanel.kinds) == ("gallery", "Gallery", ())
    assert isinstance(panel.search_box, QLineEdit)
    controls = panel.findChildren(QAbstractButton) + panel.findChildren(QComboBox) + \
        panel.findChildren(QCheckBox) + panel.findChildren(QSlider) + [panel.search_box, panel.view, panel.details]
    missing = [c for c in controls if c.isVisibleTo(panel) and not c.toolTip() and c.parent() is not None
               and not isinstance(c.parent(), (QComboBox, QLineEdit))]
    assert not missing, [type(c).__name__ + ":" + getattr(c, "text", lambda: "")() for c in missing]
    assert shown_ids(panel) == set(sample.values())


def test_filters_kind_model_favourites(make_panel, store, sample):
    panel = make_panel()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("image"))
    assert shown_ids(panel) == {sample["cat"], sample["dog"]}
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("chat"))
    assert shown_ids(panel) == {sample["chat"]}
    panel.kind_combo.setCurrentIndex(0)
    assert [panel.model_combo.itemData(i) for i in range(panel.model_combo.count())] == \
        ["", "dcgan-faces", "mnist-vae", "tiny-llama", "tiny-sd"]
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("dcgan-faces"))
    assert shown_ids(panel) == {sample["face"]}
    panel.model_combo.setCurrentIndex(0)
    store.set_favourite(sample["vae"])
    panel.favourites_check.setChecked(True)
    assert shown_ids(panel) == {sample["vae"]}


def test_search_is_debounced(make_panel, qtbot, sample):
    panel = make_panel()
    panel.search_box.setText("blue dog")
    assert len(shown_ids(panel)) == 5  # not yet: the search waits for a pause in typing
    qtbot.waitUntil(lambda: shown_ids(panel) == {sample["dog"]}, timeout=3000)
    panel.search_box.setText("1234")
    qtbot.waitUntil(lambda: shown_ids(panel) == {sample["cat"]}, timeout=3000)
    panel.search_box.setText("tiny-llama")
    qtbot.waitUntil(lambda: shown_ids(panel) == {sample["chat"]}, timeout=3000)
    panel.search_box.clear()
    qtbot.waitUntil(lambda: len(shown_ids(panel)) == 5, timeout=3000)


def test_favourite_toggle_and_details(make_panel, store, sample):
    panel = make_panel()
    select(panel, sample["cat"], sample["dog"])
    panel.favourite_button.click()
    assert store.get(sample["cat"]).favourite and store.get(sample["dog"]).favourite
    assert panel.model.item_at(panel.model.row_of(sample["cat"])).favourite
    assert panel.model.data(panel.model.index(panel.model.row_of(sample["cat"]))).startswith("★")
    panel.favourite_button.click()  # all were favourites: unmark them
    assert not store.get(sample["cat"]).favourite and not store.get(sample["dog"]).favourite

    select(panel, sample["cat"])
    details = panel.details.toPlainText()
    assert "Model: tiny-sd" in details and "Seed: 1234" in details and "Date: " in details
    params = json.loads(details[details.index("{"):])
    assert params == {"prompt": "a red cat", "steps": 20, "cfg": 7.0, "seed": 1234}


def test_delete_trash_restore_and_empty(make_panel, qtbot, store, sample, monkeypatch, services):
    panel = make_panel()
    monkeypatch.setattr(gallery_panel, "confirm", lambda *args: False)
    select(panel, sample["cat"])
    panel.delete_button.click()
    assert sample["cat"] in shown_ids(panel)  # declined: nothing happens

    monkeypatch.setattr(gallery_panel, "confirm", lambda *args: True)
    select(panel, sample["cat"], sample["chat"])
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key_Delete)
    assert shown_ids(panel) == {sample["dog"], sample["face"], sample["vae"]}
    assert {i.id for i in store.list(trashed=True)} == {sample["cat"], sample["chat"]}

    panel.trash_check.setChecked(True)
    assert shown_ids(panel) == {sample["cat"], sample["chat"]}
    assert not panel.delete_button.isEnabled()
    select(panel, sample["chat"])
    assert panel.restore_button.isEnabled()
    panel.restore_button.click()
    assert shown_ids(panel) == {sample["cat"]}
    cat_file = store.get(sample["cat"]).path
    panel.empty_button.click()
    assert shown_ids(panel) == set() and not cat_file.exists()
    panel.trash_check.setChecked(False)
    assert shown_ids(panel) == {sample["dog"], sample["face"], sample["vae"], sample["chat"]}
    assert not services.notify.levels("error")


def test_export_and_unwritable_folder(make_panel, store, sample, tmp_path, services, monkeypatch):
    panel = make_panel()
    select(panel, sample["cat"], sample["chat"])
    panel.format_combo.setCurrentText("txt")
    out = tmp_path / "out"
    monkeypatch.setattr(gallery_panel, "choose_folder", lambda *args: str(out))
    panel.export_button.click()
    assert sorted(p.name for p in out.iterdir()) == sorted([f"image-{sample['cat']}.png", f"chat-{sample['chat']}.txt"])
    assert (out / f"chat-{sample['chat']}.txt").read_text(encoding="utf-8").startswith("Capitals")
    written = panel.export_to(tmp_path / "json", text_format="json")
    assert {p.suffix for p in written} == {".png", ".json"}

    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    assert panel.export_to(blocker / "sub") == []
    errors = services.notify.levels("error")
    assert len(errors) == 1 and "\n" not in errors[0] and "blocker" in errors[0]
    assert panel.isVisible()  # the app keeps running


def test_reuse_calls_services_with_kind_and_params(make_panel, sample, services):
    panel = make_panel()
    select(panel, sample["face"])
    panel.reuse_button.click()
    assert services.reuse.calls == [("faces", {"seed": 7, "count": 1, "truncation": 0.7, "model": "dcgan-faces"})]
    select(panel, sample["cat"])
    panel.reuse_current()
    assert services.reuse.calls[-1] == ("image", {"prompt": "a red cat", "steps": 20, "cfg": 7.0, "seed": 1234,
                                                  "model": "tiny-sd"})


def test_enter_opens_full_size_and_chat_text(make_panel, qtbot, sample):
    panel = make_panel()
    select(panel, sample["cat"])
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key_Return)
    assert panel.viewer is not None and panel.viewer.isVisible()
    assert not panel.viewer.content.original.isNull() and panel.viewer.content.original.width() == 24
    assert "Seed: 1234" in panel.viewer.details.toPlainText()
    select(panel, sample["chat"])
    panel.open_button.click()
    text = panel.viewer.content.toPlainText()
    assert "USER:\nWhat is the capital of France?" in text and "Paris is the capital" in text
    panel.viewer.close()


def test_thumbnails_load_off_thread_and_chat_tiles(make_panel, qtbot, store, sample):
    panel = make_panel()
    wait_thumbnails(qtbot, panel, sample.values())
    cat = panel.loader.cache.get(sample["cat"])
    assert cat.width() == panel.zoom.value() == 160  # 24 px image upscaled, then fitted to the tile size
    disk = QImage(str(store.thumbs / f"{sample['cat']}.png"))  # disk cache shared with GalleryStore.thumbnail
    assert disk.width() == 192
    chat = panel.loader.cache.get(sample["chat"])
    assert chat.width() == 160 and chat.toImage().pixelColor(5, 100).name() == "#f4f1e8"  # a paper tile
    panel.zoom.setValue(96)
    assert panel.loader.cache.get(sample["cat"]) is None  # remade at the new size
    wait_thumbnails(qtbot, panel, [sample["cat"]])
    assert panel.loader.cache.get(sample["cat"]).width() == 96
    assert "What is the capital" in panel.model.data(panel.model.index(panel.model.row_of(sample["chat"])))


def test_refresh_keeps_filters_and_waits_while_hidden(make_panel, store, sample):
    panel = make_panel()
    panel.kind_combo.setCurrentIndex(panel.kind_combo.findData("image"))
    new = store.add_image(np.zeros((8, 8, 3), "uint8"), kind="image", model="new-model",
                          params={}, seed=3)
    store.add_image(np.zeros((8, 8, 3), "uint8"), kind="vae", model="m", params={})
    panel.refresh()
    assert shown_ids(panel) == {sample["cat"], sample["dog"], new}
    assert panel.model_combo.findData("new-model") >= 0
    panel.hide()
    newer = store.add_image(np.zeros((8, 8, 3), "uint8"), kind="image", model="m",
                            params={})
    panel.refresh()
    assert newer not in shown_ids(panel)  # hidden: reload postponed
    panel.show()
    from PySide6.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()
    assert newer in shown_ids(panel)


def test_twenty_thousand_items_load_lazily(make_panel, qtbot, store):
    bench = load_benchmark()
    bench.populate(store, 20_000)
    panel = make_panel()
    assert panel.model.rowCount() == 400 and panel.model.canFetchMore()
    qtbot.waitUntil(lambda: bench.screen_ready(panel), timeout=20000)
    first_screen = panel.loader.requested
    assert 0 < first_screen <= 120  # only the tiles on screen (and a few more) are requested

    bar = panel.view.verticalScrollBar()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # scroll to the very end, fetching pages as the view asks for them
        if bar.value() >= bar.maximum() and not panel.model.canFetchMore():
            break
        bar.setValue(bar.maximum())
        qtbot.wait(5)
    assert panel.model.rowCount() == 20_000 and not panel.model.canFetchMore()
    assert panel.model.queries <= 20_000 // 400 + 2
    qtbot.waitUntil(lambda: bench.screen_ready(panel), timeout=20000)
    assert panel.loader.requested < 1000  # thumbnails were made only for what was on screen
    assert len(panel.loader.cache) <= panel.loader.cache.capacity
    last = panel.model.item_at(panel.model.rowCount() - 1)
    assert last.id == min(i.id for i in store.list(limit=5, newest_first=False))


def test_refresh_keeps_scroll_position_and_selection(make_panel, qtbot, store):
    load_benchmark().populate(store, 1000)
    panel = make_panel()
    panel.model.fetchMore()
    panel.view.doItemsLayout()
    bar = panel.view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    position = bar.value()
    chosen = panel.model.item_at(500).id
    select(panel, chosen)
    store.add_image(np.zeros((8, 8, 3), "uint8"), kind="image", model="m", params={})
    panel.refresh()
    assert panel.model.rowCount() >= 800 and bar.value() == position
    assert panel.selected_ids() == [chosen]
