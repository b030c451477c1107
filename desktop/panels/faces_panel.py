"""GAN faces: seed browsing, truncation ψ, a batch grid, interpolation between two faces, export."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtWidgets import (QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QSlider, QSpinBox, QVBoxLayout)
from PySide6.QtCore import Qt

from desktop.panels.base import Panel
from desktop.widgets.controls import FloatSlider, ModelPicker, SeedField
from desktop.widgets.image_grid import ImageGrid
from models.gan.job import FacesRequest, InterpolateRequest


class FacesPanel(Panel):
    key = "faces"
    title = "Faces"
    kinds = ("faces", "faces-interpolation")

    def __init__(self, services, parent=None):
        super().__init__(services, parent)
        self.setToolTip("Sample faces from a GAN and walk its latent space")
        self.request_id: int | None = None
        self.mode = "faces"
        self.last: dict = {}
        self._build()
        worker = services.worker
        worker.partial.connect(self._on_partial)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_stopped)
        worker.cancelled.connect(self._on_stopped)

    # ---- layout --------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QHBoxLayout(self)
        controls = QGroupBox("Faces")
        form = QFormLayout(controls)
        self.model = ModelPicker(self.services.registry, "gan")
        self.seed = SeedField()
        self.count = QSpinBox()
        self.count.setRange(1, 64)
        self.count.setValue(16)
        self.count.setToolTip("How many faces to make; face i uses seed + i.")
        self.truncation = FloatSlider(0.0, 2.0, 0.05, 1.0)
        self.truncation.setToolTip("Truncation ψ pulls each latent towards the average face: "
                                   "below 1 gives more typical faces, above 1 more unusual ones.")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Make the faces (Ctrl+Enter)")
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop after the current batch (Esc)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(lambda: self.services.worker.cancel(self.request_id))
        browse = QHBoxLayout()
        self.prev_button = QPushButton("◀ Previous seeds")
        self.next_button = QPushButton("Next seeds ▶")
        self.prev_button.setToolTip("Step the seed back by the face count and generate")
        self.next_button.setToolTip("Step the seed forward by the face count and generate")
        self.prev_button.clicked.connect(lambda: self._browse(-1))
        self.next_button.clicked.connect(lambda: self._browse(1))
        browse.addWidget(self.prev_button)
        browse.addWidget(self.next_button)
        form.addRow("Model", self.model)
        form.addRow("Seed", self.seed)
        form.addRow("Faces", self.count)
        form.addRow("Truncation ψ", self.truncation)
        form.addRow(self.generate_button)
        form.addRow(browse)
        form.addRow(self.cancel_button)

        walk = QGroupBox("Latent walk")
        walk_form = QFormLayout(walk)
        self.frames = QSpinBox()
        self.frames.setRange(2, 120)
        self.frames.setValue(10)
        self.frames.setToolTip("Frames of the interpolation between the two selected faces")
        self.interpolate_button = QPushButton("Interpolate selected two")
        self.interpolate_button.setToolTip("Select exactly two faces, then walk the latent space between them "
                                           "(spherical interpolation)")
        self.interpolate_button.clicked.connect(self.interpolate)
        walk_form.addRow("Frames", self.frames)
        walk_form.addRow(self.interpolate_button)
        explain = QLabel("How a GAN works: every face is one point z in a 100-D latent space. The generator maps "
                         "z to pixels; walking between two points morphs one face into the other. Captions show "
                         "the latent distance from the first face.")
        explain.setWordWrap(True)
        walk_form.addRow(explain)

        export = QGroupBox("Save")
        export_layout = QVBoxLayout(export)
        self.export_button = QPushButton("Export selected…")
        self.export_button.setToolTip("Copy the selected faces (all if none selected) to a folder (Ctrl+S)")
        self.export_button.clicked.connect(self.save_current)
        self.gif_button = QPushButton("Export walk as GIF…")
        self.gif_button.setToolTip("Save the current interpolation as an animated GIF")
        self.gif_button.clicked.connect(self.export_gif)
        self.gif_button.setEnabled(False)
        export_layout.addWidget(self.export_button)
        export_layout.addWidget(self.gif_button)
        self.zoom = QSlider(Qt.Horizontal)
        self.zoom.setRange(64, 320)
        self.zoom.setValue(160)
        self.zoom.setToolTip("Thumbnail size")
        self.zoom.valueChanged.connect(lambda v: self.grid.set_tile(v))
        export_layout.addWidget(QLabel("Zoom"))
        export_layout.addWidget(self.zoom)

        left = QVBoxLayout()
        left.addWidget(controls)
        left.addWidget(walk)
        left.addWidget(export)
        left.addStretch(1)
        right = QVBoxLayout()
        self.grid = ImageGrid(160)
        self.progress = QProgressBar()
        self.progress.hide()
        self.caption = QLabel("Press Generate (Ctrl+Enter) to sample faces.")
        right.addWidget(self.caption)
        right.addWidget(self.grid, 1)
        right.addWidget(self.progress)
        layout.addLayout(left, 0)
        layout.addLayout(right, 1)

    # ---- actions -------------------------------------------------------------------------------
    def generate(self) -> None:
        if not self.model.name():
            self.services.notify("No GAN model is installed.", "error")
            return
        request = FacesRequest(model=self.model.name(), seed=self.seed.value(), count=self.count.value(),
                               truncation=round(self.truncation.value(), 4))
        self._start(request, "faces", request.count)

    def _browse(self, direction: int) -> None:
        self.seed.setValue(max(0, self.seed.value() + direction * self.count.value()))
        self.generate()

    def interpolate(self) -> None:
        rows = self.grid.selected_rows()
        seeds = [self.grid.item(r).data(Qt.UserRole) for r in rows]
        if self.mode != "faces" or len(rows) != 2 or None in seeds:
            self.services.notify("Select exactly two faces in the grid first (Ctrl+click).", "info")
            return
        request = InterpolateRequest(model=self.model.name(), seed_a=int(seeds[0]), seed_b=int(seeds[1]),
                                     frames=self.frames.value(), truncation=round(self.truncation.value(), 4))
        self._start(request, "walk", request.frames)

    def _start(self, request, mode: str, total: int) -> None:
        if self.request_id is not None:
            self.services.worker.cancel(self.request_id)
        self.mode = mode
        self.request_params = request
        self.grid.clear_images()
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.progress.show()
        self.generate_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.gif_button.setEnabled(False)
        self.caption.setText("Generating…")
        self.request_id = self.services.worker.submit(request)

    # ---- worker signals ------------------------------------------------------------------------
    def _on_partial(self, request_id: int, what: str, payload) -> None:
        if request_id != self.request_id or what != "image":
            return
        index = payload["index"]
        if self.mode == "faces":
            seed = self.request_params.seed + index
            self.grid.add_image(payload["image"], f"seed {seed}", seed, f"Seed {seed} · ψ {self.request_params.truncation}")
        else:
            self.grid.add_image(payload["image"], f"frame {index + 1}", None)

    def _on_progress(self, request_id: int, step: int, total: int, eta: float) -> None:
        if request_id == self.request_id:
            self.progress.setRange(0, total)
            self.progress.setValue(step)

    def _on_finished(self, request_id: int, result: dict) -> None:
        if request_id != self.request_id:
            return
        self.last = result
        self._done()
        if self.mode == "walk":
            latents = [np.asarray(z, dtype=np.float64).ravel() for z in result.get("latents", [])]
            if latents:
                for row, z in enumerate(latents[: self.grid.count()]):
                    distance = float(np.linalg.norm(z - latents[0]))
                    self.grid.item(row).setText(f"frame {row + 1} · |Δz| {distance:.1f}")
            self.gif_button.setEnabled(True)
            self.caption.setText(f"Walk from seed {self.request_params.seed_a} to {self.request_params.seed_b}: "
                                 f"{len(result.get('images', []))} frames, saved to the gallery.")
        else:
            self.caption.setText(f"{len(result.get('images', []))} faces from seed {self.request_params.seed}, "
                                 f"saved to the gallery. Select two to interpolate.")
        self.services.item_saved(result.get("gallery_ids", []))

    def _on_stopped(self, request_id: int, *_reason) -> None:
        if request_id == self.request_id:
            self._done()
            self.caption.setText("Stopped." if not _reason else f"Failed: {_reason[0]}")

    def _done(self) -> None:
        self.request_id = None
        self.progress.hide()
        self.generate_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    # ---- saving --------------------------------------------------------------------------------
    def save_current(self) -> bool:
        files = self.last.get("files", [])
        if not files:
            return False
        rows = self.grid.selected_rows() or list(range(len(files)))
        folder = QFileDialog.getExistingDirectory(self, "Export faces to")
        if folder:
            self.export_to(Path(folder), [files[r] for r in rows if r < len(files)])
        return True

    def export_to(self, folder: Path, files: list) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for file in files:
                (folder / Path(file).name).write_bytes(Path(file).read_bytes())
        except OSError as exc:
            self.services.notify(f"Could not export to {folder}: {exc.strerror or exc}", "error")
            return
        self.services.notify(f"Exported {len(files)} file(s) to {folder}.", "info")

    def export_gif(self) -> None:
        target, _ = QFileDialog.getSaveFileName(self, "Save walk as GIF", "walk.gif", "GIF (*.gif)")
        if target:
            from models.runtime.animation import save_gif

            try:
                save_gif(self.last.get("images", []), target)
            except Exception as exc:  # shown, never fatal
                from models.runtime.errors import one_line

                self.services.notify(f"GIF not saved: {one_line(exc)}", "error")
                return
            self.services.notify(f"Saved {target}.", "info")

    # ---- reuse and persistence -----------------------------------------------------------------
    def apply_params(self, params: dict) -> None:
        if params.get("model"):
            self.model.setCurrentText(params["model"])
        if "face_seed" in params:  # one face from the gallery: make exactly that face again
            self.seed.setValue(int(params["face_seed"]))
            params = {**params, "count": 1}
        elif "seed" in params:
            self.seed.setValue(int(params["seed"]))
        elif "seed_a" in params:
            self.seed.setValue(int(params["seed_a"]))
        if "count" in params:
            self.count.setValue(int(params["count"]))
        if "truncation" in params:
            self.truncation.setValue(float(params["truncation"]))
        if "frames" in params:
            self.frames.setValue(int(params["frames"]))

    def store_settings(self) -> dict:
        return {"model": self.model.name(), "seed": self.seed.value(), "count": self.count.value(),
                "truncation": self.truncation.value(), "frames": self.frames.value(), "zoom": self.zoom.value()}

    def restore_settings(self, values: dict) -> None:
        self.apply_params(values)
        if values.get("zoom"):
            self.zoom.setValue(int(values["zoom"]))

    def reload_models(self) -> None:
        self.model.reload()
