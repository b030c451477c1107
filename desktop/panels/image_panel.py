"""Text-to-image: prompt, sampler and size controls, a visible queue, a live preview, img2img by drop,
and a denoising filmstrip that shows how diffusion turns noise into a picture."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPlainTextEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout)

from desktop.panels.base import Panel
from desktop.widgets.controls import FloatSlider, ModelPicker, SeedField
from desktop.widgets.image_grid import ImageGrid, to_pixmap
from desktop.widgets.job_queue import JobQueue
from models.diffusion.filmstrip import save as save_filmstrip
from models.diffusion.job import ImageRequest
from models.diffusion.schedulers import NAMES
from models.runtime.errors import GenloomError, one_line

SIZES = [64, 128, 192, 256, 320, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960, 1024]




class ImagePanel(Panel):
    key = "image"
    title = "Image"
    kinds = ("image",)

    def __init__(self, services, parent=None):
        super().__init__(services, parent)
        self.setToolTip("Text-to-image diffusion with a live preview and a queue")
        self.request_id: int | None = None
        self.running: ImageRequest | None = None
        self.last: dict = {}
        self.init_image: str | None = None
        self._build()
        worker = services.worker
        worker.partial.connect(self._on_partial)
        worker.progress.connect(self._on_progress)
        worker.notice.connect(self._on_notice)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_stopped)
        worker.cancelled.connect(self._on_stopped)
        self.reload_models()

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        prompt_box = QGroupBox("Prompt")
        prompt_layout = QVBoxLayout(prompt_box)
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("a large red circle on a blue background")
        self.prompt.setToolTip("What to draw. Ctrl+Enter adds the job to the queue.")
        self.prompt.setMaximumHeight(80)
        self.negative = QPlainTextEdit()
        self.negative.setPlaceholderText("negative prompt (what to avoid)")
        self.negative.setToolTip("What the image should not show; used by classifier-free guidance.")
        self.negative.setMaximumHeight(50)
        prompt_layout.addWidget(self.prompt)
        prompt_layout.addWidget(self.negative)
        left.addWidget(prompt_box)

        settings = QGroupBox("Settings")
        form = QFormLayout(settings)
        self.model = ModelPicker(self.services.registry, "diffusion")
        self.model.currentTextChanged.connect(self._on_model_changed)
        self.scheduler = QComboBox()
        self.scheduler.addItems(NAMES)
        self.scheduler.setToolTip("The sampler: how each denoising step moves the image (Euler a is a good start; "
                                  "LCM needs an LCM model).")
        self.steps = QSpinBox()
        self.steps.setRange(1, 150)
        self.steps.setValue(20)
        self.steps.setToolTip("Denoising steps: more is slower and usually cleaner.")
        self.cfg = FloatSlider(1.0, 20.0, 0.5, 7.0, 1)
        self.cfg.setToolTip("Guidance scale: how strongly the image follows the prompt (1 turns guidance off).")
        self.seed = SeedField()
        self.width_box = QComboBox()
        self.height_box = QComboBox()
        for box, what in ((self.width_box, "Width"), (self.height_box, "Height")):
            box.addItems([str(s) for s in SIZES])
            box.setToolTip(f"{what} in pixels (multiples of 8; the model's native size works best).")
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_box)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_box)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 16)
        self.batch_size.setToolTip("Images made together in one batch (image i uses seed + i).")
        self.batch_count = QSpinBox()
        self.batch_count.setRange(1, 50)
        self.batch_count.setToolTip("How many batches to queue, each with the next seeds.")
        self.filmstrip = QSpinBox()
        self.filmstrip.setRange(0, 12)
        self.filmstrip.setValue(6)
        self.filmstrip.setToolTip("Frames of the denoising filmstrip to record (0 = none).")
        form.addRow("Model", self.model)
        form.addRow("Sampler", self.scheduler)
        form.addRow("Steps", self.steps)
        form.addRow("CFG scale", self.cfg)
        form.addRow("Seed", self.seed)
        form.addRow("Size", size_row)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Batch count", self.batch_count)
        form.addRow("Filmstrip frames", self.filmstrip)
        left.addWidget(settings)

        img2img = QGroupBox("Image to image")
        img_form = QFormLayout(img2img)
        self.init_view = QLabel("Drop an image on the window, or choose one.")
        self.init_view.setWordWrap(True)
        self.init_view.setMinimumHeight(64)
        choose = QPushButton("Choose…")
        choose.setToolTip("Start from an existing image instead of pure noise")
        choose.clicked.connect(self._choose_init)
        clear = QPushButton("Clear")
        clear.setToolTip("Back to text-to-image")
        clear.clicked.connect(lambda: self.set_init_image(None))
        buttons = QHBoxLayout()
        buttons.addWidget(choose)
        buttons.addWidget(clear)
        self.strength = FloatSlider(0.05, 1.0, 0.05, 0.75)
        self.strength.setToolTip("How much to change the start image: 0 keeps it, 1 ignores it.")
        img_form.addRow(self.init_view)
        img_form.addRow(buttons)
        img_form.addRow("Strength", self.strength)
        left.addWidget(img2img)
        left.addStretch(1)
        layout.addLayout(left, 2)

        middle = QVBoxLayout()
        actions = QHBoxLayout()
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Add this job to the queue (Ctrl+Enter)")
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job at the next step (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        actions.addWidget(self.generate_button, 1)
        actions.addWidget(self.cancel_button)
        middle.addLayout(actions)
        self.progress = QProgressBar()
        self.progress.setFormat("idle")
        middle.addWidget(self.progress)
        self.preview = QLabel("The live preview appears here while an image is denoised.")
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setMinimumSize(384, 384)
        self.preview.setToolTip("A cheap preview of the predicted clean image at every step")
        middle.addWidget(self.preview, 1)
        middle.addWidget(QLabel("Queue"))
        self.queue = JobQueue(self._describe)
        middle.addWidget(self.queue)
        layout.addLayout(middle, 3)

        right = QVBoxLayout()
        right.addWidget(QLabel("Results (saved to the gallery)"))
        self.results = ImageGrid(128)
        self.results.itemDoubleClicked.connect(lambda item: self._show_result(self.results.row(item)))
        right.addWidget(self.results, 2)
        strip_box = QGroupBox("Denoising filmstrip — how diffusion works")
        strip_layout = QVBoxLayout(strip_box)
        explain = QLabel("Top: the model's guess of the clean image x̂₀ at each recorded step. Bottom: the noisy "
                         "latent it is refining. Noise turns into a picture step by step.")
        explain.setWordWrap(True)
        self.strip_x0 = ImageGrid(72)
        self.strip_noisy = ImageGrid(72)
        for grid in (self.strip_x0, self.strip_noisy):
            grid.setMaximumHeight(110)
            grid.setFlow(grid.Flow.LeftToRight)
            grid.setWrapping(False)
        self.strip_gif = QPushButton("Export filmstrip as GIF…")
        self.strip_gif.setToolTip("Save the filmstrip as an animation: the clean-image guess beside the noisy latent, step by step")
        self.strip_gif.clicked.connect(self._export_filmstrip)
        self.strip_gif.setEnabled(False)
        strip_layout.addWidget(explain)
        strip_layout.addWidget(self.strip_x0)
        strip_layout.addWidget(self.strip_noisy)
        strip_layout.addWidget(self.strip_gif)
        right.addWidget(strip_box, 1)
        self.reuse_button = QPushButton("Reuse settings of selected")
        self.reuse_button.setToolTip("Put the selected result's settings back into the controls")
        self.reuse_button.clicked.connect(self._reuse_selected)
        right.addWidget(self.reuse_button)
        layout.addLayout(right, 3)

    # ---- models --------------------------------------------------------------------------------
    def reload_models(self) -> None:
        self.model.reload()
        self._on_model_changed(self.model.name() or "")

    def _on_model_changed(self, name: str) -> None:
        if not name:
            return
        try:
            params = self.services.registry.get("diffusion", name).params
        except GenloomError:
            return
        for box, key in ((self.width_box, "width"), (self.height_box, "height")):
            if params.get(key):
                box.setCurrentText(str(params[key]))
        # the model's own recommended settings (its card says what they were tuned for)
        if params.get("steps"):
            self.steps.setValue(int(params["steps"]))
        if params.get("guidance") is not None:
            self.cfg.setValue(float(params["guidance"]))
        if params.get("scheduler") in NAMES:
            self.scheduler.setCurrentText(params["scheduler"])

    # ---- requests and the queue ------------------------------------------------------------------
    def current_request(self, seed_offset: int = 0) -> ImageRequest:
        return ImageRequest(model=self.model.name(), prompt=self.prompt.toPlainText().strip(),
                            negative=self.negative.toPlainText().strip(), steps=self.steps.value(),
                            cfg=round(self.cfg.value(), 2), scheduler=self.scheduler.currentText(),
                            seed=self.seed.value() + seed_offset, width=int(self.width_box.currentText()),
                            height=int(self.height_box.currentText()), batch_size=self.batch_size.value(),
                            init_image=self.init_image, strength=round(self.strength.value(), 2) if self.init_image else 0.75,
                            filmstrip=self.filmstrip.value())

    @staticmethod
    def _describe(request: ImageRequest) -> str:
        mode = " · img2img" if request.init_image else ""
        # seed and settings first: the queue is narrow and its items often share one prompt
        return (f"seed {request.seed} · {request.steps} steps · {request.scheduler} · {request.width}×{request.height}"
                f" ×{request.batch_size}{mode} · “{request.prompt[:40]}”")

    def generate(self) -> None:
        if not self.model.name():
            self.services.notify("No diffusion model is installed.", "error")
            return
        if not self.prompt.toPlainText().strip():
            self.services.notify("Write a prompt first.", "info")
            self.prompt.setFocus()
            return
        for batch in range(self.batch_count.value()):
            self.queue.add(self.current_request(batch * self.batch_size.value()))
        self._start_next()

    def _start_next(self) -> None:
        if self.request_id is not None:
            return
        request = self.queue.pop()
        if request is None:
            return
        self.running = request
        self.progress.setRange(0, request.steps)
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.cancel_button.setEnabled(True)
        self.request_id = self.services.worker.submit(request)

    def cancel(self) -> None:
        if self.request_id is not None:
            self.services.worker.cancel(self.request_id)

    # ---- worker signals ------------------------------------------------------------------------
    def _on_partial(self, request_id: int, what: str, payload) -> None:
        if request_id == self.request_id and what == "preview":
            self.preview.setPixmap(to_pixmap(payload, min(self.preview.width(), self.preview.height())))

    def _on_progress(self, request_id: int, step: int, total: int, eta: float) -> None:
        if request_id == self.request_id:
            self.progress.setRange(0, total)
            self.progress.setValue(step)
            self.progress.setFormat(f"step {step}/{total}" + (f" · ETA {eta:.1f} s" if eta >= 0 else "")
                                    + (f" · {len(self.queue)} queued" if len(self.queue) else ""))

    def _on_notice(self, request_id: int, text: str) -> None:
        if request_id == self.request_id:
            self.services.notify(text, "info")

    def _on_finished(self, request_id: int, result: dict) -> None:
        if request_id != self.request_id:
            return
        self.last = {**result, "request": self.running}
        for image, seed_index in zip(result.get("images", []), range(len(result.get("images", [])))):
            seed = self.running.seed + seed_index
            self.results.add_image(image, f"seed {seed}", {"seed": seed, "request": self.running})
        if result.get("images"):
            self.preview.setPixmap(to_pixmap(result["images"][0], min(self.preview.width(), self.preview.height())))
        self._show_filmstrip(result.get("filmstrip") or [])
        self.progress.setFormat(f"done in {result.get('elapsed_s', 0):.1f} s · {result.get('s_per_step', 0):.3f} s/step")
        self.services.item_saved(result.get("gallery_ids", []))
        self._finish()

    def _on_stopped(self, request_id: int, *reason) -> None:
        if request_id == self.request_id:
            self.progress.setFormat("cancelled" if not reason else "failed")
            self._finish()

    def _finish(self) -> None:
        self.request_id = None
        self.running = None
        self.cancel_button.setEnabled(bool(len(self.queue)))
        self._start_next()

    # ---- filmstrip -----------------------------------------------------------------------------
    def _show_filmstrip(self, frames: list) -> None:
        self.strip_x0.clear_images()
        self.strip_noisy.clear_images()
        for frame in frames:
            self.strip_x0.add_image(frame["x0"][0], f"x₀ {frame['step']}", None, f"Predicted clean image after step {frame['step']}")
            self.strip_noisy.add_image(frame["noisy"][0], f"x {frame['step']}", None, f"Noisy latent after step {frame['step']}")
        self.strip_gif.setEnabled(bool(frames))

    def _export_filmstrip(self) -> None:
        strip = self.last.get("filmstrip") or []
        if not strip:
            return
        target, _ = QFileDialog.getSaveFileName(self, "Save filmstrip", "filmstrip.gif", "GIF (*.gif)")
        if target:
            try:
                save_filmstrip(strip, target)
            except (GenloomError, OSError) as exc:
                self.services.notify(f"Filmstrip not saved: {one_line(exc)}", "error")
                return
            self.services.notify(f"Saved {target}.", "info")

    # ---- img2img -------------------------------------------------------------------------------
    def _choose_init(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Start image", str(Path.home()),
                                              "Images (*.png *.jpg *.jpeg *.webp *.bmp);;All files (*)")
        if path:
            self.set_init_image(path)

    def set_init_image(self, path) -> None:
        self.init_image = str(path) if path else None
        if path:
            from PySide6.QtGui import QPixmap

            pixmap = QPixmap(str(path))
            if pixmap.isNull():
                self.services.notify(f"{Path(path).name} is not a readable image.", "error")
                self.init_image = None
                return
            self.init_view.setPixmap(pixmap.scaled(96, 96, Qt.KeepAspectRatio, Qt.SmoothTransformation))
        else:
            self.init_view.setText("Drop an image on the window, or choose one.")

    def accepts_image_drop(self) -> bool:
        return True

    def handle_image_drop(self, path: Path) -> None:
        self.set_init_image(path)
        self.services.notify(f"Image to image: starting from {path.name}.", "info")

    # ---- saving, reuse, persistence ----------------------------------------------------------------
    def _show_result(self, row: int) -> None:
        self.preview.setPixmap(to_pixmap(self.results.images[row], min(self.preview.width(), self.preview.height())))

    def _reuse_selected(self) -> None:
        rows = self.results.selected_rows()
        if not rows:
            self.services.notify("Select a result first.", "info")
            return
        data = self.results.item(rows[0]).data(Qt.UserRole)
        request = data["request"]
        self.apply_params({**request.__dict__, "seed": data["seed"], "batch_size": 1})

    def save_current(self) -> bool:
        files = self.last.get("files", [])
        if not files:
            return False
        folder = QFileDialog.getExistingDirectory(self, "Export images to")
        if folder:
            try:
                for file in files:
                    (Path(folder) / Path(file).name).write_bytes(Path(file).read_bytes())
            except OSError as exc:
                self.services.notify(f"Could not export to {folder}: {exc.strerror or exc}", "error")
                return True
            self.services.notify(f"Exported {len(files)} image(s) to {folder}.", "info")
        return True

    def apply_params(self, params: dict) -> None:
        if params.get("model") and params["model"] in [self.model.itemText(i) for i in range(self.model.count())]:
            self.model.setCurrentText(params["model"])
        if "prompt" in params:
            self.prompt.setPlainText(params["prompt"] or "")
        if "negative" in params:
            self.negative.setPlainText(params["negative"] or "")
        if params.get("scheduler") in NAMES:
            self.scheduler.setCurrentText(params["scheduler"])
        for key, box in (("steps", self.steps), ("batch_size", self.batch_size)):
            if params.get(key):
                box.setValue(int(params[key]))
        if params.get("cfg") is not None:
            self.cfg.setValue(float(params["cfg"]))
        if params.get("seed") is not None:
            self.seed.setValue(int(params["seed"]))
        for key, box in (("width", self.width_box), ("height", self.height_box)):
            if params.get(key):
                if box.findText(str(params[key])) < 0:
                    box.addItem(str(params[key]))
                box.setCurrentText(str(params[key]))
        if params.get("init_image") and Path(params["init_image"]).exists():
            self.set_init_image(params["init_image"])
            if params.get("strength") is not None:
                self.strength.setValue(float(params["strength"]))

    def store_settings(self) -> dict:
        return {"model": self.model.name(), "prompt": self.prompt.toPlainText(), "negative": self.negative.toPlainText(),
                "scheduler": self.scheduler.currentText(), "steps": self.steps.value(), "cfg": self.cfg.value(),
                "seed": self.seed.value(), "width": int(self.width_box.currentText()),
                "height": int(self.height_box.currentText()), "batch_size": self.batch_size.value(),
                "filmstrip": self.filmstrip.value()}

    def restore_settings(self, values: dict) -> None:
        self.apply_params(values)
        if values.get("filmstrip") is not None:
            self.filmstrip.setValue(int(values["filmstrip"]))
