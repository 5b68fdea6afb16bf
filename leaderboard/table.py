"""The leaderboard table: a pure function of the long-form results table.

One row per (model, multi-mask policy); per dataset the columns of
:data:`leaderboard.columns.DATASET_COLUMNS`. Oracle-policy results (best candidate by
IoU against the ground truth) are an upper bound and never enter this table; they get
their own (:func:`build_oracle_table`). Metrics come from ``rclicks.metrics.curves``
(NoC, NoF, IoU@1, AuC) and ``rclicks.metrics.benchmark`` (Sample NoC, ΔSB, ΔGR, NSR);
a column whose inputs are missing (no groups, no attacks) is simply absent.
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd

from leaderboard.columns import dataset_column
from rclicks.errors import RClicksError

ADV_MIN, ADV_MAX = "adv_min", "adv_max"
ORACLE = "oracle"
_GROUP_CLICKERS = tuple(f"g{i}" for i in range(1, 11))


def _baseline_metrics(df: pd.DataFrame) -> pd.DataFrame:
    from rclicks.metrics.curves import summarize

    sub = df[df["clicker"].isin(["baseline", ADV_MIN, ADV_MAX])]
    if sub.empty:
        return pd.DataFrame()
    s = summarize(sub)
    rows = []
    base = s[s["clicker"] == "baseline"].set_index(["model", "policy", "dataset"])
    for label, col in (("NoC@85", "NoC@85"), ("NoC@90", "NoC@90"), ("NoF@90", "NoF@90"), ("IoU@1", "mIoU@1"), ("IoU-AuC@10", "IoU-AuC@10")):
        rows.append(base[col].rename(label))
    for clicker, label in ((ADV_MIN, "IoU-Min"), (ADV_MAX, "IoU-Max")):
        adv = s[s["clicker"] == clicker].set_index(["model", "policy", "dataset"])
        if len(adv):
            rows.append(adv["IoU-AuC@10"].rename(label))
    out = pd.concat(rows, axis=1)
    if {"IoU-Min", "IoU-Max"} <= set(out.columns):
        out["IoU-D"] = out["IoU-Max"] - out["IoU-Min"]
    return out


def _group_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Sample NoC@90 ± std, ΔSB, ΔGR, NSR (IoU@1) for (model, policy, dataset) having baseline + g1..g10.

    Per-trajectory NoC and IoU@1 come from ``rclicks.metrics.benchmark.trajectory_table``;
    the aggregation is the formula of ``benchmark.groups_summary`` vectorised over all
    models and datasets at once (a test checks both agree). Default click map only.
    """
    try:
        from rclicks.metrics.benchmark import trajectory_table
    except ImportError:
        return pd.DataFrame()
    sub = df[df["clicker"].isin(("baseline",) + _GROUP_CLICKERS)]
    if sub.empty:
        return pd.DataFrame()
    keys = ["model", "policy", "dataset"]
    have = sub.groupby(keys, observed=True)["clicker"].nunique()
    complete = have[have == 11].index
    if len(complete) == 0:
        return pd.DataFrame()
    sub = sub[pd.MultiIndex.from_frame(sub[keys]).isin(complete)]
    per = trajectory_table(sub, thr=0.9, k=1)
    clicker = per["clicker"].astype(str)
    base = per[clicker == "baseline"].groupby(keys, observed=True)["noc"].mean()
    groups = per[clicker != "baseline"].assign(group=clicker[clicker != "baseline"].str[1:].astype(int))
    pg = groups.groupby(keys + ["group"], observed=True)["noc"].mean().unstack("group").reindex(columns=range(1, 11))
    sample = pg.mean(axis=1)
    rel = lambda a, b: (a - b) / b.where(b != 0)  # noqa: E731  NaN when dividing by 0
    by_inst = groups.groupby(keys + ["instance"], observed=True)["iou_k"]
    mean_i, std_i = by_inst.mean(), by_inst.std(ddof=0)
    nsr = (std_i / mean_i.where(mean_i > 0)).groupby(level=keys, observed=True).mean()
    return pd.DataFrame({
        "Sample NoC@90": sample,
        "Sample NoC@90 std": pg.std(axis=1, ddof=0),
        "ΔSB": rel(sample, base.reindex(sample.index)),
        "ΔGR": rel(pg[1], pg[10]),
        "NSR": nsr.reindex(sample.index),
    })


def _metric_order() -> list[str]:
    from leaderboard.columns import DATASET_COLUMNS

    return [c.label for c in DATASET_COLUMNS]


