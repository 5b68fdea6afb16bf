"""The leaderboard table: a pure function of the long-form results table.

One row per (model, multi-mask policy, max_clicks): every number is computed from
trajectories run with the ``max_clicks`` of its own row, so adding another run never
moves a model's numbers. Per dataset the columns of
:data:`rclicks_leaderboard.columns.DATASET_COLUMNS`. Oracle-policy results (best candidate by
IoU against the ground truth) are an upper bound and never enter this table; they get
their own (:func:`build_oracle_table`). Metrics come from ``rclicks.metrics.curves``
(NoC, NoF, IoU@1, AuC) and ``rclicks.metrics.benchmark`` (Sample NoC, ΔSB, ΔGR, NSR);
a column whose inputs are missing (no groups, no attacks) is simply absent.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import pandas as pd

from rclicks_leaderboard.columns import dataset_column
from rclicks.errors import RClicksError

ADV_MIN, ADV_MAX = "adv_min", "adv_max"
ORACLE = "oracle"
_GROUP_CLICKERS = tuple(f"g{i}" for i in range(1, 11))


from rclicks_leaderboard.trajectories import ROW_KEYS as _ROW_KEYS
from rclicks_leaderboard.trajectories import time_means, trajectory_rows  # noqa: F401  (the table's inputs; build_table calls them)

_INDEX = _ROW_KEYS + ["dataset"]


def _baseline_metrics(per: pd.DataFrame) -> pd.DataFrame:
    """NoC@85/90/95, NoF@90, IoU@1, IoU-AuC@10 of the baseline robot and IoU-Min/Max/D of the attacks (``summarize``)."""
    from rclicks.metrics.curves import summarize_trajectories

    sub = per[per["clicker"].isin(["baseline", ADV_MIN, ADV_MAX])]
    if sub.empty:
        return pd.DataFrame()
    s = summarize_trajectories(sub)
    rows = []
    base = s[s["clicker"] == "baseline"].set_index(_INDEX)
    for label, col in (("NoC@85", "NoC@85"), ("NoC@90", "NoC@90"), ("NoC@95", "NoC@95"), ("NoF@90", "NoF@90"),
                       ("IoU@1", "mIoU@1"), ("IoU-AuC@10", "IoU-AuC@10")):
        rows.append(base[col].rename(label))
    rows.append(base["n"].rename("instances"))
    for col in ("Best-of-K IoU@1", "Ambiguity gap@1"):  # multi-mask models only (NaN, so absent, for the others)
        if col in base:
            rows.append(base[col].rename(col))
    # attacks run with their own max_clicks (TETRIS: 10); they join the model's row(s) of the same policy and dataset
    same = ["model", "policy", "dataset"]
    base_keys = base.index.to_frame(index=False)[same]
    for clicker, label in ((ADV_MIN, "IoU-Min"), (ADV_MAX, "IoU-Max")):
        adv = s[s["clicker"] == clicker]
        if adv.empty:
            continue
        by = adv.drop_duplicates(same).set_index(same)["IoU-AuC@10"]
        joined = pd.Series(by.reindex(pd.MultiIndex.from_frame(base_keys)).to_numpy(), index=base.index, name=label)
        alone = adv[~pd.MultiIndex.from_frame(adv[same]).isin(pd.MultiIndex.from_frame(base_keys))]
        rows.append(pd.concat([joined, alone.set_index(_INDEX)["IoU-AuC@10"].rename(label)]))
    out = pd.concat(rows, axis=1)
    if {"IoU-Min", "IoU-Max"} <= set(out.columns):
        out["IoU-D"] = out["IoU-Max"] - out["IoU-Min"]
    return out


def _group_metrics(per: pd.DataFrame) -> pd.DataFrame:
    """Sample NoC@90 ± std, ΔSB %, ΔGR %, NSR % from ``rclicks.metrics.benchmark.rclicks_from_trajectories`` (default click map, seed 0 first).

    Only (model, policy, max_clicks, dataset) with baseline and all ten groups on every
    instance enter; the numbers are the metrics layer's, not recomputed here.
    """
    from rclicks.metrics.benchmark import DEFAULT_CLICKMAP, rclicks_from_trajectories

    from rclicks.metrics.benchmark import RCLICKS_KEYS

    # only the columns rclicks_from_trajectories reads: a row filter then copies 12 columns, not every metric
    needed = list(dict.fromkeys([*RCLICKS_KEYS, "instance", "clicker", "group", "noc", "auc", "iou1"]))
    sub = per.loc[per["clicker"].isin(("baseline",) + _GROUP_CLICKERS).to_numpy(), needed]
    if sub.empty:
        return pd.DataFrame()
    keys = _INDEX
    have = sub.groupby(keys, observed=True)["clicker"].nunique()
    complete = have[have == 11].index
    if len(complete) == 0:
        return pd.DataFrame()
    sub = sub[pd.MultiIndex.from_frame(sub[keys]).isin(complete)]
    rc = rclicks_from_trajectories(sub, thr=0.9)
    rc = rc[rc["clickmap"] == DEFAULT_CLICKMAP].sort_values("seed", kind="stable").drop_duplicates(keys)
    rc = rc.set_index(keys)
    return pd.DataFrame({
        "Sample NoC@90": rc["Sample NoC@90"],
        "Sample NoC@90 std": rc["Sample NoC@90 std"],
        "ΔSB (%)": rc["ΔSB NoC@90 (%)"],
        "ΔGR (%)": rc["ΔGR NoC@90 (%)"],
        "NSR (%)": rc["NSR (%)"],
    })


def _spread_metrics(heat: pd.DataFrame | None, base_index: pd.Index) -> pd.DataFrame:
    """``First-click spread`` per (model, policy, dataset) from heatmap rows (``rclicks.metrics.robustness.first_click_spread``),
    joined to the model's rows of the same policy and dataset like the attacks; with several lattices, the one of most positions."""
    if heat is None or heat.empty:
        return pd.DataFrame()
    from rclicks.metrics.robustness import first_click_spread

    spread = first_click_spread(heat).sort_values(["positions", "clickmap"], ascending=[False, True], kind="stable")
    spread = spread.drop_duplicates(["model", "policy", "dataset"])
    by = spread.set_index(["model", "policy", "dataset"])["First-click spread"]
    keys = base_index.to_frame(index=False)
    if keys.empty:
        return pd.DataFrame()
    values = by.reindex(pd.MultiIndex.from_arrays([keys["model"].astype(str), keys["policy"].astype(str), keys["dataset"].astype(str)]))
    return pd.DataFrame({"First-click spread": values.to_numpy()}, index=base_index)


