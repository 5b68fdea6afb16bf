"""`rclicks clicks ...`: check a real-clicks table, replay recorded first clicks through a model."""

from __future__ import annotations

import argparse
from pathlib import Path

from rclicks.commands._args import key_values


def add_parser(sub) -> None:
    """Register `rclicks clicks` with sub-commands validate and replay."""
    p = sub.add_parser("clicks", help="real clicks: validate a clicks table, replay first clicks through a model",
                       description="Real user clicks in the RClicks clicks.csv schema.")
    cs = p.add_subparsers(dest="clicks_command", metavar="ACTION")

    pv = cs.add_parser("validate", help="check a clicks table and print counts")
    pv.add_argument("file", help=".csv, .parquet or a folder of parquet parts")
    pv.set_defaults(func=_validate)

    pr = cs.add_parser("replay", help="User IoU@1: run the model once per recorded first click")
    pr.add_argument("file", help="clicks table (.csv, .parquet or folder)")
    pr.add_argument("--model", default="minisam", help="registry name of the model the clicks are replayed on")
    pr.add_argument("--dataset", default="grabcut", help="dataset the clicks were recorded on (name or folder)")
    pr.add_argument("--model-arg", type=key_values, default={}, help="extra model options key=value,… (e.g. max_side=256)")
    pr.add_argument("--checkpoint", default=None, help="weights file for models that need one")
    pr.add_argument("--device", choices=["pc", "mobile"], default=None, help="only clicks recorded on this device")
    pr.add_argument("--limit", type=int, default=None, help="only the first N samples")
    pr.add_argument("--out", default=None, help="write the per-click rows to this .csv")
    pr.add_argument("--sampled", default=None, metavar="CLICKMAP",
                    help="also replay as many clicks drawn from this click map as there are real users (RClicks NUser@1), "
                         "e.g. distance (default: off)")
    pr.add_argument("--seed", type=int, default=0, help="seed of the sampled clicks (default: 0)")
    pr.set_defaults(func=_replay)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _validate(args: argparse.Namespace) -> int:
    from rclicks.clicks import read_clicks

    df = read_clicks(args.file)
    print(f"{args.file}: {len(df)} clicks, {df['full_stem'].nunique()} stems")
    print(df.groupby(["dataset", "click_type", "device"]).size().to_string())
    return 0


def _replay(args: argparse.Namespace) -> int:
    import pandas as pd

    from rclicks.clicks import read_clicks, replay
    from rclicks.metrics.benchmark import replay_summary
    from rclicks.data import load_dataset
    from rclicks.registry import build_model

    table = read_clicks(args.file)
    ds = load_dataset(args.dataset)
    samples = [ds[i] for i in range(len(ds) if args.limit is None else min(args.limit, len(ds)))]
    kwargs = dict(args.model_arg)
    if args.checkpoint:
        kwargs["checkpoint"] = args.checkpoint
    model = build_model(args.model, **kwargs)
    rows = replay(model, samples, table, device=args.device, model_name=args.model)
    inst, per_ds = replay_summary(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 4):
        print("per dataset (User IoU@1 mean, mean per-instance std, mean per-instance NSR):")
        print(per_ds.to_string(index=False))
        if args.sampled:
            from rclicks.clicks import sampled_first_clicks

            drawn = sampled_first_clicks(table, samples, args.sampled, seed=args.seed, device=args.device)
            _, sampled_ds = replay_summary(replay(model, samples, drawn, device=args.device, model_name=args.model))
            sampled_ds = sampled_ds.rename(columns=lambda c: c.replace("User", "NUser"))
            print(f"\nper dataset, {args.sampled} click map samples matched to the number of real users (NUser IoU@1):")
            print(sampled_ds.to_string(index=False))
        print("\nper instance:")
        print(inst.to_string(index=False))
    if args.out:
        out = Path(args.out)
        tmp = out.with_name(out.name + ".tmp")
        rows.to_csv(tmp, index=False)
        tmp.replace(out)
    return 0
