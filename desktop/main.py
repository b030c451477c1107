"""Entry point of `genloom`: no arguments opens the window, anything else is the CLI.

This module imports no Qt at the top, so CLI commands never load PySide6.
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    gui_flags = {"--provider"}
    if not argv or (argv[0] in gui_flags and len(argv) == 2):
        return gui(argv)
    from models.cli.main import main as cli_main

    return cli_main(argv)


def gui(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    provider = argv[1] if len(argv) == 2 and argv[0] == "--provider" else None
    from desktop.app import run_app

    return run_app(provider=provider)


if __name__ == "__main__":
    raise SystemExit(main())
