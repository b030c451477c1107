"""Request checks shared by every engine family: each failure is a one-line BadInput."""
from __future__ import annotations

import numpy as np

from .errors import BadInput


def whole_number(value, name: str, low: int, high: int) -> int:
    """`value` as an int within [low, high]; bools and floats are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise BadInput(f"{name} must be a whole number, not {value!r}.")
    if not low <= value <= high:
        raise BadInput(f"{name} must be between {low} and {high} (got {value}).")
    return int(value)
