"""`genloom doctor`: versions, providers (available, active, why), data dir, models."""
from __future__ import annotations

import platform

import numpy as np
import onnxruntime as ort

import models
from models.runtime import paths, providers
from models.runtime.registry import Registry

from .common import print_json


def register(subs) -> None:
    parser = subs.add_parser("doctor", help="show versions, providers and where data lives")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def report(requested: str = "auto") -> dict:
    status = providers.resolve(requested)
    registry = Registry()
    return {
        "version": models.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "providers": status.to_json(),
        "data_dir": str(paths.home()),
        "models_dir": str(registry.user_dir),
        "bundled_models_dir": str(registry.bundled_dir),
        "models": [{"name": m.name, "kind": m.kind, "bundled": registry.is_bundled(m)} for m in registry.all()],
    }


def run(args) -> int:
    from models.runtime import settings

    data = report(args.provider or settings.load().get("provider", "auto"))
    if args.json:
        print_json(data)
        return 0
    p = data["providers"]
    print(f"Genloom {data['version']} (Python {data['python']}, onnxruntime {data['onnxruntime']})")
    print(f"Provider: {p['active']} (requested {p['requested']}; available: {', '.join(p['available'])})")
    if p["reason"]:
        print(f"  GPU not used: {p['reason']}")
    print(f"Data dir: {data['data_dir']}")
    for m in data["models"]:
        print(f"  {m['kind']:<9} {m['name']}{' (bundled)' if m['bundled'] else ''}")
    if not data["models"]:
        print("  no models yet: run 'genloom setup'")
    return 0
