"""The leaderboard table: a pure function of the long-form results table.

One row per (model, multi-mask policy, max_clicks): every number is computed from
trajectories run with the ``max_clicks`` of its own row, so adding another run never
moves a model's numbers. Per dataset the columns of
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


_ROW_KEYS = ["model", "policy", "max_clicks"]
_INDEX = _ROW_KEYS + ["dataset"]


def _baseline_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """NoC@85/90/95, NoF@90, IoU@1, IoU-AuC@10 of the baseline robot and IoU-Min/Max/D of the attacks (``summarize``)."""
    from rclicks.metrics.curves import summarize

    sub = df[df["clicker"].isin(["baseline", ADV_MIN, ADV_MAX])]
    if sub.empty:
        return pd.DataFrame()
    s = summarize(sub)
    rows = []
    base = s[s["clicker"] == "baseline"].set_index(_INDEX)
    for label, col in (("NoC@85", "NoC@85"), ("NoC@90", "NoC@90"), ("NoC@95", "NoC@95"), ("NoF@90", "NoF@90"),
                       ("IoU@1", "mIoU@1"), ("IoU-AuC@10", "IoU-AuC@10")):
        rows.append(base[col].rename(label))
    rows.append(base["n"].rename("instances"))
    for clicker, label in ((ADV_MIN, "IoU-Min"), (ADV_MAX, "IoU-Max")):
        adv = s[s["clicker"] == clicker].set_index(_INDEX)
        if len(adv):
            rows.append(adv["IoU-AuC@10"].rename(label))
    out = pd.concat(rows, axis=1)
    if {"IoU-Min", "IoU-Max"} <= set(out.columns):
        out["IoU-D"] = out["IoU-Max"] - out["IoU-Min"]
    return out


def _group_metrics(df: pd.DataFrame) -> pd.DataFrame:
    """Sample NoC@90 ± std, ΔSB %, ΔGR %, NSR % from ``rclicks.metrics.benchmark.rclicks_table`` (default click map, seed 0 first).

    Only (model, policy, max_clicks, dataset) with baseline and all ten groups on every
    instance enter; the numbers are the metrics layer's, not recomputed here.
    """
    from rclicks.metrics.benchmark import DEFAULT_CLICKMAP, rclicks_table

    sub = df[df["clicker"].isin(("baseline",) + _GROUP_CLICKERS)]
    if sub.empty:
        return pd.DataFrame()
    keys = _INDEX
    have = sub.groupby(keys, observed=True)["clicker"].nunique()
    complete = have[have == 11].index
    if len(complete) == 0:
        return pd.DataFrame()
    sub = sub[pd.MultiIndex.from_frame(sub[keys]).isin(complete)]
    rc = rclicks_table(sub, thr=0.9)
    rc = rc[rc["clickmap"] == DEFAULT_CLICKMAP].sort_values("seed", kind="stable").drop_duplicates(keys)
    rc = rc.set_index(keys)
    return pd.DataFrame({
        "Sample NoC@90": rc["Sample NoC@90"],
        "Sample NoC@90 std": rc["Sample NoC@90 std"],
        "ΔSB (%)": rc["ΔSB NoC@90 (%)"],
        "ΔGR (%)": rc["ΔGR NoC@90 (%)"],
        "NSR (%)": rc["NSR (%)"],
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
    times = df.groupby(_ROW_KEYS, observed=True)["time_s"].mean()
    front["s/click"] = times.reindex(wide.index).to_numpy()
    noc90 = [c for c in wide.columns if c.endswith(" NoC@90") and "Sample" not in c]
    if noc90:
        front["Avg NoC@90"] = wide[noc90].mean(axis=1)
    out = pd.concat([front, wide], axis=1).reset_index()
    out["model"], out["policy"] = out["model"].astype(str), out["policy"].astype(str)
    out["max_clicks"] = out["max_clicks"].astype("int64")
    sort = ["Avg NoC@90", "model"] if "Avg NoC@90" in out else ["model"]
    return out.sort_values(sort, kind="stable", na_position="last").reset_index(drop=True)


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    from rclicks.results import SCHEMA

    missing = sorted(set(SCHEMA) - set(df.columns))
    if missing:
        raise RClicksError(
            f"results table lacks column(s) {missing}; expected the rclicks results contract (re-run the evaluation to regenerate old tables)"
        )
    df = df.copy()
    for c in ("model", "dataset", "clicker", "policy", "instance"):
        # categoricals make every group-by below fast and keep the labels as strings
        if not isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype("category")
        if not all(isinstance(v, str) for v in df[c].cat.categories):
            df[c] = df[c].cat.rename_categories([str(v) for v in df[c].cat.categories])
    return df


def build_table(df: pd.DataFrame, model_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """The leaderboard: one row per (model, policy, max_clicks), oracle excluded, sorted by ``Avg NoC@90``.

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
