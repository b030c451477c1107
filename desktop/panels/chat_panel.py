"""Chat with a local LLM: conversations saved in SQLite, streaming Markdown answers, Stop, Regenerate,
Edit & resend, Copy, per-conversation sampling settings with presets, stats, export and a token inspector."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QFileDialog, QFrame, QHBoxLayout, QInputDialog, QLabel, QMessageBox, QPlainTextEdit,
                               QPushButton, QSplitter, QTabWidget, QVBoxLayout, QWidget)

from desktop import dialogs
from desktop.panels.base import Panel
from desktop.widgets.chat_list import ConversationList
from desktop.widgets.chat_messages import MessageWidget, Transcript
from desktop.widgets.chat_settings import ChatSettings
from desktop.widgets.controls import ModelPicker
from desktop.widgets.token_inspector import TokenInspector
from models.llm.conversations import ConversationStore, title_from
from models.llm.job import ChatRequest
from models.runtime.errors import GenloomError, one_line

STAT_KEYS = ("tokens", "tokens_per_s", "ttft_s", "stop_reason", "seed", "model")


class ChatPanel(Panel):
    key = "chat"
    title = "Chat"
    kinds = ("chat",)

    def __init__(self, services, parent=None):
        super().__init__(services, parent)
        self.setToolTip("Chat with a local language model and see how it picks each token")
        self.store = ConversationStore()
        self.conversation_id: int | None = None
        self.request_id: int | None = None
        self.streaming: MessageWidget | None = None
        self.asking: int | None = None  # the conversation the running request answers
        self.edit_index: int | None = None
        self._build()
        worker = services.worker
        worker.partial.connect(self._on_partial)
        worker.notice.connect(self._on_notice)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        self.conversations.reload()
        self._update_model_state()

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        self.conversations = ConversationList(self.store)
        self.search_box = self.conversations.search_box
        self.conversations.selected.connect(self.open_conversation)
        self.conversations.new_requested.connect(self.new_conversation)
        self.conversations.rename_requested.connect(self._ask_rename)
        self.conversations.delete_requested.connect(self._ask_delete)
        self.conversations.export_requested.connect(self._ask_export)

        center = QWidget()
        column = QVBoxLayout(center)
        column.setContentsMargins(4, 0, 4, 0)
        top = QHBoxLayout()
        self.model = ModelPicker(self.services.registry, "chat")
        self.import_button = QPushButton("Import GGUF…")
        self.import_button.setToolTip("Convert a Llama-family .gguf file (llama, mistral, qwen2, smollm, tinyllama) "
                                      "into a chat model")
        self.import_button.clicked.connect(lambda: dialogs.import_model(self.window(), None))
        top.addWidget(QLabel("Model"))
        top.addWidget(self.model, 1)
        top.addWidget(self.import_button)
        column.addLayout(top)
        self.banner = QFrame()
        self.banner.setFrameShape(QFrame.StyledPanel)
        banner = QHBoxLayout(self.banner)
        self.banner_text = QLabel("No chat model is installed yet. Genloom can build SmolLM2-135M-Instruct "
                                  "(about 100 MB, downloaded once) so chat works offline.")
        self.banner_text.setWordWrap(True)
        self.build_button = QPushButton("Build the chat model…")
        self.build_button.setToolTip("Download and convert the default chat model (runs once)")
        self.build_button.clicked.connect(lambda: dialogs.first_run(self.window()))
        banner.addWidget(self.banner_text, 1)
        banner.addWidget(self.build_button)
        column.addWidget(self.banner)
        self.system = QPlainTextEdit()
        self.system.setPlaceholderText("System prompt (optional): how the assistant should behave")
        self.system.setToolTip("Instructions the model sees before the conversation, e.g. 'Answer in one sentence.'")
        self.system.setMaximumHeight(52)
        column.addWidget(self.system)
        self.transcript = Transcript()
        column.addWidget(self.transcript, 1)
        self.edit_label = QLabel()
        self.edit_label.setStyleSheet("color: palette(highlight);")
        self.edit_label.hide()
        column.addWidget(self.edit_label)
        row = QHBoxLayout()
        self.input = QPlainTextEdit()
        self.input.setPlaceholderText("Message (Ctrl+Enter to send)")
        self.input.setToolTip("Your message; Ctrl+Enter sends it")
        self.input.setMaximumHeight(90)
        buttons = QVBoxLayout()
        self.send_button = QPushButton("Send")
        self.send_button.setToolTip("Send the message (Ctrl+Enter)")
        self.send_button.clicked.connect(self.generate)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the answer now; what was written so far is kept (Esc)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        row.addWidget(self.input, 1)
        row.addLayout(buttons)
        column.addLayout(row)

        self.settings = ChatSettings()
        self.inspector = TokenInspector()
        self.side = QTabWidget()
        settings_page = QWidget()
        settings_layout = QVBoxLayout(settings_page)
        settings_layout.addWidget(self.settings)
        settings_layout.addStretch(1)
        self.side.addTab(settings_page, "Settings")
        self.side.addTab(self.inspector, "Inspector")
        self.side.setMinimumWidth(360)

        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(self.conversations)
        splitter.addWidget(center)
        splitter.addWidget(self.side)
        self.conversations.setMinimumWidth(170)
        self.conversations.setMaximumWidth(300)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setStretchFactor(2, 0)
        splitter.setSizes([210, 560, 390])
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

    def _message(self, role: str, content: str = "", meta: dict | None = None) -> MessageWidget:
        widget = MessageWidget(role, content, meta)
        widget.action.connect(self._on_message_action)
        widget.token_clicked.connect(self._on_token_clicked)
        return self.transcript.add(widget)

    # ---- conversations -------------------------------------------------------------------------
    def new_conversation(self) -> None:
        self.stop()
        self.conversation_id = None
        self.transcript.clear()
        self.inspector.clear()
        self._cancel_edit()
        self.conversations.list.clearSelection()
        self.conversations.list.setCurrentItem(None)
        self.input.setFocus()

    def open_conversation(self, conversation_id) -> None:
        if conversation_id is None or conversation_id == self.conversation_id:
            return
        self.stop()
        self.conversation_id = conversation_id
        self.transcript.clear()
        self.inspector.clear()
        self._cancel_edit()
        settings = self.store.settings(conversation_id)
        if settings:
            self.settings.set_values(settings)
            self.system.setPlainText(settings.get("system", ""))
        for message in self.store.messages(conversation_id):
            if message.role != "system":
                self._message(message.role, message.content, message.meta)

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        self.store.rename(conversation_id, title)
        self.conversations.reload()

    def delete_conversation(self, conversation_id: int) -> None:
        self.store.delete(conversation_id)
        if conversation_id == self.conversation_id:
            self.new_conversation()
        self.conversations.reload()

    def export_conversation(self, target: Path, fmt: str | None = None) -> Path | None:
        if self.conversation_id is None:
            self.services.notify("Nothing to export yet: start a conversation first.", "info")
            return None
        try:
            written = self.store.export(self.conversation_id, target, fmt)
        except GenloomError as exc:
            self.services.notify(one_line(exc), "error")
            return None
        self.services.notify(f"Exported the conversation to {written}.", "info")
        return written

    def _ask_rename(self) -> None:
        cid = self.conversations.current_id()
        if cid is None:
            return
        title, ok = QInputDialog.getText(self, "Rename chat", "Title", text=self.store.get(cid).title)
        if ok:
            self.rename_conversation(cid, title)

    def _ask_delete(self) -> None:
        cid = self.conversations.current_id()
        if cid is None:
            return
        title = self.store.get(cid).title
        if QMessageBox.question(self, "Delete chat", f"Delete the conversation '{title}'? This cannot be undone.") \
                == QMessageBox.Yes:
            self.delete_conversation(cid)

    def _ask_export(self, fmt: str) -> None:
        if self.conversation_id is None:
            self.services.notify("Nothing to export yet: start a conversation first.", "info")
            return
        name = "".join(c if c.isalnum() or c in " -_" else "_" for c in self.store.get(self.conversation_id).title)
        filters = {"md": "Markdown (*.md)", "txt": "Text (*.txt)", "json": "JSON (*.json)"}
        target, _ = QFileDialog.getSaveFileName(self, "Export conversation", f"{name.strip() or 'chat'}.{fmt}",
                                                filters[fmt])
        if target:
            self.export_conversation(Path(target), fmt)

    # ---- sending -------------------------------------------------------------------------------
    def generate(self) -> None:
        """Send the typed message (Ctrl+Enter)."""
        if self.request_id is not None:
            self.services.notify("Wait for the answer or press Stop first.", "info")
            return
        text = self.input.toPlainText().strip()
        if not text:
            self.services.notify("Type a message first.", "info")
            return
        if not self.model.name():
            self.services.notify("No chat model is installed: build the default one or import a GGUF.", "error")
            return
        if self.conversation_id is None:
            self.conversation_id = self.store.new(title_from(text), model=self.model.name())
        if self.edit_index is not None:
            self.store.truncate(self.conversation_id, self.edit_index)
            self.transcript.remove_from(self.edit_index)
            self._cancel_edit()
        self.store.append(self.conversation_id, "user", text)  # saved before generation starts
        self._message("user", text)
        self.input.clear()
        self.conversations.reload(select=self.conversation_id)
        self._ask()

    def _ask(self) -> None:
        values = self.settings.values()
        seed = self.settings.next_seed()
        messages = tuple((m.role, m.content) for m in self.store.messages(self.conversation_id)
                         if m.role in ("user", "assistant"))
        request = ChatRequest(messages=messages, model=self.model.name(), conversation_id=self.conversation_id,
                              system=self.system.toPlainText().strip(), max_tokens=values["max_tokens"],
                              temperature=values["temperature"], top_k=values["top_k"], top_p=values["top_p"],
                              min_p=values["min_p"], repeat_penalty=values["repeat_penalty"], seed=seed,
                              beams=values["beams"], length_penalty=values["length_penalty"],
                              context_policy=values["context_policy"], inspect=values["inspect"], save=True)
        self.store.set_settings(self.conversation_id, self._conversation_settings(), model=self.model.name())
        self.streaming = self._message("assistant")
        self.asking = self.conversation_id
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.request_id = self.services.worker.submit(request)

    def stop(self) -> None:
        if self.request_id is not None:
            self.services.worker.cancel(self.request_id)

    def regenerate(self, widget: MessageWidget | None = None) -> None:
        """Drop the answer (the last one by default) and ask again."""
        if self.request_id is not None or self.conversation_id is None:
            return
        answers = [w for w in self.transcript.messages if w.role == "assistant"]
        widget = widget or (answers[-1] if answers else None)
        if widget is None:
            return
        index = self.transcript.messages.index(widget)
        self.store.truncate(self.conversation_id, index)
        self.transcript.remove_from(index)
        self._ask()

    def edit_message(self, widget: MessageWidget) -> None:
        """Put a user message back in the input box; Send replaces it and everything after it."""
        self.edit_index = self.transcript.messages.index(widget)
        self.input.setPlainText(widget.content)
        self.edit_label.setText(f"Editing message {self.edit_index + 1}: Send replaces it and the messages after it.")
        self.edit_label.show()
        self.input.setFocus()

    def _cancel_edit(self) -> None:
        self.edit_index = None
        self.edit_label.hide()

    # ---- worker signals ------------------------------------------------------------------------
    def _on_partial(self, request_id: int, what: str, payload) -> None:
        if request_id == self.request_id and what == "token" and self.streaming in self.transcript.messages:
            self.streaming.add_token(payload)

    def _on_notice(self, request_id: int, text: str) -> None:
        if request_id == self.request_id:
            self.services.notify(text, "info")

    def _on_finished(self, request_id: int, result: dict) -> None:
        if request_id != self.request_id:
            return
        meta = {k: result[k] for k in STAT_KEYS if k in result}
        widget = self.streaming
        widget.set_content(result.get("text", ""))
        widget.set_meta(meta)
        self._save_answer(widget.content, meta)  # saved after it ends
        self._done()
        self.conversations.reload()
        self.services.item_saved(result.get("gallery_ids", []))

    def _on_cancelled(self, request_id: int) -> None:
        if request_id != self.request_id:
            return
        widget = self.streaming
        if widget.content.strip():
            meta = {"tokens": len(widget.tokens), "stop_reason": "stopped"}
            self._save_answer(widget.content, meta)
            if widget in self.transcript.messages:
                widget.render()
                widget.set_meta(meta)
        elif widget in self.transcript.messages:
            self.transcript.remove_from(self.transcript.messages.index(widget))
        self._done()

    def _on_failed(self, request_id: int, reason: str) -> None:
        if request_id != self.request_id:
            return
        if self.streaming in self.transcript.messages:
            self.transcript.remove_from(self.transcript.messages.index(self.streaming))
        self._done()

    def _save_answer(self, text: str, meta: dict) -> None:
        """Append the answer to the conversation that asked (the user may have switched or deleted it)."""
        try:
            self.store.append(self.asking, "assistant", text, meta)
        except GenloomError as exc:
            if self.asking in self.conversations.ids():
                self.services.notify(f"The answer was not saved: {one_line(exc)}", "error")

    def _done(self) -> None:
        self.request_id = None
        self.streaming = None
        self.send_button.setEnabled(bool(self.model.name()))
        self.stop_button.setEnabled(False)

    def _on_message_action(self, action: str, widget: MessageWidget) -> None:
        if action == "regenerate":
            self.regenerate(widget)
        elif action == "edit":
            self.edit_message(widget)
        elif action == "copy":
            self.services.notify("Copied the message.", "info")

    def _on_token_clicked(self, widget: MessageWidget, index: int) -> None:
        self.inspector.show_token(index, widget.tokens[index])
        self.side.setCurrentWidget(self.inspector)

    # ---- models, saving, reuse -----------------------------------------------------------------
    def _update_model_state(self) -> None:
        has_model = bool(self.model.name())
        self.banner.setVisible(not has_model)
        self.send_button.setEnabled(has_model and self.request_id is None)

    def reload_models(self) -> None:
        self.model.reload()
        self._update_model_state()

    def save_current(self) -> bool:
        if self.conversation_id is None:
            return False
        self._ask_export("md")
        return True

    def _conversation_settings(self) -> dict:
        return {**self.settings.values(), "system": self.system.toPlainText().strip()}

    def apply_params(self, params: dict) -> None:
        self.settings.set_values(params)
        if "system" in params:
            self.system.setPlainText(params.get("system") or "")
        if params.get("model"):
            self.model.setCurrentText(params["model"])
        if params.get("conversation_id") in self.conversations.ids():
            self.conversations.select(params["conversation_id"])

    def store_settings(self) -> dict:
        return {**self._conversation_settings(), "model": self.model.name(),
                "conversation_id": self.conversation_id}

    def restore_settings(self, values: dict) -> None:
        self.apply_params(values)

    def on_shown(self) -> None:
        self._update_model_state()
        self.input.setFocus()
