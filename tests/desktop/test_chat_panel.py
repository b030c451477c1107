"""The chat panel driven as a user would, on a tiny converted Llama: send, stream, stop, regenerate,
edit & resend, conversations, export, the token inspector, and the no-model state."""
from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication

from desktop.main_window import MainWindow
from tests.llm.tiny_chat_model import NAME, build


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_chat_panel")
    return build(root / NAME, root / "work")


def open_window(qtbot):
    window = MainWindow(provider="cpu")
    qtbot.addWidget(window)
    window.show()
    return window


@pytest.fixture
def window(qtbot, tiny_model, genloom_home):
    models = genloom_home / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / NAME).symlink_to(tiny_model, target_is_directory=True)
    window = open_window(qtbot)
    yield window
    window.worker.shutdown()


def chat_panel(window, **settings):
    panel = window.show_panel("chat")
    panel.model.setCurrentText(NAME)
    panel.settings.set_values({"temperature": 0.0, "max_tokens": 6, "random_seed": False, "seed": 1, **settings})
    return panel


def send(qtbot, panel, text="Hello there"):
    panel.input.setPlainText(text)
    panel.generate()
    assert panel.request_id is not None
    qtbot.waitUntil(lambda: panel.request_id is None, timeout=60000)
    return panel.transcript.messages[-1]


def test_send_streams_saves_and_shows_stats(qtbot, window):
    panel = chat_panel(window)
    streamed = []
    # other panels' jobs (the VAE panel's first decode) share the worker: keep only this panel's tokens
    window.worker.partial.connect(
        lambda i, what, payload: streamed.append(payload) if what == "token" and i == panel.request_id else None)
    answer = send(qtbot, panel)
    assert [m.role for m in panel.transcript.messages] == ["user", "assistant"]
    assert len([p for p in streamed if p["id"] is not None]) == 6
    assert answer.content == "".join(p["text"] for p in streamed) and answer.content
    assert "6 tokens" in answer.stats.text() and "tok/s" in answer.stats.text() and "first token" in answer.stats.text()
    assert "max tokens" in answer.stats.text()
    stored = panel.store.messages(panel.conversation_id)
    assert [(m.role, m.content) for m in stored] == [("user", "Hello there"), ("assistant", answer.content)]
    assert stored[1].meta["stop_reason"] == "length"
    assert panel.conversations.ids() == [panel.conversation_id]
    assert panel.store.get(panel.conversation_id).title == "Hello there"
    assert len(window.gallery.list(kind="chat")) == 1
    assert panel.input.toPlainText() == "" and panel.send_button.isEnabled()
    answer.buttons["copy"].click()
    assert QGuiApplication.clipboard().text() == answer.content


def test_stop_keeps_the_partial_answer(qtbot, window):
    panel = chat_panel(window, max_tokens=150)
    panel.input.setPlainText("Tell me everything")
    tokens = []

    def on_partial(request_id, what, payload):
        if what != "token" or request_id != panel.request_id:
            return
        tokens.append(payload)
        if len(tokens) == 2:
            panel.stop_button.click()

    window.worker.partial.connect(on_partial)
    panel.generate()
    qtbot.waitUntil(lambda: panel.request_id is None, timeout=60000)
    answer = panel.transcript.messages[-1]
    assert answer.role == "assistant" and "stopped by you" in answer.stats.text()
    assert 2 <= len(answer.tokens) < 150
    assert panel.store.messages(panel.conversation_id)[-1].meta["stop_reason"] == "stopped"


def test_new_chat_while_answering_keeps_the_partial_in_its_own_conversation(qtbot, window):
    panel = chat_panel(window, max_tokens=150)
    panel.input.setPlainText("Tell me everything")
    seen = []

    def on_partial(request_id, what, _payload):
        if what != "token" or request_id != panel.request_id:
            return
        seen.append(1)
        if len(seen) == 2:
            panel.conversations.new_button.click()

    window.worker.partial.connect(on_partial)
    panel.generate()
    asked = panel.conversation_id
    qtbot.waitUntil(lambda: panel.request_id is None, timeout=60000)
    assert panel.conversation_id is None and panel.transcript.messages == []
    stored = panel.store.messages(asked)
    assert [m.role for m in stored] == ["user", "assistant"] and stored[1].meta["stop_reason"] == "stopped"


def test_regenerate_replaces_the_last_answer(qtbot, window):
    panel = chat_panel(window)
    first = send(qtbot, panel).content
    panel.settings.set_values({"temperature": 1.5, "top_k": 0, "top_p": 1.0, "min_p": 0.0, "random_seed": True})
    panel.transcript.messages[-1].buttons["regenerate"].click()
    qtbot.waitUntil(lambda: panel.request_id is None, timeout=60000)
    stored = panel.store.messages(panel.conversation_id)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert len(panel.transcript.messages) == 2
    assert stored[1].content == panel.transcript.messages[1].content != first


def test_edit_and_resend_replaces_the_message_and_what_follows(qtbot, window):
    panel = chat_panel(window)
    send(qtbot, panel, "First question")
    send(qtbot, panel, "Second question")
    panel.transcript.messages[0].buttons["edit"].click()
    assert panel.input.toPlainText() == "First question" and panel.edit_label.isVisible()
    send(qtbot, panel, "Better question")
    stored = panel.store.messages(panel.conversation_id)
    assert [(m.role, m.content) for m in stored][0] == ("user", "Better question")
    assert len(stored) == 2 and len(panel.transcript.messages) == 2
    assert not panel.edit_label.isVisible()


