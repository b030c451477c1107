"""The token inspector: for one generated token, the model's top candidates with their probabilities,
raw and after each sampler stage (repetition penalty, top-k, top-p, min-p, temperature), the pick,
and the alternative beams when beam search was used."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QHeaderView, QLabel, QListWidget, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

STAGES = [("penalty", "Pen."), ("top_k", "Top-k"), ("top_p", "Top-p"), ("min_p", "Min-p"),
          ("temperature", "Temp"), ("greedy", "Greedy")]
EXPLAIN = ("How a Transformer writes: at every step it scores all tokens of its vocabulary. Softmax turns "
           "the scores into probabilities (Raw); each sampler stage then removes or reshapes candidates, "
           "and one token is drawn from what is left. Turn on the inspector, then click a token.")


def show_piece(piece: str) -> str:
    """A token's text with its spaces and newlines made visible."""
    return (piece or "").replace(" ", "␣").replace("\n", "↵").replace("\t", "⇥") or "∅"


class TokenInspector(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("<b>Token inspector</b>")
        self.explain = QLabel(EXPLAIN)
        self.explain.setWordWrap(True)
        self.explain.setStyleSheet("color: palette(mid); font-size: 11px;")
        self.table = QTableWidget(0, 2)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionMode(QTableWidget.NoSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setToolTip("Probability of each candidate, raw and after each sampler stage; "
                              "a dash means the stage removed it. The picked token is bold and ticked.")
        self.table.setStyleSheet("QTableWidget { font-size: 11px; } QHeaderView::section { padding: 2px; }")
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.beams_label = QLabel("<b>Beams</b>")
        self.beams = QListWidget()
        self.beams.setToolTip("The finished beam-search hypotheses, best score first")
        self.beams.setMaximumHeight(110)
        self.beams.setWordWrap(True)
        for widget in (self.title, self.explain, self.table, self.beams_label, self.beams):
            layout.addWidget(widget)
        self.clear()

    def clear(self) -> None:
        self.title.setText("<b>Token inspector</b>")
        self.table.setRowCount(0)
        self.beams_label.hide()
        self.beams.hide()

    def show_token(self, index: int, token: dict) -> None:
        """Fill the view from one streamed token payload ({"id", "text", "piece", "inspect"})."""
        data = token.get("inspect") or {}
        rows = data.get("candidates") or []
        picked = data.get("picked", token.get("id"))
        self.title.setText(f"<b>Token {index + 1}:</b> <code>{html.escape(show_piece(token.get('piece', '')))}</code>"
                           f" (id {token.get('id')})")
        if not rows:
            self.table.setRowCount(0)
            self.title.setText(self.title.text() + " — no candidates recorded (turn the inspector on first)")
        stages = [(key, name) for key, name in STAGES if any(key in r.get("stages", {}) for r in rows)]
        headers = ["Token", "Raw"] + [name for _, name in stages]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        self.table.setRowCount(len(rows))
        bold = QFont()
        bold.setBold(True)
        for r, row in enumerate(rows):
            mark = "✔ " if row["id"] == picked else ""
            cells = [mark + show_piece(row.get("piece", str(row["id"]))), _percent(row["prob"])]
            cells += [_percent(row["stages"][key]) if key in row["stages"] else "" for key, _ in stages]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"id {row['id']}, logit {row.get('logit', 0):.2f}")
                if c > 0:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if row["id"] == picked:
                    item.setFont(bold)
                    item.setBackground(QBrush(QColor(120, 200, 120, 70)))
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setMinimumSectionSize(24)
        header.setSectionResizeMode(QHeaderView.ResizeToContents)
        header.setStretchLastSection(True)
        beams = data.get("beams") or []
        self.beams.clear()
        for rank, beam in enumerate(beams):
            self.beams.addItem(f"{rank + 1}. score {beam['score']:.3f} · {beam['text']}")
        self.beams_label.setVisible(bool(beams))
        self.beams.setVisible(bool(beams))

    def picked_row(self) -> int | None:
        """The table row of the picked token, or None (used by tests)."""
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text().startswith("✔ "):
                return r
        return None


def _percent(p: float) -> str:
    if p <= 0:
        return "–"
    return f"{p * 100:.1f}%" if p >= 0.001 else f"{p * 100:.2g}%"
