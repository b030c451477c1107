#!/usr/bin/env bash
# Build the Linux bundle: dist/genloom-linux-x86_64.tar.gz (a PyInstaller one-folder app + install.sh).
#
#   packaging/build_linux.sh            # from the repository root or anywhere; needs python3 >= 3.10 and network
#                                       # access to PyPI the first time (for the build venv)
#   packaging/build_linux.sh --gpu      # keep onnxruntime's CUDA provider (+285 MB; needs CUDA 13 + cuDNN 9 on the
#                                       # target machine)
#
# Environment: PYTHON (interpreter for the build venv, default python3), GENLOOM_HOME (where a built chat model
# is looked for, default ~/.local/share/genloom), GENLOOM_BUNDLE_NO_CHAT=1 (never bundle the chat model).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/packaging/.build-venv"
WORK="$ROOT/build/pyinstaller"
DIST="$ROOT/dist"
ARCH="$(uname -m)"
NAME="genloom-linux-$ARCH"
GPU=0

for arg in "$@"; do
    case "$arg" in
        --gpu) GPU=1 ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "build_linux.sh: unknown option $arg (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\n== %s\n' "$*"; }
start=$(date +%s)
cd "$ROOT"

# 1. A build venv of its own, rebuilt when pyproject.toml changes.
stamp="$(sha256sum pyproject.toml | cut -c1-16)"
if [[ ! -x "$VENV/bin/python" || "$(cat "$VENV/.stamp" 2>/dev/null)" != "$stamp" ]]; then
    say "creating the build venv in ${VENV#$ROOT/}"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
        || { echo "build_linux.sh: $PYTHON is older than Python 3.10" >&2; exit 2; }
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q . "pyinstaller>=6.5"
    echo "$stamp" > "$VENV/.stamp"
else
    say "reusing the build venv (pyproject.toml unchanged); installing this checkout's code"
    "$VENV/bin/python" -m pip install -q --no-deps --force-reinstall .
fi

# 2. Default models: the bundled ones are in resources/models; add the user's built chat model if present.
home="${GENLOOM_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/genloom}"
chat="$home/models/smollm2-135m-instruct"
extra=""
if [[ "${GENLOOM_BUNDLE_NO_CHAT:-0}" != "1" && -f "$chat/genloom.json" ]]; then
    say "bundling the chat model from $chat ($(du -shL "$chat" | cut -f1))"
    extra="$chat"
else
    say "no built chat model at $chat: the bundle will offer to build it on first run (needs 'genloom setup' from pip)"
fi

# 3. PyInstaller one-folder build.
say "running PyInstaller"
rm -rf "$WORK/dist/genloom"
GENLOOM_BUNDLE_EXTRA_MODELS="$extra" GENLOOM_BUNDLE_GPU="$GPU" \
    "$VENV/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$WORK/dist" --workpath "$WORK/work" packaging/genloom.spec

bundle="$WORK/dist/genloom"
install -m 755 packaging/install.sh "$bundle/install.sh"
if [[ "$GPU" == 1 ]]; then
    gpu_line="This build can use an NVIDIA GPU when CUDA 13 and cuDNN 9 are installed."
    sed "s/^This build runs models on the CPU\./$gpu_line/" packaging/BUNDLE_README.txt > "$bundle/README.txt"
else
    cp packaging/BUNDLE_README.txt "$bundle/README.txt"
fi
cp LICENSE "$bundle/LICENSE" 2>/dev/null || true

# 4. The tarball: genloom/ at its top.
mkdir -p "$DIST"
say "packing dist/$NAME.tar.gz"
tar -C "$WORK/dist" -czf "$DIST/$NAME.tar.gz" genloom

unpacked="$(du -sh "$bundle" | cut -f1)"
packed="$(du -sh "$DIST/$NAME.tar.gz" | cut -f1)"
say "done in $(( $(date +%s) - start )) s: bundle $unpacked unpacked ($bundle), tarball $packed ($DIST/$NAME.tar.gz)"