def _wide(df: pd.DataFrame, model_info: pd.DataFrame | None) -> pd.DataFrame:
    parts = [p for p in (_baseline_metrics(df), _group_metrics(df)) if len(p)]
    if not parts:
        raise RClicksError("results have no baseline or clicking-group trajectories: nothing to rank")
    long = pd.concat(parts, axis=1)
    datasets = sorted(long.index.get_level_values("dataset").unique())
    order = [m for m in _metric_order() if m in long.columns]
    wide = long[order].unstack("dataset")
    wide.columns = [dataset_column(d, m) for m, d in wide.columns]
    wide = wide[[dataset_column(d, m) for d in datasets for m in order if dataset_column(d, m) in wide.columns]]
    wide = wide.dropna(axis=1, how="all")

    front = pd.DataFrame(index=wide.index)
    if model_info is not None and "model_bytes" in model_info and model_info["model_bytes"].notna().any():
        sizes = pd.to_numeric(model_info["model_bytes"], errors="coerce").groupby(model_info["model"]).max() / 1e6
        front["Size (MB)"] = wide.index.get_level_values("model").map(sizes).astype(float)
    times = df.groupby(["model", "policy"], observed=True)["time_s"].mean()
    front["s/click"] = times.reindex(wide.index).to_numpy()
    noc90 = [c for c in wide.columns if c.endswith(" NoC@90") and "Sample" not in c]
    if noc90:
        front["Avg NoC@90"] = wide[noc90].mean(axis=1)
    out = pd.concat([front, wide], axis=1).reset_index()
    out["model"], out["policy"] = out["model"].astype(str), out["policy"].astype(str)
    sort = ["Avg NoC@90", "model"] if "Avg NoC@90" in out else ["model"]
    return out.sort_values(sort, kind="stable", na_position="last").reset_index(drop=True)


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    missing = {"model", "dataset", "clicker", "policy", "instance", "click", "iou", "time_s"} - set(df.columns)
    if missing:
        raise RClicksError(f"results table lacks column(s) {sorted(missing)}; expected the rclicks results schema")
    df = df.copy()
    for c in ("model", "dataset", "clicker", "policy", "instance"):
        # categoricals make every group-by below fast and keep the labels as strings
        if not isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("category")
        if not all(isinstance(v, str) for v in df[c].cat.categories):
            df[c] = df[c].cat.rename_categories([str(v) for v in df[c].cat.categories])
    return df


def build_table(df: pd.DataFrame, model_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """The leaderboard: one row per (model, policy), oracle excluded, sorted by ``Avg NoC@90``.

    ``df``: long-form results (``rclicks.results.SCHEMA``). ``model_info``: optional
    (model, model_bytes) rows, e.g. :meth:`leaderboard.store.ResultsStore.metadata_table`.
    """
    df = _prepare(df)
    main = df[df["policy"] != ORACLE]
    if main.empty:
        raise RClicksError("results table has no non-oracle rows: nothing to rank")
    return _wide(main, model_info)


def build_oracle_table(df: pd.DataFrame, model_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same table over oracle-policy rows only (an upper bound, shown separately); empty if none."""
    df = _prepare(df)
    oracle = df[df["policy"] == ORACLE]
    return _wide(oracle, model_info) if len(oracle) else pd.DataFrame()


def build_from_store(url: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Load a results store (default :func:`leaderboard.envs.display_results_url`) and build the table.

    Returns (table, messages of skipped corrupt files).
    """
    from leaderboard.envs import display_results_url
    from leaderboard.store import ResultsStore

    store = ResultsStore(url or display_results_url())
    df, errors = store.load()
    if df.empty:
        raise RClicksError(f"{store.url}: no results found; run the backend or `python -m leaderboard.seed`")
    return build_table(df, store.metadata_table()), errors


def save_table(table: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write the table as CSV (``.csv``) or parquet (anything else) atomically; return the path."""
    from leaderboard._fs import write_bytes_atomic

    path = os.fspath(path)
    if path.endswith(".csv"):
        data = table.to_csv(index=False).encode()
    else:
        import io

        buf = io.BytesIO()
        table.to_parquet(buf, index=False)
        data = buf.getvalue()
    write_bytes_atomic(path, data)
    return path


def model_summary(table: pd.DataFrame) -> dict[str, Any]:
    """Counts for a status line: models, rows, datasets seen."""
    datasets = sorted({c.split(" ", 1)[0] for c in table.columns if c.endswith(" NoC@90") and not c.startswith(("Avg", "Sample"))})
    return {"models": int(table["model"].nunique()) if len(table) else 0, "rows": int(len(table)), "datasets": datasets}
