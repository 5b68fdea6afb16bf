"""Paper-style outputs from any results store: the RClicks table and figures, as CSV + plotly HTML (+ PNG).

- ``table.csv``: the RClicks table in long form, per (model, dataset, policy, clickmap,
  max_clicks, seed): Sample NoC@90 ± std, ΔSB/ΔGR/ΔHH %, NoF, IoU (AuC) and NSR
  (``rclicks.metrics.benchmark.rclicks_table``, the authors' notebook formulas);
- ``rclicks_main.csv/.md`` (Tab. 4) and ``rclicks_noc``, ``rclicks_nof``, ``rclicks_iou``
  (supplementary Tabs. 9–11): the same numbers in the paper's layout (``paper_table``);
- ``iou_curves.csv/.html``: mean IoU after each click per clicker (``per_click_curve``);
- ``nsr.csv``, ``nsr_scatter.html``: per instance mean vs std of first-click IoU over the
  clicking groups (``instance_nsr``);
- ``rank_correlation.csv/.html``: Spearman correlation between datasets of the models'
  rankings by Sample NoC@90 (baseline NoC@90 when groups are missing).

PNG files are written next to the HTML when plotly can export images (``kaleido``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError


def complete_groups(df: pd.DataFrame) -> pd.DataFrame:
    """The baseline and clicking-group rows of the (model, dataset, policy, max_clicks, seed, click map) combinations
    that have the baseline and all ten groups; empty when there are none."""
    base_keys = ["model", "dataset", "policy", "max_clicks", "seed"]
    clicker = df["clicker"].astype(str)
    groups = df[df["group"].between(1, 10)]
    base = df[clicker == "baseline"]
    if groups.empty or base.empty:
        return df.iloc[:0]
    n = groups.groupby(base_keys + ["clickmap"], observed=True)["group"].nunique()
    full = n[n == 10].reset_index()[base_keys + ["clickmap"]]
    have_base = base[base_keys].drop_duplicates()
    full = full.merge(have_base, on=base_keys)
    if full.empty:
        return df.iloc[:0]
    keep_groups = groups.merge(full, on=base_keys + ["clickmap"])
    keep_base = base.merge(full[base_keys].drop_duplicates(), on=base_keys)
    return pd.concat([keep_base, keep_groups], ignore_index=True)


def markdown(table: pd.DataFrame) -> str:
    """A DataFrame as a GitHub-flavoured markdown table (cells as printed)."""
    cols = [str(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in table.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


def rclicks_table(df: pd.DataFrame) -> pd.DataFrame:
    """The RClicks table (``rclicks.metrics.benchmark.rclicks_table``) over the complete group runs; empty when none."""
    from rclicks.metrics.benchmark import rclicks_table as table

    sub = complete_groups(df)
    return table(sub, thr=0.9) if len(sub) else pd.DataFrame()


def baseline_table(df: pd.DataFrame) -> pd.DataFrame:
    """The standard protocol summary (NoC@85/90, NoF, mIoU@k, AuC) per model, dataset, clicker, policy."""
    from rclicks.metrics.curves import summarize

    return summarize(df)


def rank_correlation(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Spearman rank correlation between datasets of per-model ``metric`` (datasets × datasets; NaN if < 3 models)."""
    from scipy.stats import spearmanr

    wide = table.pivot_table(index="model", columns="dataset", values=metric, aggfunc="mean", observed=True).dropna()
    datasets = list(wide.columns)
    out = pd.DataFrame(np.nan, index=datasets, columns=datasets, dtype=float)
    for a in datasets:
        for b in datasets:
            if len(wide) >= 2 and wide[a].nunique() > 1 and wide[b].nunique() > 1:
                out.loc[a, b] = float(spearmanr(wide[a], wide[b]).statistic)
            elif a == b:
                out.loc[a, b] = 1.0
    out.index.name = "dataset"
    return out


def _natural(name: str) -> tuple:
    """Sort key putting g2 before g10 and baseline first."""
    import re

    return (name != "baseline", [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)])


