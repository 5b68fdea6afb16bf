"""`rclicks clickmaps ...`: list clickability models, score them against real clicks or scribbles, train `learned`."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    """Register `rclicks clickmaps` with sub-commands list, evaluate, train."""
    p = sub.add_parser("clickmaps", help="clickability maps: list, evaluate against real clicks/scribbles, train",
                       description="Clickability models (where real users click): uniform, distance, saliency, learned.")
    cs = p.add_subparsers(dest="clickmaps_command", metavar="ACTION")

    pl = cs.add_parser("list", help="list the registered click maps")
    pl.set_defaults(func=_list)

    pe = cs.add_parser("evaluate", help="score click maps with KS, PL1, WD, NSS, PDE (clicks) or NSS, PDE (scribbles)")
    pe.add_argument("--clicks", default=None, help="RClicks clicks table (.csv, .parquet or a folder of parts)")
    pe.add_argument("--scribbles", nargs="*", default=None, metavar="DIR",
                    help="score against real GrabCut scribbles (default: both scribble sets under $RCLICKS_DATA/GrabCut)")
    pe.add_argument("--dataset", default="grabcut", help="dataset name or folder (default grabcut)")
    pe.add_argument("--models", default="uniform,distance,saliency",
                    help="comma-separated click maps; add +blur for the RClicks blur (e.g. distance+blur)")
    pe.add_argument("--learned", default=None, help="checkpoint for the 'learned' model (.onnx or .safetensors)")
    pe.add_argument("--seed", type=int, default=0, help="seed of the map samples (NUser-style sampling)")
    pe.add_argument("--draws", type=int, default=100, help="bootstrap draws for PL1, WD, KS")
    pe.add_argument("--device", choices=["pc", "mobile"], default=None, help="only clicks recorded on this device")
    pe.add_argument("--limit", type=int, default=None, help="only the first N samples")
    pe.add_argument("--out", default=None, help="write the per-instance table to this .csv")
    pe.set_defaults(func=_evaluate)

    pt = cs.add_parser("train", help="train the small 'learned' clickability CNN on a clicks table (CPU)")
    pt.add_argument("--clicks", required=True, help="RClicks clicks table (.csv, .parquet or folder)")
    pt.add_argument("--dataset", default="grabcut", help="dataset the clicks were recorded on (name or folder)")
    pt.add_argument("--out", default="clickmap.safetensors", help="checkpoint path (.safetensors)")
    pt.add_argument("--onnx", default=None, help="also export an ONNX file here")
    pt.add_argument("--steps", type=int, default=200, help="optimiser steps")
    pt.add_argument("--size", type=int, default=128, help="network input size S")
    pt.add_argument("--width", type=int, default=16, help="channels of the CNN's first layer")
    pt.add_argument("--batch", type=int, default=4, help="instances per step")
    pt.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate")
    pt.add_argument("--seed", type=int, default=0, help="seed of initialisation and batches")
    pt.set_defaults(func=_train)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _list(args: argparse.Namespace) -> int:
    from rclicks.registry import CLICKMAPS

    for name, spec in sorted(CLICKMAPS.items()):
        print(f"{name:10s} {'weight-free' if spec.weight_free else 'needs weights':14s} {spec.description}")
    return 0


def _samples(dataset: str, limit: int | None):
    from rclicks.data import load_dataset

    ds = load_dataset(dataset)
    n = len(ds) if limit is None else min(limit, len(ds))
    return [ds[i] for i in range(n)]


def _evaluate(args: argparse.Namespace) -> int:
    import pandas as pd

    from rclicks.clickmaps.evaluation import evaluate_on_clicks, evaluate_on_scribbles, summary
    from rclicks.settings import data_root
    from rclicks.errors import RClicksError

    if args.clicks is None and args.scribbles is None:
        raise RClicksError("clickmaps evaluate: give --clicks FILE and/or --scribbles [DIR ...]")
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    kwargs = {n: {"path": args.learned} for n in names if n.removesuffix("+blur") == "learned"}
    samples = _samples(args.dataset, args.limit)
    frames = []
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 4):
        if args.clicks is not None:
            from rclicks.clicks import read_clicks

            per = evaluate_on_clicks(names, samples, read_clicks(args.clicks), seed=args.seed, draws=args.draws,
                                     device=args.device, clickmap_kwargs=kwargs)
            print("click maps vs real clicks (KS, NSS, PDE: higher is better; PL1, WD: lower is better):")
            print(summary(per).to_string(index=False))
            frames.append(per.assign(reference="clicks"))
        if args.scribbles is not None:
            dirs = [Path(d) for d in args.scribbles] or sorted((data_root() / "GrabCut").glob("scribbles-set-*"))
            if not dirs:
                raise RClicksError(f"no scribble folders given and none under {data_root() / 'GrabCut'}")
            per = evaluate_on_scribbles(names, samples, dirs, clickmap_kwargs=kwargs)
            print("\nclick maps vs real foreground scribbles (NSS, PDE: higher is better), per set:")
            print(summary(per, ["model", "set"]).to_string(index=False))
            print("\nall sets:")
            print(summary(per).to_string(index=False))
            frames.append(per.assign(reference="scribbles"))
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(out.name + ".tmp")
        pd.concat(frames, ignore_index=True).to_csv(tmp, index=False)
        tmp.replace(out)
        print(f"\nper-instance scores written to {out}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from rclicks.clickmaps.train import export_onnx, train
    from rclicks.clicks import read_clicks

    table = read_clicks(args.clicks)
    res = train(table, _samples(args.dataset, None), steps=args.steps, size=args.size, width=args.width,
                batch=args.batch, lr=args.lr, seed=args.seed, out=args.out)
    k = max(1, len(res.losses) // 10)
    print(f"trained on {res.items} instances ({res.skipped_rows} fn/fp rows skipped); "
          f"loss {sum(res.losses[:k]) / k:.4f} → {sum(res.losses[-k:]) / k:.4f}")
    print(f"checkpoint: {res.path}")
    if args.onnx:
        print(f"onnx: {export_onnx(res.net, args.onnx, args.size)}")
    return 0
