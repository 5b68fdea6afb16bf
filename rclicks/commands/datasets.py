"""`rclicks datasets list`: known datasets, where they are expected, and whether present.
`rclicks datasets prepare NAME --from PATH_OR_URL`: an official archive → the RITM layout, verified (rclicks.data.prepare)."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    """Register `rclicks datasets`."""
    p = sub.add_parser("datasets", help="list known datasets, prepare one from its official archive")
    dsub = p.add_subparsers(dest="datasets_command", metavar="ACTION")
    lp = dsub.add_parser("list", help="known datasets and whether they are present")
    lp.add_argument("--fingerprint", action="store_true", help="also compute the content fingerprint of present ones")
    lp.set_defaults(func=run_list)
    pp = dsub.add_parser(
        "prepare", help="unpack an official archive into the RITM layout, verify it, put it where --dataset NAME finds it",
        description="Unpack the official archive of a benchmark (Berkeley.zip, COCO_MVal.zip, SBD's benchmark.tgz,\n"
                    "VOCtrainval_11-May-2012.tar, the TETRIS folder …), or the folder it unpacks to, into the layout\n"
                    "--dataset NAME reads; every instance is read back with the project's loader before the folder\n"
                    "appears (atomically) at $RCLICKS_DATA/<Name>. Supported layouts: docs/datasets.md.")
    pp.add_argument("name", metavar="NAME", help="berkeley, coco_mval, sbd, pascalvoc, tetris, grabcut or davis")
    pp.add_argument("--from", dest="source", required=True, metavar="PATH_OR_URL",
                    help="required, no default: a .zip/.tar/.tar.gz/.tgz archive, the folder it unpacks to, or an "
                         "http(s) URL of the archive")
    pp.add_argument("--out", default=None, metavar="DIR",
                    help="the dataset folder to write (default: $RCLICKS_DATA/<Name>, where --dataset NAME finds it)")
    pp.add_argument("--force", action="store_true", help="replace an existing output folder (swapped atomically)")
    pp.set_defaults(func=run_prepare)
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


def run_prepare(args: argparse.Namespace) -> int:
    """Prepare one dataset and print what was written and how to evaluate on it."""
    from rclicks.data.prepare import prepare, summary

    print(summary(prepare(args.name, args.source, args.out, force=args.force)))
    return 0