def test_inspector_shows_candidates_of_a_clicked_token(qtbot, window):
    panel = chat_panel(window, temperature=0.8, top_k=5, inspect=True)
    answer = send(qtbot, panel)
    answer.buttons["tokens"].click()
    assert answer.showing_tokens and 'href="token:0"' in answer.token_html()
    answer.view.anchorClicked.emit(QUrl("token:1"))
    table = panel.inspector.table
    assert panel.side.currentWidget() is panel.inspector
    assert table.rowCount() == 10
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers[:3] == ["Token", "Raw", "Top-k"] and headers[-1] == "Temp"
    assert panel.inspector.picked_row() is not None
    assert [table.item(r, 2).text() for r in range(5, 10)] == ["–"] * 5  # top-k 5 removed them


def test_beam_search_lists_the_alternative_beams(qtbot, window):
    panel = chat_panel(window, beams=2, inspect=True)
    answer = send(qtbot, panel)
    answer.view.anchorClicked.emit(QUrl("token:0"))
    assert panel.inspector.beams.count() == 2 and panel.inspector.beams.isVisible()


def test_conversations_new_rename_search_delete_and_export(qtbot, window, tmp_path):
    panel = chat_panel(window)
    send(qtbot, panel, "Primary colours please")
    first = panel.conversation_id
    panel.conversations.new_button.click()
    assert panel.conversation_id is None and panel.transcript.messages == []
    send(qtbot, panel, "Something else")
    second = panel.conversation_id
    assert panel.conversations.ids() == [second, first]
    panel.rename_conversation(first, "Colours")
    panel.search_box.setText("colours")
    assert panel.conversations.ids() == [first]
    panel.search_box.setText("else")
    assert panel.conversations.ids() == [second]
    panel.search_box.setText("")
    panel.conversations.select(first)
    assert panel.conversation_id == first and panel.transcript.messages[0].content == "Primary colours please"
    md = panel.export_conversation(tmp_path / "chat.md")
    assert "# Colours" in md.read_text(encoding="utf-8") and "## Assistant" in md.read_text(encoding="utf-8")
    data = json.loads(panel.export_conversation(tmp_path / "chat.json").read_text(encoding="utf-8"))
    assert [m["role"] for m in data["messages"]] == ["user", "assistant"]
    assert "USER:" in panel.export_conversation(tmp_path / "chat.txt").read_text(encoding="utf-8")
    panel.delete_conversation(first)
    assert panel.conversations.ids() == [second] and panel.conversation_id is None


def test_settings_presets_tooltips_and_reuse(qtbot, window):
    panel = chat_panel(window)
    panel.settings.preset.setCurrentText("Creative")
    assert panel.settings.temperature.value() == pytest.approx(1.1)
    panel.settings.top_k.setValue(7)
    assert panel.settings.preset.currentText() == "Custom"
    for name in ("temperature", "top_k", "top_p", "min_p", "repeat_penalty", "max_tokens", "beams",
                 "length_penalty", "context_policy", "inspect", "preset"):
        widget = getattr(panel.settings, name)
        tip = (widget.slider if hasattr(widget, "slider") else widget).toolTip()
        assert len(tip) > 20, name
    assert panel.settings.seed.dice.toolTip()
    panel.apply_params({"temperature": 0.3, "top_p": 0.5, "beams": 3, "system": "Be brief.", "model": NAME,
                        "context_policy": "rolling"})
    values = panel.store_settings()
    assert values["temperature"] == 0.3 and values["top_p"] == 0.5 and values["beams"] == 3
    assert values["system"] == "Be brief." and values["context_policy"] == "rolling"


def test_ctrl_enter_in_the_input_sends(qtbot, window):
    panel = chat_panel(window)
    panel.input.setPlainText("Hi")
    panel.input.setFocus()
    qtbot.keyClick(panel.input, Qt.Key_Return, Qt.ControlModifier)
    assert panel.request_id is not None
    qtbot.waitUntil(lambda: panel.request_id is None, timeout=60000)
    assert [m.role for m in panel.transcript.messages] == ["user", "assistant"]


def test_empty_message_is_refused_plainly(qtbot, window):
    panel = chat_panel(window)
    panel.input.setPlainText("   ")
    panel.generate()
    assert panel.request_id is None and "Type a message" in window.message_bar.label.text()


def test_without_a_model_the_panel_offers_the_build(qtbot, genloom_home):
    window = open_window(qtbot)
    try:
        panel = window.show_panel("chat")
        assert panel.banner.isVisible() and "No chat model" in panel.banner_text.text()
        assert not panel.send_button.isEnabled() and panel.build_button.isVisible()
    finally:
        window.worker.shutdown()


def test_markdown_code_blocks_are_monospace_on_a_tint(qtbot):
    from PySide6.QtGui import QTextFormat

    from desktop.widgets.chat_messages import MessageWidget

    widget = MessageWidget("assistant", "Here:\n\n```python\nx = 1\n```\n\nDone **now**.")
    qtbot.addWidget(widget)
    block, tinted = widget.view.document().begin(), []
    while block.isValid():
        if block.blockFormat().hasProperty(QTextFormat.BackgroundBrush):
            tinted.append(block.text())
        block = block.next()
    assert tinted == ["x = 1"]
    assert "now" in widget.view.toPlainText() and "**" not in widget.view.toPlainText()
