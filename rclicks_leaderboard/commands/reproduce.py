"""`rclicks reproduce`: regenerate the RClicks-style table and figures from a results store."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub) -> None:
    """Register `rclicks reproduce`."""
    p = sub.add_parser("reproduce", help="regenerate every paper table and figure (CSV/MD/TeX, HTML/PNG, index.html) from a results store",
                       description="The tables and figures of RClicks, TETRIS, IPOL 2024, PseudoClick and DISNet that the "
                                   "store's data allow (a note for each one they do not), plus paired bootstrap intervals; "
                                   "see docs/reproduce.md. No model is re-run.")
    p.add_argument("--results", default=None, help="results store URL or folder (default $RCLICKS_RESULTS_URL, else ./hub/results "
                                                  "when it has results, else the seeded assets/results)")
    p.add_argument("--out", default="reproduce", help="output folder")
    p.add_argument("--clicks", default=None, help="real-clicks table (RClicks clicks.csv, .parquet or folder) for the real-click figures")
    p.add_argument("--heatmaps", default=None, help="folder of `rclicks heatmap` outputs (.npy + .json) for TETRIS Figs. 1-2")
    p.add_argument("--scribbles", nargs="*", default=None, metavar="DIR",
                   help="real-scribble folders for the click-map quality table (default: the bundled GrabCut sets, when found)")
    p.add_argument("--no-scribbles", action="store_true", help="skip the click-map quality table's scribble scores (about 25 s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load the store, write the outputs, list them."""
    from rclicks_leaderboard.envs import display_results_url
    from rclicks_leaderboard.gallery import reproduce
    from rclicks_leaderboard.store import load_nonempty

    import pandas as pd

    from rclicks_leaderboard.paper import rclicks_table
    from rclicks.metrics.benchmark import paper_table

    df = load_nonempty(args.results or display_results_url(), "try --results assets/results")
    main = rclicks_table(df)
    if len(main):
        with pd.option_context("display.width", 250, "display.max_columns", 60):
            print("RClicks main table (NeurIPS 2024, Tab. 4): Sample NoC@90 ± std, ΔSB %, ΔGR % per dataset")
            print(paper_table(main, "main").to_string(index=False))
            print()
    clicks = None
    if args.clicks:
        from rclicks.clicks import read_clicks

        clicks = read_clicks(args.clicks)
    url = args.results or display_results_url()
    command = f"rclicks reproduce --results {url} --out {args.out}" + (f" --clicks {args.clicks}" if args.clicks else "") + (
        f" --heatmaps {args.heatmaps}" if args.heatmaps else "")
    data = f"{url}: {len(df)} rows, {df['model'].nunique()} models, {df['dataset'].nunique()} datasets"
    from rclicks_leaderboard.artefacts import bundled_scribbles

    scribbles = [] if args.no_scribbles else ([Path(d) for d in args.scribbles] if args.scribbles else bundled_scribbles())
    if args.no_scribbles:
        command += " --no-scribbles"
    elif args.scribbles:
        command += " --scribbles " + " ".join(args.scribbles)
    written, notes = reproduce(df, args.out, clicks=clicks, heatmaps=args.heatmaps, command=command, data=data,
                               scribbles=scribbles)
    for path in written:
        print(f"wrote {path}")
    for note in notes:
        print(f"note: {note}")
    return 0
