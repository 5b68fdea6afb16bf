"""Per-trajectory protocol metrics (NoC, NoF, mIoU@k, IoU-AuC) and the standard summary.

A trajectory's IoU sequence ``ious[k-1]`` is the IoU after click ``k``. Every row of the
results table records the ``max_clicks`` its trajectory was run with; sequences that
stopped early (``target_iou`` reached) are padded with their last value up to that
``max_clicks``, never beyond. No function guesses ``max_clicks`` from other rows.

Definitions (each has one function here; docs/realistic-clicks.md states them too):

* ``NoC@t`` — the first click ``k`` with IoU ≥ ``t``, else ``max_clicks`` (RITM
  ``compute_noc_metric``);
* ``NoF@t`` — trajectories with ``NoC@t == max_clicks`` (RITM's and RClicks' rule; it
  also counts reaching ``t`` exactly on the last click). The variant that counts only
  trajectories that never reach ``t`` is ``NoF@t_never``;
* ``mIoU@k`` — mean IoU after click ``k`` (``k ≤ max_clicks``);
* ``IoU-AuC@k`` — trapezoid area under IoU-per-click over clicks ``1..k`` divided by
  ``k − 1`` (TETRIS); ``IoU-AuC`` without ``@k`` is over all ``max_clicks`` clicks
  (RClicks' "IoU": ``np.trapz(ious) / 19`` for 20 clicks). Undefined (NaN) when
  ``k > max_clicks``;
* first-click ambiguity (DISNet) for multi-mask models: ``Best-of-K IoU@1`` — the mean
  over trajectories of the best IoU among the first click's candidate masks and the kept
  one (the results' ``best_iou``); ``Chosen IoU@1`` — the kept mask's IoU (= mIoU@1);
  ``Ambiguity gap@1`` = Best-of-K − Chosen (≥ 0). NaN for models without candidates.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError

TRAJECTORY_KEYS = ["model", "dataset", "clicker", "policy", "seed", "max_clicks", "instance"]
SUMMARY_KEYS = ["model", "dataset", "clicker", "policy", "max_clicks"]
#: NoC/NoF thresholds reported by default (the field reports NoC@85, @90 and @95).
THRESHOLDS: tuple[float, ...] = (0.85, 0.90, 0.95)


def tag(thr: float) -> str:
    """Column tag of a threshold: ``0.9`` → ``"90"``."""
    return f"{100 * thr:g}"


def _pad(ious: Sequence[float], max_clicks: int) -> np.ndarray:
    arr = np.asarray(ious, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise RClicksError("an IoU sequence must be a non-empty 1-D list")
    if max_clicks < 1:
        raise RClicksError(f"max_clicks must be at least 1, got {max_clicks}")
    if arr.size > max_clicks:
        raise RClicksError(f"the IoU sequence has {arr.size} clicks, more than max_clicks={max_clicks}")
    return np.concatenate([arr, np.full(max_clicks - arr.size, arr[-1])])


def noc(ious: Sequence[float], thr: float, max_clicks: int = 20) -> int:
    """Number of clicks: the first click ``k`` (1-based) with IoU ≥ ``thr``, else ``max_clicks`` (RITM)."""
    reached = _pad(ious, max_clicks) >= thr
    return int(np.argmax(reached)) + 1 if reached.any() else max_clicks


def failed(ious: Sequence[float], thr: float, max_clicks: int = 20) -> bool:
    """NoF's rule (RITM, RClicks): ``NoC@thr == max_clicks``, which includes reaching ``thr`` exactly on the last click."""
    return noc(ious, thr, max_clicks) == max_clicks


def never_reached(ious: Sequence[float], thr: float, max_clicks: int = 20) -> bool:
    """The ``NoF@t_never`` variant: the trajectory never reaches ``thr`` within ``max_clicks``."""
    return not bool((_pad(ious, max_clicks) >= thr).any())


def miou_at(ious: Sequence[float], k: int, max_clicks: int | None = None) -> float:
    """IoU after click ``k`` (1-based) of a trajectory run with ``max_clicks`` (default: ``k`` or the sequence length)."""
    max_clicks = max(k, len(ious)) if max_clicks is None else max_clicks
    if k > max_clicks:
        raise RClicksError(f"IoU@{k} needs at least {k} clicks; the trajectory ran max_clicks={max_clicks}")
    return float(_pad(ious, max_clicks)[k - 1])


