"""Small reusable controls: a seed field with a dice button, a labelled slider, a model picker."""
from __future__ import annotations

import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QSlider, QSpinBox, QToolButton, QWidget

from desktop.icons import icon

MAX_SEED = 2**31 - 1


class SeedField(QWidget):
    """A seed spin box plus a dice button that picks a random seed."""

    changed = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.spin = QSpinBox()
        self.spin.setRange(0, MAX_SEED)
        self.spin.setToolTip("The same seed and settings always give the same result.")
        self.dice = QToolButton()
        self.dice.setIcon(icon("dice"))
        self.dice.setToolTip("Pick a random seed")
        self.dice.clicked.connect(self.roll)
        layout.addWidget(self.spin, 1)
        layout.addWidget(self.dice)
        self.spin.valueChanged.connect(self.changed)

    def roll(self) -> None:
        self.spin.setValue(random.randint(0, MAX_SEED))

    def value(self) -> int:
        return self.spin.value()

    def setValue(self, value: int) -> None:  # noqa: N802 - Qt naming
        self.spin.setValue(int(value) % (MAX_SEED + 1))


class FloatSlider(QWidget):
    """A slider with a spin box for a float value."""

    valueChanged = Signal(float)

    def __init__(self, low: float, high: float, step: float, value: float, decimals: int = 2, parent=None):
        super().__init__(parent)
        self.low, self.step = low, step
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, round((high - low) / step))
        self.spin = QDoubleSpinBox()
        self.spin.setRange(low, high)
        self.spin.setSingleStep(step)
        self.spin.setDecimals(decimals)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        self.slider.valueChanged.connect(lambda v: self.spin.setValue(self.low + v * self.step))
        self.spin.valueChanged.connect(self._on_spin_changed)
        self.setValue(value)

    def _on_spin_changed(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(round((value - self.low) / self.step))
        self.slider.blockSignals(False)
        self.valueChanged.emit(value)

    def value(self) -> float:
        return self.spin.value()

    def setValue(self, value: float) -> None:  # noqa: N802 - Qt naming
        self.spin.setValue(float(value))

    def setToolTip(self, text: str) -> None:  # noqa: N802 - Qt naming
        self.slider.setToolTip(text)
        self.spin.setToolTip(text)


class ModelPicker(QComboBox):
    """Lists the registry's models of one kind."""

    def __init__(self, registry, kind: str, parent=None):
        super().__init__(parent)
        self.registry, self.kind = registry, kind
        self.setToolTip(f"Which {kind} model to use. Import more with File ▸ Import model.")
        self.reload()

    def reload(self) -> None:
        current = self.currentText()
        self.blockSignals(True)
        self.clear()
        for manifest in self.registry.of_kind(self.kind):
            self.addItem(manifest.name)
        if current:
            self.setCurrentText(current)
        self.blockSignals(False)

    def name(self) -> str | None:
        return self.currentText() or None
