"""Paired bootstrap confidence intervals for the difference of two models on the same instances.

For two models evaluated on the same ``n`` instances with per-instance values ``a_i`` and
``b_i`` (NoC@90 under the baseline robot, or the per-instance Sample NoC@90 = mean over
the ten clicking groups), the statistic is ``Δ = mean_i (a_i − b_i)``. The interval is the
percentile bootstrap (Efron & Tibshirani 1993, ch. 13): draw ``B`` resamples of the
instance indices with replacement (the same indices for both models — that is what
"paired" means), take ``Δ*`` of each and report its ``(1 − level)/2`` and
``(1 + level)/2`` quantiles. ``B`` defaults to :data:`B_DEFAULT` and the resamples come
from ``numpy.random.default_rng(seed)``, so every interval is reproducible.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError

#: Bootstrap resamples per interval (documented in docs/reproduce.md).
B_DEFAULT = 2000
#: Seed of the resampling generator.
SEED_DEFAULT = 0


def paired_bootstrap(a, b, *, B: int = B_DEFAULT, seed: int = SEED_DEFAULT, level: float = 0.95) -> tuple[float, float, float]:
    """``(Δ, lo, hi)``: ``Δ = mean(a − b)`` and its percentile-bootstrap interval at ``level`` (paired resampling).

    ``a``, ``b``: 1-D float arrays of the same length ``n ≥ 1`` (one value per instance, same order).
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise RClicksError(f"paired bootstrap needs two non-empty 1-D arrays of one length, got shapes {a.shape} and {b.shape}")
    if B < 1 or not 0 < level < 1:
        raise RClicksError(f"paired bootstrap: B must be ≥ 1 and 0 < level < 1, got B={B}, level={level}")
    d = a - b
    idx = np.random.default_rng(seed).integers(0, d.size, size=(B, d.size))
    stats = d[idx].mean(axis=1)
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(d.mean()), float(lo), float(hi)


def instance_values(df: pd.DataFrame, thr: float = 0.9) -> pd.DataFrame:
    """Per (model, dataset, policy, max_clicks, instance): ``NoC`` (baseline robot) and ``Sample NoC`` (mean over the
    clicking groups present, default click map, seed 0 first) at ``thr``, from ``rclicks.metrics.benchmark.trajectory_table``."""
    from rclicks.metrics.benchmark import DEFAULT_CLICKMAP, trajectory_table

    per = trajectory_table(df, thr)
    keys = ["model", "dataset", "policy", "max_clicks", "instance"]
    for k in ("model", "dataset", "policy", "instance", "clicker", "clickmap"):
        per[k] = per[k].astype(str)
    base = per[per["clicker"] == "baseline"].sort_values("seed", kind="stable").drop_duplicates(keys)
    out = base.set_index(keys)[["noc"]].rename(columns={"noc": "NoC"})
    groups = per[per["group"].between(1, 10) & (per["clickmap"] == DEFAULT_CLICKMAP)]
    if len(groups):
        groups = groups[groups["seed"] == groups.groupby(keys)["seed"].transform("min")]
        out = out.join(groups.groupby(keys)["noc"].mean().rename("Sample NoC"), how="outer")
    else:
        out["Sample NoC"] = np.nan
    return out.reset_index()


def pairwise_differences(df: pd.DataFrame, thr: float = 0.9, *, B: int = B_DEFAULT, seed: int = SEED_DEFAULT,
                         level: float = 0.95, exclude_policies: tuple[str, ...] = ()) -> pd.DataFrame:
    """For every pair of (model, policy) rows on one (dataset, max_clicks): ``Δ`` and its paired-bootstrap interval
    for NoC@t and Sample NoC@t (``a`` minus ``b``; negative = ``a`` needs fewer clicks), over the instances both have.

    Columns: dataset, max_clicks, model_a, policy_a, model_b, policy_b, metric, instances, diff, lo, hi, B, seed, level.
    """
    t = f"{100 * thr:g}"
    vals = instance_values(df, thr)
    vals = vals[~vals["policy"].isin(exclude_policies)]
    rows = []
    for (ds, mc), block in vals.groupby(["dataset", "max_clicks"], sort=True):
        runs = sorted(block.groupby(["model", "policy"]).groups)
        for (ma, pa), (mb, pb) in itertools.combinations(runs, 2):
            a = block[(block["model"] == ma) & (block["policy"] == pa)].set_index("instance")
            b = block[(block["model"] == mb) & (block["policy"] == pb)].set_index("instance")
            for col, metric in (("NoC", f"NoC@{t}"), ("Sample NoC", f"Sample NoC@{t}")):
                both = a[col].dropna().index.intersection(b[col].dropna().index).sort_values()
                if len(both) == 0:
                    continue
                diff, lo, hi = paired_bootstrap(a.loc[both, col].to_numpy(), b.loc[both, col].to_numpy(), B=B, seed=seed, level=level)
                rows.append({"dataset": ds, "max_clicks": int(mc), "model_a": ma, "policy_a": pa, "model_b": mb, "policy_b": pb,
                             "metric": metric, "instances": int(len(both)), "diff": diff, "lo": lo, "hi": hi,
                             "B": B, "seed": seed, "level": level})
    return pd.DataFrame(rows, columns=["dataset", "max_clicks", "model_a", "policy_a", "model_b", "policy_b", "metric",
                                       "instances", "diff", "lo", "hi", "B", "seed", "level"])


def mean_intervals(df: pd.DataFrame, thr: float = 0.9, *, B: int = B_DEFAULT, seed: int = SEED_DEFAULT,
                   level: float = 0.95) -> pd.DataFrame:
    """Per (model, policy, max_clicks, dataset): the bootstrap interval of mean NoC@t and of Sample NoC@t over instances
    (the one-model case of :func:`paired_bootstrap`, with ``b = 0``); columns ``<metric> lo`` / ``<metric> hi``."""
    t = f"{100 * thr:g}"
    vals = instance_values(df, thr)
    rows = []
    for key, block in vals.groupby(["model", "policy", "max_clicks", "dataset"], sort=True):
        row = dict(zip(["model", "policy", "max_clicks", "dataset"], key))
        for col, metric in (("NoC", f"NoC@{t}"), ("Sample NoC", f"Sample NoC@{t}")):
            v = block[col].dropna().to_numpy()
            if v.size:
                _, row[f"{metric} lo"], row[f"{metric} hi"] = paired_bootstrap(v, np.zeros_like(v), B=B, seed=seed, level=level)
        rows.append(row)
    return pd.DataFrame(rows)