def iou_auc(ious: Sequence[float], k: int | None = None, max_clicks: int | None = None) -> float:
    """IoU-AuC@k: trapezoid area under IoU-per-click over clicks ``1..k``, divided by ``k − 1`` (in [0, 1]).

    ``max_clicks`` is what the trajectory was run with (default: the larger of ``k`` and
    the sequence length); a shorter sequence stopped early and is padded with its
    last IoU. ``k=None`` means all ``max_clicks`` clicks. For ``k = 1`` it is the first
    IoU. (TETRIS, Moskalenko et al., AAAI 2024; RClicks' IoU is ``k = max_clicks = 20``.)
    """
    if max_clicks is None:
        max_clicks = max(k or 0, len(ious))
    k = max_clicks if k is None else k
    if k > max_clicks:
        raise RClicksError(f"IoU-AuC@{k} needs at least {k} clicks; the trajectory ran max_clicks={max_clicks}")
    arr = _pad(ious, max_clicks)[:k]
    if k == 1:
        return float(arr[0])
    return float(((arr[:-1] + arr[1:]) / 2).sum() / (k - 1))


@dataclass
class TrajectoryMatrix:
    """Trajectories of a results table as arrays.

    ``keys``: one row per trajectory (``TRAJECTORY_KEYS`` plus attribute columns taken
    from its first row). ``values[column]``: ``float64`` ``n × width`` (width = the
    largest ``max_clicks``), forward-filled up to each trajectory's ``max_clicks`` and NaN
    after it. ``max_clicks``: ``int64`` ``n``, the axis length of each trajectory: its
    ``max_clicks``, or its last click number when model-proposed clicks go beyond it
    (all-clicks axis; see :func:`human_axis` for the human-click one).
    """

    keys: pd.DataFrame
    values: dict[str, np.ndarray]
    max_clicks: np.ndarray

    def __getitem__(self, column: str) -> np.ndarray:
        return self.values[column]


def _codes(col: pd.Series) -> tuple[np.ndarray, int]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        order = np.argsort(np.asarray([str(c) for c in cats], dtype=object), kind="stable") if len(cats) else np.arange(0)
        rank = np.empty(len(cats), dtype=np.int64)
        rank[order] = np.arange(len(cats))
        codes = col.cat.codes.to_numpy()
        return np.where(codes >= 0, rank[codes], -1), len(cats)
    codes, uniques = pd.factorize(col, sort=True)
    return codes.astype(np.int64), len(uniques)


