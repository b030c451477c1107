"""The chat transcript: one bubble per message with Markdown, per-answer stats and actions, and a
token view where every generated token is a link (clicked -> the token inspector)."""
from __future__ import annotations

import html

from PySide6.QtCore import QTimer, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QGuiApplication, QTextCursor, QTextFormat
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QTextBrowser, QToolButton,
                               QVBoxLayout, QWidget)

ROLE_NAMES = {"user": "You", "assistant": "Assistant", "system": "System"}


def stats_text(meta: dict) -> str:
    """'21 tokens · 7.9 tok/s · first token 120 ms · stopped: end of answer'."""
    if not meta or "tokens" not in meta:
        return ""
    reasons = {"eos": "end of answer", "length": "max tokens", "stop": "stop text", "context": "context full",
               "stopped": "stopped by you"}
    parts = [f"{meta['tokens']} tokens"]
    if meta.get("tokens_per_s") is not None:
        parts.append(f"{meta['tokens_per_s']:.1f} tok/s")
    if meta.get("ttft_s") is not None:
        parts.append(f"first token {meta['ttft_s'] * 1000:.0f} ms")
    reason = meta.get("stop_reason")
    if reason:
        parts.append(f"stopped: {reasons.get(reason, reason)}")
    if meta.get("seed") is not None:
        parts.append(f"seed {meta['seed']}")
    return " · ".join(parts)


