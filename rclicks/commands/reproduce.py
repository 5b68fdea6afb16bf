"""`rclicks reproduce`: regenerate the RClicks-style table and figures from a results store."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    """Register `rclicks reproduce`."""
    p = sub.add_parser("reproduce", help="regenerate paper tables and figures (CSV + HTML) from a results store",
                       description="Sample NoC, ΔSB, ΔGR per model and dataset; IoU-per-click curves; NSR scatter; "
                                   "Spearman rank correlation across datasets.")
    p.add_argument("--results", default=None, help="results store URL or folder (default $RCLICKS_RESULTS_URL, else ./hub/results "
                                                  "when it has results, else the seeded assets/results)")
    p.add_argument("--out", default="reproduce", help="output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the store, write the outputs, list them."""
    from leaderboard.envs import display_results_url
    from leaderboard.paper import reproduce
    from leaderboard.store import load_nonempty

    import pandas as pd

    from leaderboard.paper import rclicks_table
    from rclicks.metrics.benchmark import paper_table

    df = load_nonempty(args.results or display_results_url(), "try --results assets/results")
    main = rclicks_table(df)
    if len(main):
        with pd.option_context("display.width", 250, "display.max_columns", 60):
            print("RClicks main table (NeurIPS 2024, Tab. 4): Sample NoC@90 ± std, ΔSB %, ΔGR % per dataset")
            print(paper_table(main, "main").to_string(index=False))
            print()
    written, notes = reproduce(df, args.out)
    for path in written:
        print(f"wrote {path}")
    for note in notes:
        print(f"note: {note}")
    return 0