def _metric_order() -> list[str]:
    from rclicks_leaderboard.columns import DATASET_COLUMNS

    return [c.label for c in DATASET_COLUMNS]


def _wide(per: pd.DataFrame, times: pd.Series, model_info: pd.DataFrame | None, heat: pd.DataFrame | None = None) -> pd.DataFrame:
    """The table from per-trajectory rows (:func:`trajectory_rows`), the ``s/click`` means (:func:`time_means`) and
    heatmap rows (first-click spread)."""
    parts = [p for p in (_baseline_metrics(per), _group_metrics(per)) if len(p)]
    if not parts:
        raise RClicksError("results have no baseline or clicking-group trajectories: nothing to rank")
    long = pd.concat(parts, axis=1)
    spread = _spread_metrics(heat, long.index)
    if len(spread) and spread["First-click spread"].notna().any():
        long = pd.concat([long, spread], axis=1)
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
    front["s/click"] = times.reindex(wide.index).to_numpy()
    noc90 = [c for c in wide.columns if c.endswith(" NoC@90") and "Sample" not in c]
    if noc90:
        front["Avg NoC@90"] = wide[noc90].mean(axis=1)
    out = pd.concat([front, wide], axis=1).reset_index()
    out["model"], out["policy"] = out["model"].astype(str), out["policy"].astype(str)
    out["max_clicks"] = out["max_clicks"].astype("int64")
    return rank_order(out)


def rank_order(table: pd.DataFrame) -> pd.DataFrame:
    """The table in leaderboard order: rows run with more clicks first (NoC is capped at ``max_clicks``, so a 5-click
    run's NoC is not comparable with a 20-click one's), then rows covering more datasets (an average over fewer
    datasets is not comparable either), then ``Avg NoC@90``, then the model name."""
    noc90 = [c for c in table.columns if c.endswith(" NoC@90") and "Sample" not in c]
    if not noc90 or "Avg NoC@90" not in table:
        return table.sort_values(["model"], kind="stable").reset_index(drop=True)
    covered = table[noc90].notna().sum(axis=1)
    clicks = pd.to_numeric(table["max_clicks"], errors="coerce") if "max_clicks" in table else 0
    order = table.assign(_clicks=-clicks, _covered=-covered).sort_values(
        ["_clicks", "_covered", "Avg NoC@90", "model"], kind="stable", na_position="last").index
    return table.loc[order].reset_index(drop=True)


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


