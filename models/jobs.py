"""The one place that maps a request to its engine, and the driver loop the CLI and the worker share."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Iterator

from models.runtime.errors import BadInput, Cancelled
from models.runtime.events import Result

FAMILIES = {
    "gan": "models.gan.job",
    "vae": "models.vae.job",
    "chat": "models.llm.job",
    "diffusion": "models.diffusion.job",
}


@dataclass(frozen=True)
class Task:
    """A non-model job (import, setup, export) run on the same worker: `fn(ctx, *args)` yields events."""

    name: str
    fn: Callable
    args: tuple = ()
    family = "task"


def run(request, ctx) -> Iterator:
    """The engine generator for `request` (its class names its family)."""
    family = getattr(request, "family", None)
    if family == "task":
        return iter(request.fn(ctx, *request.args))
    if family not in FAMILIES:
        raise BadInput(f"No engine for requests of type {type(request).__name__}.")
    return importlib.import_module(FAMILIES[family]).run(request, ctx)


def drive(request, ctx, on_event: Callable | None = None, is_cancelled: Callable[[], bool] | None = None) -> dict:
    """Run a job to completion, passing each event to `on_event`; checks cancel between events."""
    events = run(request, ctx)
    result: dict = {}
    try:
        for event in events:
            if is_cancelled and is_cancelled():
                raise Cancelled()
            if isinstance(event, Result):
                result = event.payload
            if on_event:
                on_event(event)
    finally:
        events.close()
    return result
