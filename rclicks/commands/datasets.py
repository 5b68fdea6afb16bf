"""`rclicks datasets list`: known datasets, where they are expected, and whether present."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    """Register `rclicks datasets`."""
    p = sub.add_parser("datasets", help="list known datasets")
    dsub = p.add_subparsers(dest="datasets_command", metavar="ACTION")
    lp = dsub.add_parser("list", help="known datasets and whether they are present")
    lp.add_argument("--fingerprint", action="store_true", help="also compute the content fingerprint of present ones")
    lp.set_defaults(func=run_list)
    p.set_defaults(func=run_list, fingerprint=False)


def run_list(args: argparse.Namespace) -> int:
    """Print the dataset table."""
    from rclicks.data import list_datasets, load_dataset

    for d in list_datasets():
        line = f"{d['name']:10s} {'present' if d['present'] else 'missing':8s} {d['layout']:9s} {d['path']}"
        if d["present"]:
            ds = load_dataset(d["name"])
            line += f"  ({len(ds)} samples)"
            if args.fingerprint:
                line += f"  sha256:{ds.fingerprint()[:16]}"
        print(line)
    return 0