def sorted_categories(per: pd.DataFrame) -> pd.DataFrame:
    """Key columns as categoricals with sorted string categories, so group-bys run in one order whatever the input's."""
    fixed = {}
    for c in ("model", "dataset", "clicker", "policy", "instance", "clickmap"):
        col = per[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = [str(v) for v in col.cat.categories]
            if cats == sorted(set(cats)):
                continue
        values = col.astype(str)
        fixed[c] = pd.Categorical(values, categories=sorted(set(values)))
    return per.assign(**fixed) if fixed else per


def _oracle_policies() -> tuple[str, ...]:
    try:
        from rclicks.models.multimask import ORACLE_POLICIES
    except ImportError:  # before the multi-mask module names its oracle policies
        return (ORACLE,)
    return tuple(ORACLE_POLICIES)


def table_from_trajectories(per: pd.DataFrame, times: pd.Series, model_info: pd.DataFrame | None = None,
                            oracle: bool = False, heat: pd.DataFrame | None = None) -> pd.DataFrame:
    """The main (or, with ``oracle``, the oracle) table from per-trajectory rows (:func:`trajectory_rows`) and
    ``s/click`` means (:func:`time_means`).

    ``build_table`` and ``build_from_store`` both end here, so the in-memory and the
    store path give the same numbers from the same code.
    """
    per = sorted_categories(per)
    oracles = _oracle_policies()
    is_oracle = per["policy"].isin(oracles)
    per = per[is_oracle if oracle else ~is_oracle]
    if per.empty:
        if oracle:
            return pd.DataFrame()
        raise RClicksError("results table has no non-oracle rows: nothing to rank")
    pol = times.index.get_level_values("policy").astype(str).isin(oracles)
    if heat is not None:
        heat = heat[heat["policy"].astype(str).isin(oracles) == oracle]
    return _wide(per, times[pol if oracle else ~pol], model_info, heat)


def build_table(df: pd.DataFrame, model_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """The leaderboard: one row per (model, policy, max_clicks), oracle excluded, sorted by ``Avg NoC@90``.

    ``df``: long-form results (``rclicks.results.SCHEMA``). ``model_info``: optional
    (model, model_bytes) rows, e.g. :meth:`rclicks_leaderboard.store.ResultsStore.metadata_table`.
    """
    df = _prepare(df)
    return table_from_trajectories(trajectory_rows(df), time_means(df), model_info, heat=_heat_of(df))


def _heat_of(df: pd.DataFrame) -> pd.DataFrame | None:
    """The heatmap rows of a prepared table, key columns as strings (as the store scan keeps them), or None."""
    from rclicks.metrics.robustness import HEATMAP_CLICKER, MAP_KEYS

    rows = df[df["clicker"].astype(str) == HEATMAP_CLICKER]
    if rows.empty:
        return None
    rows = rows[[*MAP_KEYS, "clicker", "click", "iou", "x", "y"]].reset_index(drop=True)
    return rows.assign(**{c: rows[c].astype(str) for c in [*MAP_KEYS, "clicker"]})


def build_oracle_table(df: pd.DataFrame, model_info: pd.DataFrame | None = None) -> pd.DataFrame:
    """The same table over oracle-policy rows only (an upper bound, shown separately); empty if none."""
    df = _prepare(df)
    return table_from_trajectories(trajectory_rows(df), time_means(df), model_info, oracle=True, heat=_heat_of(df))


def build_from_store(url: str | None = None, oracle: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """The table of a results store (default :func:`rclicks_leaderboard.envs.display_results_url`): equal to
    ``build_table(store.load()[0], store.metadata_table())`` (or ``build_oracle_table``), without loading it.

    Reads only the columns the table needs, per trajectory and batch of models
    (:func:`rclicks_leaderboard.scan.scan_store`); an unchanged store (same shard listing) is not
    read again. Returns (table, messages of skipped corrupt files).
    """
    from rclicks_leaderboard.envs import display_results_url
    from rclicks_leaderboard.scan import scan_store

    url = str(url or display_results_url())
    scan = scan_store(url)
    if scan.per.empty:
        raise RClicksError(f"{url}: no results found; run the backend or `python -m rclicks_leaderboard.seed`")
    with _TABLE_LOCK:
        hit = _TABLES.get((url, oracle))
    if hit is not None and hit[0] == scan.key:
        return hit[1].copy(), list(scan.errors)
    table = table_from_trajectories(scan.per, scan.times, scan.model_info, oracle=oracle, heat=scan.heat)
    with _TABLE_LOCK:
        _TABLES[(url, oracle)] = (scan.key, table)
    return table.copy(), list(scan.errors)


_TABLE_LOCK = threading.Lock()
#: (url, oracle) -> (shard listing, table): the app rebuilds on every reload; an unchanged store costs a listing.
_TABLES: dict[tuple[str, bool], tuple[tuple, pd.DataFrame]] = {}


def save_table(table: pd.DataFrame, path: str | os.PathLike) -> str:
    """Write the table as CSV (``.csv``) or parquet (anything else) atomically; return the path."""
    from rclicks_leaderboard._fs import write_bytes_atomic

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
