"""`genloom <command>`: argument parsing, one-line errors, exit codes (0 ok, 2 bad input, 1 internal)."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from models.runtime.errors import Cancelled, GenloomError, one_line

COMMANDS = ("doctor", "setup", "models_cmd", "faces", "chat", "image", "vae", "gallery", "desktop_entry")


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line on stderr and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        sys.stderr.write(f"genloom: {message} (see 'genloom {self.prog.split(' ', 1)[-1]} --help')\n"
                         if " " in self.prog else f"genloom: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="genloom", description="Genloom: offline generative AI studio. "
                           "Without a command it opens the window.")
    parser.add_argument("--provider", choices=["auto", "cpu", "cuda", "directml", "coreml"],
                        help="execution provider (default: the setting, normally auto)")
    subs = parser.add_subparsers(dest="command", parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(f"models.cli.{name}").register(subs)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from models.runtime import logfile

    logfile.setup()
    try:
        return int(args.func(args) or 0)
    except GenloomError as exc:
        print(f"genloom: {one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `genloom ... | head`: the reader left; not an error of ours
        return 0
    except (Cancelled, KeyboardInterrupt):
        print("genloom: cancelled", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"genloom: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line here, the traceback in the log file
        logging.getLogger("genloom").exception("internal error in %s", argv)
        print(f"genloom: internal error: {one_line(exc)} (details in {logfile.path()})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
