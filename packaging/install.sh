#!/usr/bin/env bash
# Genloom bundle installer: adds Genloom to the application menu and puts `genloom` on your PATH.
#
#   ./install.sh              # menu entry + icons in ~/.local/share, symlink ~/.local/bin/genloom
#   ./install.sh --uninstall  # removes exactly those (the bundle folder itself stays where you put it)
#
# Nothing is downloaded: the bundle already holds Python, Qt, onnxruntime and the default models.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
EXE="$HERE/genloom"
BIN="${GENLOOM_BIN_DIR:-$HOME/.local/bin}"
LINK="$BIN/genloom"

case "${1:-}" in
    "")
        "$EXE" install-desktop-entry
        mkdir -p "$BIN"
        if [[ -e "$LINK" && ! -L "$LINK" ]]; then
            echo "install.sh: $LINK exists and is not a link; left it alone (run $EXE directly)." >&2
        else
            ln -sfn "$EXE" "$LINK"
            echo "Linked $LINK -> $EXE"
            case ":$PATH:" in
                *":$BIN:"*) ;;
                *) echo "Note: $BIN is not on your PATH; add it to use 'genloom' in a terminal." ;;
            esac
        fi
        ;;
    --uninstall)
        "$EXE" install-desktop-entry --uninstall
        if [[ -L "$LINK" && "$(readlink "$LINK")" == "$EXE" ]]; then
            rm -f "$LINK"
            echo "Removed $LINK"
        fi
        ;;
    *)
        echo "usage: $0 [--uninstall]" >&2
        exit 2
        ;;
esac
