"""Events that engines yield. Engines are generators; the driver (CLI or worker thread) consumes them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Progress:
    """Step `step` of `total` is done (1-based)."""

    step: int
    total: int
    message: str = ""


@dataclass(frozen=True)
class Partial:
    """A partial result: a streamed token, a preview image (HxWx3 uint8), ... `what` names it."""

    what: str
    payload: Any


@dataclass(frozen=True)
class Notice:
    """Something the user should know that is not an error (prompt truncated, context trimmed...)."""

    text: str


@dataclass(frozen=True)
class Result:
    """The job's final result: a plain dict (files, gallery_ids, seed, ...)."""

    payload: dict = field(default_factory=dict)
