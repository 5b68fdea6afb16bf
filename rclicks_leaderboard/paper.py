"""Paper-style tables from any results store: the helpers the artefacts of ``rclicks reproduce`` use.

``complete_groups``, ``rclicks_table``, ``baseline_table`` (the standard protocol summary),
``rank_correlation`` and ``markdown``. The artefacts are built in
:mod:`rclicks_leaderboard.artefacts` (numbers from the one metrics layer) and written by
:mod:`rclicks_leaderboard.gallery` (``reproduce``: CSV + Markdown + LaTeX per table, HTML +
PNG per figure, ``index.html``); ``docs/reproduce.md`` lists them. This module imports
neither, so the three form no import cycle.
"""

from __future__ import annotations

import numpy as np
import pandas as pd



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
