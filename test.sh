#!/usr/bin/env bash
# Runs Genloom's whole test suite headless. Creates/updates .venv with the app and test deps first.
# Heavy reference tests (torch/transformers/diffusers) skip when torch is absent; the bundle build test
# runs only with GENLOOM_RUN_SLOW=1.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
export QT_QPA_PLATFORM=offscreen
export PYTHONDONTWRITEBYTECODE=1
set +e
.venv/bin/python -m pytest -q "$@"
code=$?
set -e
if [ "$code" -eq 5 ]; then
  echo "test.sh: pytest collected no tests" >&2
  exit 1
fi
exit "$code"
