"""The gallery's list model: item rows fetched from the GalleryStore in pages, thumbnails from a loader.

Only SQLite queries run on the GUI thread (one page of `PAGE` rows per `fetchMore`); pixels come from the
ThumbnailLoader, which works off the GUI thread. Rows hold the store's `Item` records.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt

from desktop.widgets.thumbnail_loader import ThumbnailLoader

PAGE = 400
ItemRole = Qt.UserRole + 1  # the store Item of a row
IdRole = Qt.UserRole + 2  # its id


@dataclass(frozen=True)
class Filters:
    """What the gallery shows: empty strings mean "any"."""

    kind: str = ""
    model: str = ""
    search: str = ""
    favourites: bool = False
    trashed: bool = False

    def query(self) -> dict:
        return {"kind": self.kind or None, "model": self.model or None, "search": self.search.strip() or None,
                "favourites": self.favourites, "trashed": self.trashed}


def caption(item) -> str:
    """A tile's one-line caption: star, kind and seed, or the first words of a chat question."""
    star = "★ " if item.favourite else ""
    if item.is_text:
        words = " ".join(item.prompt.split()[:6])
        return f"{star}{words or 'chat'}"
    seed = f" · seed {item.seed}" if item.seed is not None else ""
    return f"{star}{item.kind}{seed}"


def tooltip(item) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(item.created))
    prompt = f"\n{item.prompt[:200]}" if item.prompt else ""
    return f"{item.kind} · {item.model or 'unknown model'} · {when}{prompt}"


class GalleryModel(QAbstractListModel):
    def __init__(self, store, loader: ThumbnailLoader, page: int = PAGE, parent=None):
        super().__init__(parent)
        self.store = store
        self.loader = loader
        self.page = page
        self.filters = Filters()
        self.items: list = []
        self.rows: dict[int, int] = {}  # item id -> row
        self.exhausted = False
        self.queries = 0  # SQLite page queries so far (the benchmark reports it)
        loader.ready.connect(self._on_thumbnail)

    # ---- Qt model API --------------------------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802 - Qt naming
        return 0 if parent.isValid() else len(self.items)

    def canFetchMore(self, parent=QModelIndex()) -> bool:  # noqa: N802
        return not parent.isValid() and not self.exhausted

    def fetchMore(self, parent=QModelIndex()) -> None:  # noqa: N802
        if parent.isValid() or self.exhausted:
            return
        batch = [item for item in self._query(self.page, len(self.items)) if item.id not in self.rows]
        if not batch:  # (items saved since the last reload shift the pages; the duplicates are skipped)
            return
        first = len(self.items)
        self.beginInsertRows(QModelIndex(), first, first + len(batch) - 1)
        for offset, item in enumerate(batch):
            self.rows[item.id] = first + offset
        self.items.extend(batch)
        self.endInsertRows()

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or index.row() >= len(self.items):
            return None
        item = self.items[index.row()]
        if role == Qt.DisplayRole:
            return caption(item)
        if role == Qt.DecorationRole:
            return self.loader.get(item)
        if role == Qt.ToolTipRole:
            return tooltip(item)
        if role == ItemRole:
            return item
        if role == IdRole:
            return item.id
        return None

    # ---- loading -------------------------------------------------------------------------------
    def set_filters(self, filters: Filters, keep_rows: int = 0) -> None:
        """Reload from the first page; `keep_rows` loads at least that many rows (to keep the scroll).

        The query runs before the reset, so a failing query leaves the current rows in place.
        """
        want = max(self.page, keep_rows)
        self.queries += 1
        batch = self.store.list(**filters.query(), limit=want, offset=0)
        self.beginResetModel()
        self.filters = filters
        self.loader.clear_queue()
        self.exhausted = len(batch) < want
        self.items = batch
        self.rows = {item.id: row for row, item in enumerate(batch)}
        self.endResetModel()

    def reload(self, keep_rows: int = 0) -> None:
        self.set_filters(self.filters, keep_rows)

    def fetch_all(self) -> None:
        while self.canFetchMore():
            self.fetchMore()

    def item_at(self, row: int):
        return self.items[row]

    def row_of(self, item_id: int) -> int | None:
        return self.rows.get(item_id)

    def update_item(self, item) -> None:
        """Replace a row's record after a change (favourite) without reloading the page."""
        row = self.rows.get(item.id)
        if row is not None:
            self.items[row] = item
            index = self.index(row)
            self.dataChanged.emit(index, index)

    def _query(self, limit: int, offset: int) -> list:
        self.queries += 1
        batch = self.store.list(**self.filters.query(), limit=limit, offset=offset)
        if len(batch) < limit:
            self.exhausted = True
        return batch

    def _on_thumbnail(self, item_id: int) -> None:
        row = self.rows.get(item_id)
        if row is not None:
            index = self.index(row)
            self.dataChanged.emit(index, index, [Qt.DecorationRole])