class MarkdownView(QTextBrowser):
    """A read-only browser that grows with its document (no inner scroll bar)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setOpenExternalLinks(False)
        self.setOpenLinks(False)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.NoFrame)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.setMinimumWidth(120)
        self.document().setDocumentMargin(2)
        self.document().contentsChanged.connect(self.fit)

    def set_markdown(self, text: str) -> None:
        """Render Markdown, with fenced and indented code blocks on a tinted background."""
        self.setMarkdown(text)
        if "```" not in text and "    " not in text:
            return
        block = self.document().begin()
        while block.isValid():
            fmt = block.blockFormat()
            if fmt.nonBreakableLines() or fmt.hasProperty(QTextFormat.BlockCodeFence):
                fmt.setBackground(QColor(127, 127, 127, 38))
                QTextCursor(block).mergeBlockFormat(fmt)
            block = block.next()

    def fit(self) -> None:
        self.document().setTextWidth(max(50, self.viewport().width()))
        self.setFixedHeight(int(self.document().size().height()) + 6)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self.fit()


class MessageWidget(QFrame):
    """One message. Assistant answers keep their tokens (id, text, inspector data) for the token view."""

    action = Signal(str, object)  # ("copy" | "edit" | "regenerate", self)
    token_clicked = Signal(object, int)  # (self, token index)

    def __init__(self, role: str, content: str = "", meta: dict | None = None, parent=None):
        super().__init__(parent)
        self.role, self.content, self.meta = role, content, dict(meta or {})
        self.tokens: list[dict] = []  # {"id", "text", "piece", "inspect"} per generated token
        self.showing_tokens = False
        self.setObjectName("chatMessage")
        self.setFrameShape(QFrame.StyledPanel)
        tint = "rgba(80,130,220,0.10)" if role == "user" else "rgba(128,128,128,0.08)"
        self.setStyleSheet(f"QFrame#chatMessage {{ background: {tint}; border-radius: 8px; }}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        head = QHBoxLayout()
        self.who = QLabel(f"<b>{ROLE_NAMES.get(role, role)}</b>")
        head.addWidget(self.who)
        head.addStretch(1)
        self.buttons: dict[str, QToolButton] = {}
        actions = [("copy", "Copy", "Copy this message as Markdown")]
        if role == "user":
            actions.append(("edit", "Edit", "Put this message back in the input box; sending it replaces it and "
                                            "everything after it"))
        if role == "assistant":
            actions.insert(0, ("tokens", "Tokens", "Show the answer as tokens: click one to see the candidates "
                                                   "the model weighed and which it picked"))
            actions.append(("regenerate", "Regenerate", "Ask again for this answer (with a new seed if "
                                                        "'New seed each answer' is on)"))
        for key, text, tip in actions:
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.setAutoRaise(True)
            button.clicked.connect(lambda _c=False, k=key: self._on_button(k))
            head.addWidget(button)
            self.buttons[key] = button
        if "tokens" in self.buttons:
            self.buttons["tokens"].setCheckable(True)
            self.buttons["tokens"].setEnabled(False)
        layout.addLayout(head)
        self.view = MarkdownView()
        self.view.anchorClicked.connect(self._on_anchor)
        layout.addWidget(self.view)
        self.stats = QLabel()
        self.stats.setStyleSheet("color: palette(mid); font-size: 11px;")
        self.stats.setWordWrap(True)
        self.stats.setVisible(False)
        layout.addWidget(self.stats)
        self._timer = QTimer(self, singleShot=True, interval=40)
        self._timer.timeout.connect(self.render)
        self.render()
        self.set_meta(self.meta)

    # ---- content -------------------------------------------------------------------------------
    def add_token(self, payload: dict) -> None:
        """Streaming: append one token's text (re-rendered at most every 40 ms)."""
        self.content += payload.get("text", "")
        if payload.get("id") is not None:
            self.tokens.append(payload)
        elif self.tokens and payload.get("text"):
            self.tokens[-1] = {**self.tokens[-1], "text": self.tokens[-1]["text"] + payload["text"]}
        if not self._timer.isActive():
            self._timer.start()

    def set_content(self, text: str) -> None:
        self.content = text
        self.render()

    def set_meta(self, meta: dict) -> None:
        self.meta = dict(meta or {})
        text = stats_text(self.meta)
        self.stats.setText(text)
        self.stats.setVisible(bool(text))
        if "tokens" in self.buttons:
            self.buttons["tokens"].setEnabled(bool(self.tokens))

    def render(self) -> None:
        if self.showing_tokens:
            self.view.setHtml(self.token_html())
        else:
            self.view.set_markdown(self.content or "…")

    def token_html(self) -> str:
        """Each token as a link; the alternating tint shows where one token ends and the next begins."""
        parts = []
        for index, token in enumerate(self.tokens):
            text = html.escape(token.get("text") or token.get("piece") or "").replace("\n", "↵<br>") or "∅"
            tint = "#dbe7fb" if index % 2 else "#fbe8d0"
            parts.append(f'<a href="token:{index}" style="color: black; text-decoration: none; '
                         f'background: {tint};">{text}</a>')
        return "<div style='line-height: 150%'>" + "".join(parts) + "</div>"

    def show_tokens(self, on: bool) -> None:
        self.showing_tokens = bool(on) and bool(self.tokens)
        if "tokens" in self.buttons:
            self.buttons["tokens"].setChecked(self.showing_tokens)
        self.render()

    # ---- signals -------------------------------------------------------------------------------
    def _on_button(self, key: str) -> None:
        if key == "tokens":
            self.show_tokens(self.buttons["tokens"].isChecked())
        elif key == "copy":
            QGuiApplication.clipboard().setText(self.content)
            self.action.emit("copy", self)
        else:
            self.action.emit(key, self)

    def _on_anchor(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("token:"):
            self.token_clicked.emit(self, int(text.split(":", 1)[1]))


class Transcript(QScrollArea):
    """A scrolling column of MessageWidgets that follows the newest text while streaming."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        inner = QWidget()
        self.column = QVBoxLayout(inner)
        self.column.setContentsMargins(4, 4, 4, 4)
        self.column.setSpacing(8)
        self.column.addStretch(1)
        self.setWidget(inner)
        self.messages: list[MessageWidget] = []
        self.verticalScrollBar().rangeChanged.connect(lambda _lo, hi: self.verticalScrollBar().setValue(hi))

    def add(self, widget: MessageWidget) -> MessageWidget:
        self.column.insertWidget(self.column.count() - 1, widget)
        self.messages.append(widget)
        return widget

    def clear(self) -> None:
        for widget in self.messages:
            widget.setParent(None)
            widget.deleteLater()
        self.messages = []

    def remove_from(self, index: int) -> None:
        """Remove message `index` and everything after it."""
        for widget in self.messages[index:]:
            widget.setParent(None)
            widget.deleteLater()
        self.messages = self.messages[:index]
