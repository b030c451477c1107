"""Schedulers by their A1111 names. `make(name, scheduler_config)` builds one from a model's config dict."""
from __future__ import annotations

from models.runtime.errors import BadInput

from .base import Scheduler, SchedulerConfig
from .ddim import DDIM
from .ddpm import DDPM
from .dpmpp_2m import DPMSolverMultistep
from .euler import EulerDiscrete
from .euler_ancestral import EulerAncestral
from .lcm import LCM
from .pndm import PLMS

# A1111 name -> (class, config overrides applied on top of the model's scheduler_config.json)
REGISTRY: dict[str, tuple[type[Scheduler], dict]] = {
    "Euler a": (EulerAncestral, {}),
    "Euler": (EulerDiscrete, {}),
    "DPM++ 2M": (DPMSolverMultistep, {"use_karras_sigmas": False}),
    "DPM++ 2M Karras": (DPMSolverMultistep, {"use_karras_sigmas": True}),
    "DDIM": (DDIM, {}),
    "LCM": (LCM, {}),
    "PLMS": (PLMS, {}),
    "DDPM": (DDPM, {}),
}
NAMES = tuple(REGISTRY)


def _key(name: str) -> str:
    return "".join(ch for ch in str(name).lower().replace("+", "p") if ch.isalnum())


ALIASES = {_key(n): n for n in NAMES} | {"eulerancestral": "Euler a", "dpmpp2mkarras": "DPM++ 2M Karras",
                                         "eulera": "Euler a", "dpmsolvermultistep": "DPM++ 2M", "pndm": "PLMS"}


def canonical(name: str) -> str:
    """The A1111 name for `name`, accepting spellings like 'euler_a' or 'dpmpp_2m_karras'."""
    if name in REGISTRY:
        return name
    found = ALIASES.get(_key(name))
    if not found:
        raise BadInput(f"Unknown scheduler '{name}' (choose one of: {', '.join(NAMES)}).")
    return found


def make(name: str, config: dict | None = None) -> Scheduler:
    """A fresh scheduler `name` for a model whose scheduler_config.json is `config`."""
    cls, overrides = REGISTRY[canonical(name)]
    return cls.from_config({**(config or {}), **overrides})


__all__ = ["DDIM", "DDPM", "LCM", "PLMS", "NAMES", "REGISTRY", "DPMSolverMultistep", "EulerAncestral", "EulerDiscrete",
           "Scheduler", "SchedulerConfig", "canonical", "make"]
