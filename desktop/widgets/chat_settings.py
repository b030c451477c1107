"""Sampling settings for the chat panel: presets plus every control, each with a one-sentence tooltip."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QSpinBox, QWidget

from desktop.widgets.controls import FloatSlider, SeedField

PRESETS = {
    "Precise": {"temperature": 0.2, "top_k": 20, "top_p": 0.9, "min_p": 0.1, "repeat_penalty": 1.05},
    "Balanced": {"temperature": 0.7, "top_k": 40, "top_p": 0.95, "min_p": 0.05, "repeat_penalty": 1.0},
    "Creative": {"temperature": 1.1, "top_k": 100, "top_p": 0.98, "min_p": 0.02, "repeat_penalty": 1.0},
}
POLICIES = {"drop_oldest": "Drop oldest messages", "rolling": "Rolling window", "stop": "Stop at the limit"}
TIPS = {
    "preset": "Ready-made sampling settings: Precise for facts and code, Balanced for chat, Creative for stories.",
    "temperature": "Higher values flatten the next-token probabilities for more varied text; 0 always picks "
                   "the likeliest token (greedy, repeatable).",
    "top_k": "Only the K likeliest next tokens can be picked; 0 turns this filter off.",
    "top_p": "Only the likeliest tokens whose probabilities add up to P can be picked (nucleus); 1 turns it off.",
    "min_p": "Tokens less likely than this fraction of the best token's probability are dropped; 0 turns it off.",
    "repeat_penalty": "Values above 1 make tokens used in the last 64 tokens less likely, against loops; "
                      "1 turns it off.",
    "seed": "The same seed with the same settings and conversation gives the same answer.",
    "random_seed": "Roll a new seed for every answer, so Regenerate gives a different one.",
    "max_tokens": "The longest answer, in tokens (about ¾ of a word each).",
    "beams": "Beam search keeps this many candidate answers and returns the most likely whole one; "
             "1 samples token by token instead.",
    "length_penalty": "Beam search only: above 1 favours longer answers, below 1 shorter ones.",
    "context_policy": "What happens when the conversation outgrows the model's context: drop the oldest "
                      "messages (the system prompt stays), keep a rolling window, or stop.",
    "inspect": "Record the top candidates of every generated token so you can click a token to see how it "
               "was chosen (slightly slower).",
}


class ChatSettings(QWidget):
    """The sampling form. `values()` / `set_values()` use ChatRequest field names."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.preset = QComboBox()
        self.preset.addItems(list(PRESETS) + ["Custom"])
        self.preset.setCurrentText("Balanced")
        self.temperature = FloatSlider(0.0, 2.0, 0.05, 0.7)
        self.top_k = QSpinBox()
        self.top_k.setRange(0, 1000)
        self.top_k.setValue(40)
        self.top_p = FloatSlider(0.01, 1.0, 0.01, 0.95)
        self.min_p = FloatSlider(0.0, 1.0, 0.01, 0.05)
        self.repeat_penalty = FloatSlider(0.5, 2.0, 0.01, 1.0)
        self.seed = SeedField()
        self.random_seed = QCheckBox("New seed each answer")
        self.random_seed.setChecked(True)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 8192)
        self.max_tokens.setValue(512)
        self.beams = QSpinBox()
        self.beams.setRange(1, 8)
        self.length_penalty = FloatSlider(-2.0, 3.0, 0.1, 1.0, decimals=1)
        self.context_policy = QComboBox()
        for key, text in POLICIES.items():
            self.context_policy.addItem(text, key)
        self.inspect = QCheckBox("Token inspector")
        rows = [("Preset", self.preset), ("Temperature", self.temperature), ("Top-k", self.top_k),
                ("Top-p", self.top_p), ("Min-p", self.min_p), ("Repeat penalty", self.repeat_penalty),
                ("Seed", self.seed), ("", self.random_seed), ("Max tokens", self.max_tokens), ("Beams", self.beams),
                ("Length penalty", self.length_penalty), ("Context full", self.context_policy), ("", self.inspect)]
        for label, widget in rows:
            form.addRow(label, widget)
        for name in TIPS:
            getattr(self, name).setToolTip(TIPS[name])
        self.seed.spin.setToolTip(TIPS["seed"])
        self.preset.currentTextChanged.connect(self._on_preset_changed)
        for name in PRESETS["Balanced"]:
            widget = getattr(self, name)
            signal = widget.valueChanged
            signal.connect(self._on_value_changed)
        for widget in (self.max_tokens, self.beams):
            widget.valueChanged.connect(self._on_beams_changed)
        self.length_penalty.valueChanged.connect(lambda _v: self.changed.emit())
        self.context_policy.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.inspect.toggled.connect(lambda _b: self.changed.emit())
        self._on_beams_changed()

    def _on_preset_changed(self, name: str) -> None:
        if name in PRESETS:
            self._applying = True
            for key, value in PRESETS[name].items():
                getattr(self, key).setValue(value)
            self._applying = False
            self.changed.emit()

    def _on_value_changed(self, *_args) -> None:
        if getattr(self, "_applying", False):
            return
        current = {k: self._number(k) for k in PRESETS["Balanced"]}
        match = next((n for n, p in PRESETS.items() if all(abs(current[k] - v) < 1e-6 for k, v in p.items())), "Custom")
        self.preset.blockSignals(True)
        self.preset.setCurrentText(match)
        self.preset.blockSignals(False)
        self.changed.emit()

    def _on_beams_changed(self, *_args) -> None:
        self.length_penalty.setEnabled(self.beams.value() > 1)
        self.changed.emit()

    def _number(self, name: str) -> float:
        return float(getattr(self, name).value())

    def next_seed(self) -> int:
        """The seed for the next answer (rolled first when 'New seed each answer' is on)."""
        if self.random_seed.isChecked():
            self.seed.roll()
        return self.seed.value()

    def values(self) -> dict:
        return {"temperature": round(self._number("temperature"), 4), "top_k": self.top_k.value(),
                "top_p": round(self._number("top_p"), 4), "min_p": round(self._number("min_p"), 4),
                "repeat_penalty": round(self._number("repeat_penalty"), 4), "seed": self.seed.value(),
                "random_seed": self.random_seed.isChecked(), "max_tokens": self.max_tokens.value(),
                "beams": self.beams.value(), "length_penalty": round(self._number("length_penalty"), 4),
                "context_policy": self.context_policy.currentData(), "inspect": self.inspect.isChecked(),
                "preset": self.preset.currentText()}

    def set_values(self, values: dict) -> None:
        self._applying = True
        for key in ("temperature", "top_p", "min_p", "repeat_penalty", "length_penalty"):
            if values.get(key) is not None:
                getattr(self, key).setValue(float(values[key]))
        for key in ("top_k", "max_tokens", "beams"):
            if values.get(key) is not None:
                getattr(self, key).setValue(int(values[key]))
        if values.get("seed") is not None:
            self.seed.setValue(int(values["seed"]))
        if "random_seed" in values:
            self.random_seed.setChecked(bool(values["random_seed"]))
        if values.get("context_policy") in POLICIES:
            self.context_policy.setCurrentIndex(list(POLICIES).index(values["context_policy"]))
        if "inspect" in values:
            self.inspect.setChecked(bool(values["inspect"]))
        self._applying = False
        self._on_value_changed()
