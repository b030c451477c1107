"""Helpers for benchmarks: a throwaway GENLOOM_HOME, JSON output, peak RSS."""
from __future__ import annotations

import json
import os
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def temp_home() -> str:
    home = tempfile.mkdtemp(prefix="genloom-bench-")
    os.environ["GENLOOM_HOME"] = home
    return home


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(data: dict) -> None:
    print(json.dumps(data, indent=2))