def _save_fig(fig, path: Path, written: list[str], notes: list[str]) -> None:
    fig.write_html(str(path.with_suffix(".html")), include_plotlyjs="cdn")
    written.append(str(path.with_suffix(".html")))
    try:
        fig.write_image(str(path.with_suffix(".png")))
        written.append(str(path.with_suffix(".png")))
    except Exception as exc:  # kaleido (plotly's image export) is optional
        note = f"PNG export skipped ({type(exc).__name__}); install kaleido for PNG figures"
        if note not in notes:
            notes.append(note)


def _write_csv(df: pd.DataFrame, path: Path, written: list[str]) -> None:
    from leaderboard._fs import write_bytes_atomic

    write_bytes_atomic(str(path), df.to_csv(index=isinstance(df.index, pd.MultiIndex) or df.index.name is not None).encode())
    written.append(str(path))


def reproduce(df: pd.DataFrame, out_dir: str | os.PathLike) -> tuple[list[str], list[str]]:
    """Write every table and figure for the results ``df`` into ``out_dir``; return (files written, notes)."""
    import plotly.express as px

    from rclicks.metrics.benchmark import instance_nsr
    from rclicks.metrics.curves import per_click_curve

    if df.empty:
        raise RClicksError("results table is empty: nothing to reproduce")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    notes: list[str] = []
    for c in ("model", "dataset", "clicker", "policy", "instance"):
        df[c] = df[c].astype(str)

    from rclicks.metrics.benchmark import PAPER_TABLES, paper_table

    main = rclicks_table(df)
    if len(main):
        _write_csv(main, out / "table.csv", written)
        for which in PAPER_TABLES:
            layout = paper_table(main, which)
            _write_csv(layout, out / f"rclicks_{which}.csv", written)
            path = out / f"rclicks_{which}.md"
            from leaderboard._fs import write_bytes_atomic

            write_bytes_atomic(str(path), markdown(layout).encode())
            written.append(str(path))
    else:
        notes.append("no complete clicking groups (baseline + g1..g10): table.csv, nsr and group ranks skipped")
    _write_csv(baseline_table(df), out / "baseline_table.csv", written)

    curves = per_click_curve(df)
    _write_csv(curves, out / "iou_curves.csv", written)
    order = sorted(curves["clicker"].unique(), key=_natural)
    fig = px.line(curves, x="click", y="iou", color="clicker", facet_col="model", facet_row="dataset",
                  category_orders={"clicker": order},
                  labels={"iou": "mean IoU", "click": "click"}, title="IoU per click for each clicker")
    _save_fig(fig, out / "iou_curves", written, notes)

    groups = df[df["group"].between(1, 10)]
    if len(groups):
        nsr = instance_nsr(groups, k=1)
        _write_csv(nsr, out / "nsr.csv", written)
        fig = px.scatter(nsr, x="mean", y="std", color="model", facet_col="dataset", hover_data=["instance", "nsr"],
                         labels={"mean": "mean first-click IoU over groups", "std": "std of first-click IoU"},
                         title="Per-instance difficulty: NSR = std / mean of first-click IoU")
        _save_fig(fig, out / "nsr_scatter", written, notes)

    if len(main):
        ranks, metric = main, "Sample NoC@90"
    else:
        base = baseline_table(df)
        ranks, metric = base[base["clicker"] == "baseline"], "NoC@90"
    if len(ranks) and ranks["dataset"].nunique() >= 2 and ranks["model"].nunique() >= 2:
        corr = rank_correlation(ranks, metric)
        _write_csv(corr, out / "rank_correlation.csv", written)
        fig = px.imshow(corr, text_auto=".2f", zmin=-1, zmax=1, color_continuous_scale="RdBu",
                        title=f"Spearman correlation of model rankings by {metric} across datasets")
        _save_fig(fig, out / "rank_correlation", written, notes)
    else:
        notes.append("rank correlation needs at least 2 models and 2 datasets: skipped")
    return written, notes
