"""Paper-style outputs from any results store: the RClicks table and figures, as CSV + plotly HTML (+ PNG).

- ``table.csv``: per (model, dataset, policy, clickmap) Base NoC@90, Sample NoC@90 ± std,
  ΔSB, ΔGR, NoF and IoU@1 deltas, NSR (``rclicks.metrics.benchmark.groups_summary``);
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


def rclicks_table(df: pd.DataFrame) -> pd.DataFrame:
    """The RClicks table (Sample NoC@90, ΔSB, ΔGR, NSR of IoU@1, ...); empty when no complete groups are stored."""
    from rclicks.metrics.benchmark import groups_summary

    clickers = df["clicker"].astype(str)
    keys = [c for c in ("model", "dataset", "policy") if c in df.columns]
    groups = df[clickers.str.fullmatch(r"g\d+(@.+)?") | (clickers == "baseline")]
    n = groups.groupby(keys, observed=True)["clicker"].nunique()
    complete = n[n >= 11].index
    if len(complete) == 0:
        return pd.DataFrame()
    sub = groups[pd.MultiIndex.from_frame(groups[keys].astype(str)).isin(complete.map(lambda k: tuple(map(str, k))))]
    return groups_summary(sub, thr=0.9, k=1)


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

    main = rclicks_table(df)
    if len(main):
        _write_csv(main, out / "table.csv", written)
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

    groups = df[df["clicker"].str.fullmatch(r"g\d+(@.+)?")]
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
