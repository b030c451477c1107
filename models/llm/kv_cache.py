"""The key/value cache of one conversation, kept as onnxruntime OrtValues between steps.

Two modes:
- feedback: every run's `present.*` outputs become the next run's `past_key_values.*` inputs
  (optimum / onnx-community exports). No numpy copy: the OrtValues are passed along as they are.
- shared: one (1, kv, capacity, hd) buffer per input, bound as both past and present, that
  GroupQueryAttention writes into in place (Genloom GGUF builds, onnxruntime-genai folders).
  The buffer grows by doubling; stale slots past the current length are ignored by the op.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnxruntime as ort


@dataclass
class CacheLayout:
    """Names and shape of the cache inputs/outputs of one decoder graph."""

    past: list[str]  # input names, layer-major: (0.key, 0.value, 1.key, ...)
    present: list[str]  # output names in the same order
    kv_heads: int
    head_dim: int
    dtype: type = np.float32
    shared: bool = False


@dataclass
class KVCache:
    """Cache for batch 1. `length` is the number of positions it holds."""

    layout: CacheLayout
    length: int = 0
    values: list = field(default_factory=list)  # OrtValues, one per past input
    arrays: list = field(default_factory=list)  # shared mode: the numpy buffers behind `values`

    @property
    def capacity(self) -> int:
        return self.arrays[0].shape[2] if self.arrays else 0

    def start(self, capacity: int = 256) -> None:
        """Empty cache (length 0)."""
        lay = self.layout
        self.length = 0
        if lay.shared:
            self._allocate(capacity)
        else:
            empty = np.zeros((1, lay.kv_heads, 0, lay.head_dim), lay.dtype)  # (1, kv, 0, hd)
            self.values = [ort.OrtValue.ortvalue_from_numpy(empty) for _ in lay.past]

    def ensure(self, total: int) -> None:
        """Shared mode: make room for `total` positions, keeping the current contents."""
        if not self.layout.shared or total <= self.capacity:
            return
        capacity = max(total, 2 * self.capacity, 64)
        old = self.arrays
        self._allocate(capacity)
        for src, dst in zip(old, self.arrays):
            dst[:, :, : self.length] = src[:, :, : self.length]

    def truncate(self, length: int) -> None:
        """Forget every position from `length` on (an edited or regenerated turn)."""
        length = max(0, min(length, self.length))
        if length == self.length:
            return
        if not self.layout.shared:
            kept = [np.ascontiguousarray(v.numpy()[:, :, :length]) for v in self.values]
            self.values = [ort.OrtValue.ortvalue_from_numpy(a) for a in kept]
            self.arrays = kept  # keep the memory alive behind the OrtValues
        self.length = length

    def _allocate(self, capacity: int) -> None:
        lay = self.layout
        self.arrays = [np.zeros((1, lay.kv_heads, capacity, lay.head_dim), lay.dtype) for _ in lay.past]
        self.values = [ort.OrtValue.ortvalue_from_numpy(a) for a in self.arrays]

    def nbytes(self) -> int:
        if self.layout.shared:
            return sum(a.nbytes for a in self.arrays)
        item = np.dtype(self.layout.dtype).itemsize
        return len(self.values) * self.length * self.layout.kv_heads * self.layout.head_dim * item
