"""VAE latent sliders: drag an axis and the face follows at once (latest wins), encode your own image,
interpolate between two points, and see a traversal grid of two axes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel,
                               QPushButton, QScrollArea, QSlider, QSpinBox, QVBoxLayout, QWidget)

from desktop.panels.base import Panel
from desktop.widgets.controls import ModelPicker
from desktop.widgets.image_grid import to_pixmap
from desktop.widgets.latent_plot import LatentPlot
from models.runtime.errors import GenloomError, one_line
from models.vae import explorer
from models.vae.job import DecodeRequest, EncodeRequest, InterpolateRequest, TraversalRequest

STEPS_PER_SIGMA = 100


class AxisRow(QWidget):
    """One latent axis: label with its share of variance, a ±3σ slider, its value, and a lock."""

    def __init__(self, index: int, share: float, sigma: float, on_change, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel(f"axis {index + 1} · {share * 100:.1f}%")
        self.label.setMinimumWidth(104)
        self.label.setToolTip(f"Axis {index + 1} explains {share * 100:.1f}% of the variance of encoded faces "
                              f"(σ = {sigma:.3f}).")
        self.slider = QSlider(Qt.Horizontal)
        span = int(explorer.SPAN * STEPS_PER_SIGMA)
        self.slider.setRange(-span, span)
        self.slider.setToolTip("Drag to move along this axis, in units of its σ (±3σ).")
        self.value = QLabel("0.00σ")
        self.value.setMinimumWidth(52)
        self.lock = QCheckBox("lock")
        self.lock.setToolTip("Randomize leaves locked axes where they are.")
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.value)
        layout.addWidget(self.lock)
        self.slider.valueChanged.connect(lambda v: (self.value.setText(f"{v / STEPS_PER_SIGMA:+.2f}σ"), on_change()))

    def get(self) -> float:
        return self.slider.value() / STEPS_PER_SIGMA

    def set(self, sigma_units: float) -> None:
        self.slider.blockSignals(True)
        clipped = max(self.slider.minimum(), min(self.slider.maximum(), round(sigma_units * STEPS_PER_SIGMA)))
        self.slider.setValue(clipped)
        self.value.setText(f"{clipped / STEPS_PER_SIGMA:+.2f}σ")
        self.slider.blockSignals(False)


class VaePanel(Panel):
    key = "vae"
    title = "VAE"
    kinds = ("vae",)

    def __init__(self, services, parent=None):
        super().__init__(services, parent)
        self.setToolTip("Drag a VAE's latent sliders and watch the face change")
        self.axes: explorer.Axes | None = None
        self.rows: list[AxisRow] = []
        self.latest_id = 0
        self.shown_id = 0
        self.jobs: dict[int, str] = {}
        self.point_a = self.point_b = None
        self.last_image = None
        self.frames: list = []
        self._build()
        worker = services.worker
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        self.reload_models()

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        top = QHBoxLayout()
        self.model = ModelPicker(self.services.registry, "vae")
        self.model.currentTextChanged.connect(lambda _: self.reload_models(keep_choice=True))
        top.addWidget(QLabel("Model"))
        top.addWidget(self.model, 1)
        left.addLayout(top)
        buttons = QHBoxLayout()
        self.random_button = QPushButton("Randomize")
        self.random_button.setToolTip("Random values for every unlocked axis")
        self.random_button.clicked.connect(self.randomize)
        self.reset_button = QPushButton("Reset to mean")
        self.reset_button.setToolTip("All sliders to 0σ: the average face")
        self.reset_button.clicked.connect(self.reset)
        self.encode_button = QPushButton("Encode image…")
        self.encode_button.clicked.connect(self.choose_image)
        for button in (self.random_button, self.reset_button, self.encode_button):
            buttons.addWidget(button)
        left.addLayout(buttons)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.sliders_box = QWidget()
        self.sliders_layout = QVBoxLayout(self.sliders_box)
        self.sliders_layout.setSpacing(2)
        self.scroll.setWidget(self.sliders_box)
        left.addWidget(self.scroll, 1)
        layout.addLayout(left, 3)

        middle = QVBoxLayout()
        self.image = QLabel("Move a slider")
        self.image.setAlignment(Qt.AlignCenter)
        self.image.setMinimumSize(320, 320)
        self.image.setToolTip("The decoder's output for the current latent")
        self.status = QLabel("")
        pair = QHBoxLayout()
        self.input_view = QLabel()
        self.recon_view = QLabel()
        for view, tip in ((self.input_view, "The image you encoded"), (self.recon_view, "Its reconstruction")):
            view.setFixedSize(128, 128)
            view.setText("drop an image\nto encode it" if view is self.input_view else "reconstruction")
            view.setStyleSheet("border: 1px dashed #555;")
            view.setAlignment(Qt.AlignCenter)
            view.setToolTip(tip)
            pair.addWidget(view)
        self.save_button = QPushButton("Save to gallery")
        self.save_button.setToolTip("Save this face with its latent (Ctrl+S)")
        self.save_button.clicked.connect(self.save_current)
        middle.addWidget(self.image, 1)
        middle.addWidget(self.status)
        middle.addLayout(pair)
        middle.addWidget(self.save_button)

        walk = QGroupBox("A ↔ B")
        walk_layout = QGridLayout(walk)
        self.set_a = QPushButton("Set A")
        self.set_a.setToolTip("Remember the current face as point A")
        self.set_b = QPushButton("Set B")
        self.set_b.setToolTip("Remember the current face as point B")
        self.set_a.clicked.connect(lambda: self._set_point("a"))
        self.set_b.clicked.connect(lambda: self._set_point("b"))
        self.mix = QSlider(Qt.Horizontal)
        self.mix.setRange(0, 100)
        self.mix.setToolTip("Move between A and B (spherical interpolation around the mean face)")
        self.mix.valueChanged.connect(self._on_mix)
        self.mix.setEnabled(False)
        self.path_frames = QSpinBox()
        self.path_frames.setRange(2, 120)
        self.path_frames.setValue(16)
        self.path_frames.setToolTip("Frames in the exported path")
        self.export_path = QPushButton("Export path…")
        self.export_path.setToolTip("Decode the A→B path and save it as a GIF or as PNG frames")
        self.export_path.clicked.connect(self.export_interpolation)
        self.export_path.setEnabled(False)
        walk_layout.addWidget(self.set_a, 0, 0)
        walk_layout.addWidget(self.mix, 0, 1)
        walk_layout.addWidget(self.set_b, 0, 2)
        walk_layout.addWidget(QLabel("Frames"), 1, 0)
        walk_layout.addWidget(self.path_frames, 1, 1)
        walk_layout.addWidget(self.export_path, 1, 2)
        middle.addWidget(walk)
        layout.addLayout(middle, 3)

        right = QVBoxLayout()
        grid_box = QGroupBox("Traversal grid — how a VAE works")
        grid_layout = QGridLayout(grid_box)
        self.axis_a = QComboBox()
        self.axis_b = QComboBox()
        self.axis_a.setToolTip("Axis that changes down the rows")
        self.axis_b.setToolTip("Axis that changes across the columns")
        self.grid_steps = QSpinBox()
        self.grid_steps.setRange(3, 15)
        self.grid_steps.setValue(7)
        self.grid_steps.setToolTip("Steps from -3σ to +3σ on each axis")
        self.grid_button = QPushButton("Show grid")
        self.grid_button.setToolTip("Decode a grid over the two axes around the current face")
        self.grid_button.clicked.connect(self.traverse)
        self.grid_view = QLabel("Each row and column moves one axis from -3σ to +3σ.")
        self.grid_view.setWordWrap(True)
        self.grid_view.setAlignment(Qt.AlignCenter)
        self.grid_view.setMinimumSize(300, 300)
        self.plot = LatentPlot()
        self.axis_a.currentIndexChanged.connect(self._update_plot)
        self.axis_b.currentIndexChanged.connect(self._update_plot)
        grid_layout.addWidget(QLabel("Rows"), 0, 0)
        grid_layout.addWidget(self.axis_a, 0, 1)
        grid_layout.addWidget(QLabel("Columns"), 1, 0)
        grid_layout.addWidget(self.axis_b, 1, 1)
        grid_layout.addWidget(QLabel("Steps"), 2, 0)
        grid_layout.addWidget(self.grid_steps, 2, 1)
        grid_layout.addWidget(self.grid_button, 3, 0, 1, 2)
        grid_layout.addWidget(self.grid_view, 4, 0, 1, 2)
        grid_layout.addWidget(self.plot, 5, 0, 1, 2)
        right.addWidget(grid_box)
        layout.addLayout(right, 3)

    # ---- model and axes ------------------------------------------------------------------------
    def reload_models(self, keep_choice: bool = False) -> None:
        if not keep_choice:
            self.model.reload()
        for row in self.rows:
            row.deleteLater()
        self.rows = []
        self.axes = None
        name = self.model.name()
        if not name:
            self.status.setText("No VAE model is installed.")
            return
        try:
            manifest = self.services.registry.get("vae", name)
            self.axes = explorer.axes_for(manifest, int(manifest.params.get("z_dim") or 0) or None)
        except (GenloomError, ValueError, TypeError) as exc:
            self.services.notify(f"VAE '{name}': {one_line(exc)}", "error")
            return
        reason = explorer.encode_unavailable_reason(manifest)
        self.encode_button.setEnabled(reason is None)
        self.encode_button.setToolTip(reason or "Encode any image (it is resized to the model's size); "
                                                "the sliders jump to its latent")
        for k in range(self.axes.count):
            row = AxisRow(k, float(self.axes.share[k]), float(self.axes.sigma[k]), self.decode_now)
            self.rows.append(row)
            self.sliders_layout.addWidget(row)
        self.axis_a.blockSignals(True)
        self.axis_b.blockSignals(True)
        self.axis_a.clear()
        self.axis_b.clear()
        for k in range(self.axes.count):
            self.axis_a.addItem(f"axis {k + 1}")
            self.axis_b.addItem(f"axis {k + 1}")
        self.axis_a.setCurrentIndex(0)
        self.axis_b.setCurrentIndex(min(1, self.axes.count - 1))
        self.axis_a.blockSignals(False)
        self.axis_b.blockSignals(False)
        self._update_plot()
        self.decode_now()

    def sliders(self) -> np.ndarray:
        return np.array([row.get() for row in self.rows])

    def set_sliders(self, values) -> None:
        for row, value in zip(self.rows, values):
            row.set(float(value))
        self._update_plot()

    def latent(self) -> tuple:
        return tuple(float(v) for v in explorer.slider_to_latent(self.sliders(), self.axes))

    # ---- live decode: latest wins ----------------------------------------------------------------
    def decode_now(self, latent: tuple | None = None) -> None:
        if self.axes is None:
            return
        self._update_plot()
        request = DecodeRequest(model=self.model.name(), latent=latent or self.latent())
        self.latest_id = self.services.worker.submit(request, latest_wins=True)
        self.jobs[self.latest_id] = "decode"

    def _on_finished(self, request_id: int, result: dict) -> None:
        kind = self.jobs.pop(request_id, None)
        if kind is None:
            return
        if kind == "decode":
            if request_id < self.shown_id:
                return  # an older frame finishing late never replaces a newer one
            self.shown_id = request_id
            self.last_image = result["images"][0]
            self.image.setPixmap(to_pixmap(self.last_image, min(self.image.width(), self.image.height())))
            self.status.setText(f"decoded in {result.get('decode_ms', 0):.1f} ms")
        elif kind == "encode":
            self.input_view.setPixmap(to_pixmap(result["input"], 128))
            self.recon_view.setPixmap(to_pixmap(result["images"][0], 128))
            self.set_sliders(explorer.latent_to_sliders(result["latent"], self.axes))
            self.decode_now()
            self.services.item_saved(result.get("gallery_ids", []))
        elif kind == "grid":
            from models.vae.job import tile

            sheet = tile(result["images"], int(result["grid"][1]))
            self.grid_view.setPixmap(to_pixmap(sheet, min(self.grid_view.width(), self.grid_view.height(), 480)))
        elif kind == "save":
            self.services.item_saved(result.get("gallery_ids", []))
            self.services.notify("Saved to the gallery with its latent.", "info")
        elif kind == "path":
            self._write_path(result)

    def _on_failed(self, request_id: int, reason: str) -> None:
        self.jobs.pop(request_id, None)

    # ---- actions -------------------------------------------------------------------------------
    def randomize(self) -> None:
        if self.axes is None:
            return
        locked = [k for k, row in enumerate(self.rows) if row.lock.isChecked()]
        values = explorer.random_sliders(self.axes, None, self.sliders(), locked)
        self.set_sliders(values)
        self.decode_now()

    def reset(self) -> None:
        if self.axes is None:
            return
        self.set_sliders(explorer.reset_sliders(self.axes))
        self.decode_now()

    def generate(self) -> None:
        self.randomize()

    def choose_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Encode image", str(Path.home()),
                                              "Images (*.png *.jpg *.jpeg *.bmp *.webp);;All files (*)")
        if path:
            self.encode(Path(path))

    def encode(self, path: Path) -> None:
        if self.axes is None:
            return
        request_id = self.services.worker.submit(EncodeRequest(model=self.model.name(), image_path=str(path), save=True))
        self.jobs[request_id] = "encode"

    def accepts_image_drop(self) -> bool:
        return self.encode_button.isEnabled()

    def handle_image_drop(self, path: Path) -> None:
        self.encode(path)

    def traverse(self) -> None:
        if self.axes is None:
            return
        request = TraversalRequest(model=self.model.name(), latent=self.latent(), axis_a=self.axis_a.currentIndex(),
                                   axis_b=self.axis_b.currentIndex(), steps=self.grid_steps.value())
        self.jobs[self.services.worker.submit(request)] = "grid"

    def save_current(self) -> bool:
        if self.axes is None:
            return False
        request = DecodeRequest(model=self.model.name(), latent=self.latent(), save=True)
        self.jobs[self.services.worker.submit(request)] = "save"
        return True

    def _set_point(self, which: str) -> None:
        if self.axes is None:
            return
        if which == "a":
            self.point_a = self.latent()
        else:
            self.point_b = self.latent()
        ready = self.point_a is not None and self.point_b is not None
        self.mix.setEnabled(ready)
        self.export_path.setEnabled(ready)
        self.mix.blockSignals(True)
        self.mix.setValue(0 if which == "a" else 100)
        self.mix.blockSignals(False)

    def _on_mix(self, value: int) -> None:
        if self.point_a is None or self.point_b is None:
            return
        z = explorer.slerp(self.point_a, self.point_b, value / 100.0, self.axes.mean)
        self.set_sliders(explorer.latent_to_sliders(z, self.axes))
        self.decode_now(tuple(float(v) for v in z))

    def export_interpolation(self) -> None:
        target, _ = QFileDialog.getSaveFileName(self, "Export path", "vae-path.gif",
                                                "Animated GIF (*.gif);;PNG frames in a folder (*)")
        if not target:
            return
        self.path_target = Path(target)
        request = InterpolateRequest(model=self.model.name(), latent_a=self.point_a, latent_b=self.point_b,
                                     frames=self.path_frames.value(), save=True)
        self.jobs[self.services.worker.submit(request)] = "path"

    def _write_path(self, result: dict) -> None:
        from models.runtime.animation import save_gif, save_png_frames

        target = self.path_target
        try:
            if target.suffix.lower() == ".gif":
                save_gif(result["images"], target)
            else:
                save_png_frames(result["images"], target, "frame")
        except (GenloomError, OSError) as exc:
            self.services.notify(f"Path not exported: {one_line(exc)}", "error")
            return
        self.services.item_saved(result.get("gallery_ids", []))
        self.services.notify(f"Exported {len(result['images'])} frames to {target}.", "info")

    # ---- plot ----------------------------------------------------------------------------------
    def _update_plot(self) -> None:
        if self.axes is None or not self.rows:
            return
        a, b = self.axis_a.currentIndex(), self.axis_b.currentIndex()
        points = self.axes.sample_2d if (a, b) == (0, 1) else None
        self.plot.set_points(points, (f"axis {a + 1}", f"axis {b + 1}"))
        values = self.sliders()
        self.plot.set_current(values[a], values[b])

    # ---- reuse and persistence -----------------------------------------------------------------
    def apply_params(self, params: dict) -> None:
        if params.get("model"):
            self.model.setCurrentText(params["model"])
        if params.get("latent") and self.axes is not None:
            try:
                self.set_sliders(explorer.latent_to_sliders(params["latent"], self.axes))
            except GenloomError as exc:
                self.services.notify(one_line(exc), "error")
                return
            self.decode_now()

    def store_settings(self) -> dict:
        return {"model": self.model.name(), "sliders": [round(v, 3) for v in self.sliders()],
                "steps": self.grid_steps.value(), "frames": self.path_frames.value()}

    def restore_settings(self, values: dict) -> None:
        if values.get("model") and values["model"] != self.model.name():
            self.model.setCurrentText(values["model"])
        if values.get("sliders") and len(values["sliders"]) == len(self.rows):
            self.set_sliders(values["sliders"])
            self.decode_now()
        if values.get("steps"):
            self.grid_steps.setValue(int(values["steps"]))
        if values.get("frames"):
            self.path_frames.setValue(int(values["frames"]))
