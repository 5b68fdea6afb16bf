"""`rclicks ...` command line. Each sub-command lives in ``rclicks/commands/<name>.py``
and exposes ``add_parser(subparsers)``; the parser's ``func(args) -> int`` does the work.

Commands of higher layers (the leaderboard's ``leaderboard`` and ``reproduce``) are plugins:
modules named by the ``rclicks.commands`` entry points, so this library imports none of them."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from rclicks.errors import RClicksError


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's help ends with its default (unless the text already names it); descriptions keep their line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or "%(default)" in text:
            return text
        return super()._get_help_string(action)


class RClicksParser(argparse.ArgumentParser):
    """The parser of `rclicks` and of every sub-command (nested ones inherit it): ``--help`` shows defaults."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with one sub-command per module in ``rclicks.commands``."""
    import rclicks.commands as commands
    from rclicks._version import __version__

    parser = RClicksParser(
        prog="rclicks", description="Benchmark interactive segmentation models under realistic clicks."
    )
    parser.add_argument("--version", action="version", version=f"rclicks {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):  # shared helpers, not commands
            continue
        module = importlib.import_module(f"rclicks.commands.{info.name}")
        module.add_parser(sub)
    for module in plugin_commands():
        module.add_parser(sub)
    return parser


def plugin_commands() -> list:
    """The modules of the ``rclicks.commands`` entry points (installed distributions' sub-commands), by name."""
    from importlib.metadata import entry_points

    out = []
    for ep in sorted(entry_points(group="rclicks.commands"), key=lambda e: e.name):
        try:
            out.append(ep.load())
        except ImportError:  # a plugin whose own dependencies are missing: its command is simply absent
            continue
    return out


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