def _raw(col: pd.Series) -> np.ndarray:
    """The column as an array whose elements are equal exactly where the values are: category codes, numbers as they
    are, other values (strings, nullable types) factorised."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy()
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "biu":
        return col.to_numpy()
    return pd.factorize(col)[0]


def _trajectory_ids(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted trajectory codes, first row of each, trajectory index of every row) over ``TRAJECTORY_KEYS``:
    ``np.unique(code, return_index=True, return_inverse=True)`` of the rows' combined key code.

    Runs write each trajectory's rows contiguously, so the keys are encoded only at the first row
    of each run of equal keys (every run holds one key tuple, and every value of a key column starts
    some run, so the codes and their ranks are those of the whole column); only when a trajectory
    spans several runs are all rows encoded and sorted.
    """
    n = len(df)
    change = np.empty(n, dtype=bool)
    change[:1] = True
    change[1:] = False
    for k in TRAJECTORY_KEYS:
        v = _raw(df[k])
        change[1:] |= v[1:] != v[:-1]
    starts = np.flatnonzero(change)
    code = np.zeros(starts.size, dtype=np.int64)
    for k in TRAJECTORY_KEYS:
        c, m = _codes(df[k].iloc[starts])
        if (c < 0).any():
            raise RClicksError(f"results table has missing values in key column {k!r}")
        if m and code.max(initial=0) > (np.iinfo(np.int64).max // max(m, 1)) - m:
            _, code = np.unique(code, return_inverse=True)
        code = code * m + c
    run = np.cumsum(change) - 1
    order = np.argsort(code, kind="stable")
    uniq = code[order]
    if uniq.size > 1 and not (uniq[1:] > uniq[:-1]).all():  # a trajectory in several runs
        return np.unique(code[run], return_index=True, return_inverse=True)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return uniq, starts[order], rank[run]


def trajectory_matrix(df: pd.DataFrame, columns: Sequence[str] = ("iou",), attrs: Sequence[str] = ()) -> TrajectoryMatrix:
    """Build a :class:`TrajectoryMatrix` of ``columns`` from a long-form results table (sorted by the keys)."""
    if df.empty:
        raise RClicksError("results table is empty: nothing to summarise")
    missing = [k for k in TRAJECTORY_KEYS + ["click", *columns, *attrs] if k not in df.columns]
    if missing:
        raise RClicksError(f"results table lacks column(s) {missing}; expected the rclicks results contract (rclicks.results.SCHEMA)")
    uniq, first, tid = _trajectory_ids(df)
    click = df["click"].to_numpy(dtype=np.int64)
    if (click < 1).any():
        raise RClicksError("results table has click numbers below 1")
    # the axis length: max_clicks, or more where model-proposed clicks came on top of the human ones
    mc = df["max_clicks"].to_numpy(dtype=np.int64)[first].copy()
    np.maximum.at(mc, tid, click)
    width = int(mc.max())
    cols = np.arange(width)
    beyond = cols[None, :] >= mc[:, None]
    out: dict[str, np.ndarray] = {}
    rev = slice(None, None, -1)  # assign in reverse so the first of duplicate rows wins
    for name in columns:
        m = np.full((uniq.size, width), np.nan)
        m[tid[rev], click[rev] - 1] = df[name].to_numpy(dtype=np.float64)[rev]
        have = ~np.isnan(m)
        idx = np.where(have, cols[None, :], 0)
        np.maximum.accumulate(idx, axis=1, out=idx)
        m = np.take_along_axis(m, idx, axis=1)
        m[beyond] = np.nan
        out[name] = m
    keys = df.iloc[first][TRAJECTORY_KEYS + list(attrs)].reset_index(drop=True)
    return TrajectoryMatrix(keys=keys, values=out, max_clicks=mc)


def human_axis(df: pd.DataFrame) -> pd.DataFrame:
    """The table on the human-click axis (PseudoClick): per trajectory and human click ``h``, the row after
    that click and the model-proposed clicks that followed it, renumbered ``click = h``.

    A table without model-proposed clicks (no ``source`` column, or all ``human``) is returned as is.
    """
    if "source" not in df.columns or not (df["source"] == "model").any():
        return df
    out = df.sort_values(TRAJECTORY_KEYS + ["click"], kind="stable")
    human = (out["source"].astype(object).fillna("human") != "model").astype(np.int64)  # null: a run before sources
    h = human.groupby([out[k] for k in TRAJECTORY_KEYS], observed=True, sort=False).cumsum()
    out = out.assign(click=h.to_numpy())
    out = out[out["click"] >= 1].drop_duplicates(TRAJECTORY_KEYS + ["click"], keep="last")
    return out.assign(source="human").reset_index(drop=True)


def noc_of(m: np.ndarray, max_clicks: np.ndarray, thr: float) -> np.ndarray:
    """``int64`` NoC@thr per row of an IoU matrix (``max_clicks`` where never reached)."""
    return _noc_reached(np.nan_to_num(m, nan=-1.0) >= thr, max_clicks)[0]


def _noc_reached(reached: np.ndarray, max_clicks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(NoC, whether reached at all) per row of a boolean ``IoU >= thr`` matrix."""
    ever = reached.any(axis=1)
    return np.where(ever, reached.argmax(axis=1) + 1, max_clicks).astype(np.int64), ever


def iou_at_of(m: np.ndarray, max_clicks: np.ndarray, k: int) -> np.ndarray:
    """IoU after click ``k`` per row (NaN where ``k > max_clicks``)."""
    if k > m.shape[1]:
        return np.full(m.shape[0], np.nan)
    return np.where(max_clicks >= k, m[:, k - 1], np.nan)


def auc_of(m: np.ndarray, max_clicks: np.ndarray, k: int | None = None) -> np.ndarray:
    """IoU-AuC@k per row (``k=None``: over each row's own ``max_clicks``); NaN where ``k > max_clicks``."""
    n, width = m.shape
    kk = max_clicks if k is None else np.full(n, int(k))
    z = np.nan_to_num(m[:, : max(1, min(int(kk.max()), width))], nan=0.0)
    trap = (z[:, :-1] + z[:, 1:]) / 2
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(trap, axis=1)], axis=1)
    kc = np.clip(kk, 1, z.shape[1])
    area = np.take_along_axis(csum, (kc - 1)[:, None], axis=1)[:, 0]
    out = np.where(kk == 1, z[:, 0], area / np.maximum(kk - 1, 1))
    return np.where(kk <= max_clicks, out, np.nan)


def trajectory_metrics(df: pd.DataFrame, thresholds: Sequence[float] = THRESHOLDS, at: Sequence[int] = (1, 5, 10)) -> pd.DataFrame:
    """One row per trajectory: ``noc{t}``, ``fail{t}`` (NoC == max_clicks), ``never{t}``, ``iou@k`` for ``k`` in ``at``,
    AuCs, BIoU, and ``best@1`` (best-of-K IoU after click 1, from ``best_iou``; NaN without candidates)."""
    columns = ("iou", "biou", "best_iou") if "best_iou" in df.columns else ("iou", "biou")
    return matrix_metrics(trajectory_matrix(df, columns), thresholds, at)


def matrix_metrics(tm: TrajectoryMatrix, thresholds: Sequence[float] = THRESHOLDS, at: Sequence[int] = (1, 5, 10)) -> pd.DataFrame:
    """:func:`trajectory_metrics` of an already built matrix (column ``iou``, and ``biou`` for the BIoU columns,
    NaN without it); the keys and attributes are kept."""
    m, b, mc = tm["iou"], tm.values.get("biou"), tm.max_clicks
    out = tm.keys.copy()
    filled = np.nan_to_num(m, nan=-1.0)  # as noc_of: NaN (after max_clicks) never reaches a threshold
    for thr in thresholds:
        n, ever = _noc_reached(filled >= thr, mc)
        out[f"noc{tag(thr)}"] = n
        out[f"fail{tag(thr)}"] = n >= mc
        out[f"never{tag(thr)}"] = ~ever
    for k in sorted(set(at) | {1, 5, 10}):
        out[f"iou@{k}"] = iou_at_of(m, mc, k)
    out["iou@last"] = iou_at_of(m, mc, 1) if m.shape[1] == 0 else np.take_along_axis(m, (mc - 1)[:, None], axis=1)[:, 0]
    out["auc@10"] = auc_of(m, mc, 10)
    out["auc"] = auc_of(m, mc, None)
    out["biou@1"] = b[:, 0] if b is not None else np.nan
    out["bauc@10"] = auc_of(b, mc, 10) if b is not None else np.nan
    out["best@1"] = tm["best_iou"][:, 0] if "best_iou" in tm.values else np.nan
    return out


def summarize(df: pd.DataFrame, thresholds: Sequence[float] = THRESHOLDS) -> pd.DataFrame:
    """The standard protocol summary per (model, dataset, clicker, policy, max_clicks).

    Columns: ``n`` trajectories; per threshold ``t``: ``NoC@t`` (mean), ``NoF@t`` (count
    of NoC == max_clicks) and ``NoF@t_never`` (count never reaching t); ``mIoU@1/5/10``,
    ``IoU-AuC@10``, ``IoU-AuC`` (all clicks), ``BIoU@1``, ``BIoU-AuC@10``. A metric needing
    more clicks than ``max_clicks`` is NaN.
    """
    return summarize_trajectories(trajectory_metrics(df, thresholds), thresholds)


def summarize_trajectories(per: pd.DataFrame, thresholds: Sequence[float] = THRESHOLDS) -> pd.DataFrame:
    """:func:`summarize` of per-trajectory metrics (:func:`trajectory_metrics` / :func:`matrix_metrics` rows).

    The group-by half of ``summarize``, so callers that build the per-trajectory rows
    another way (e.g. shard by shard, ``rclicks_leaderboard.table.build_from_store``) get the
    same numbers from the same code.
    """
    g = per.groupby(SUMMARY_KEYS, observed=True, sort=True)
    cols: dict[str, pd.Series] = {"n": g.size()}
    for thr in thresholds:
        t = tag(thr)
        cols[f"NoC@{t}"] = g[f"noc{t}"].mean()
    for thr in thresholds:
        t = tag(thr)
        cols[f"NoF@{t}"] = g[f"fail{t}"].sum()
        cols[f"NoF@{t}_never"] = g[f"never{t}"].sum()
    for k in (1, 5, 10):
        cols[f"mIoU@{k}"] = g[f"iou@{k}"].mean()
    cols["IoU-AuC@10"] = g["auc@10"].mean()
    cols["IoU-AuC"] = g["auc"].mean()
    cols["BIoU@1"] = g["biou@1"].mean()
    cols["BIoU-AuC@10"] = g["bauc@10"].mean()
    amb = ambiguity(per)
    cols["Best-of-K IoU@1"], cols["Ambiguity gap@1"] = amb["Best-of-K IoU@1"], amb["Ambiguity gap@1"]
    return pd.DataFrame(cols).reset_index()


def ambiguity(per: pd.DataFrame, keys: Sequence[str] = SUMMARY_KEYS) -> pd.DataFrame:
    """First-click ambiguity per ``keys`` from a :func:`trajectory_metrics` table: ``Best-of-K IoU@1``,
    ``Chosen IoU@1`` and ``Ambiguity gap@1`` (means over the trajectories that have candidates; NaN if none).

    Pass ``keys=SUMMARY_KEYS + ["instance"]`` for the per-instance values.
    """
    have = per[per["best@1"].notna()]
    g = have.groupby(list(keys), observed=True, sort=True)
    out = pd.DataFrame({"Best-of-K IoU@1": g["best@1"].mean(), "Chosen IoU@1": g["iou@1"].mean()})
    out["Ambiguity gap@1"] = out["Best-of-K IoU@1"] - out["Chosen IoU@1"]
    full = per.groupby(list(keys), observed=True, sort=True).size().index
    return out.reindex(full)


def per_click_curve(df: pd.DataFrame, metrics: Sequence[str] = ("iou", "biou")) -> pd.DataFrame:
    """Mean of each per-click metric after each click, per (model, dataset, clicker, policy, max_clicks), long form.

    ``metrics``: ``iou``, ``biou`` or any metric of :data:`rclicks.metrics.mask.COUNT_METRICS`
    (derived from the rows' confusion counts).
    """
    from rclicks.metrics.mask import COUNT_METRICS, metric_from_counts

    df = df.copy() if any(m in COUNT_METRICS and m not in df.columns for m in metrics) else df
    for name in metrics:
        if name not in df.columns:
            if name not in COUNT_METRICS:
                raise RClicksError(f"unknown per-click metric {name!r}; known: iou, biou, {', '.join(COUNT_METRICS)}")
            df[name] = metric_from_counts(name, df["tp"], df["fp"], df["fn"], df["tn"])
    tm = trajectory_matrix(df, tuple(metrics))
    keys = tm.keys[SUMMARY_KEYS]
    rows = []
    for gkey, idx in keys.groupby(SUMMARY_KEYS, observed=True, sort=True).groups.items():
        idx = np.asarray(idx)
        width = int(tm.max_clicks[idx].max())
        with warnings.catch_warnings():  # a click no trajectory has a value at (heatmap rows' BIoU) is NaN, as meant
            warnings.simplefilter("ignore", RuntimeWarning)
            means = {name: np.nanmean(tm[name][idx, :width], axis=0) for name in metrics}
        for c in range(width):
            rows.append({**dict(zip(SUMMARY_KEYS, gkey)), "click": c + 1, **{n: float(v[c]) for n, v in means.items()}})
    return pd.DataFrame(rows)
