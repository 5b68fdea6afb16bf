"""`rclicks ...` command line. Each sub-command lives in ``rclicks/commands/<name>.py``
and exposes ``add_parser(subparsers)``; the parser's ``func(args) -> int`` does the work."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from rclicks.errors import RClicksError


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with one sub-command per module in ``rclicks.commands``."""
    import rclicks.commands as commands
    from rclicks import __version__

    parser = argparse.ArgumentParser(
        prog="rclicks", description="Benchmark interactive segmentation models under realistic clicks."
    )
    parser.add_argument("--version", action="version", version=f"rclicks {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not commands
            continue
        module = importlib.import_module(f"rclicks.commands.{info.name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `rclicks` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except RClicksError as exc:
        print(f"rclicks: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rclicks: interrupted", file=sys.stderr)
        return 130
