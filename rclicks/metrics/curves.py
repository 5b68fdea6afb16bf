"""Per-trajectory protocol metrics (NoC, NoF, mIoU@k, IoU-AuC@k) and table summaries.

A trajectory's IoU sequence ``ious[k-1]`` is the IoU after click ``k``. Sequences that
stopped early (target IoU reached) are padded with their last value up to ``max_clicks``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError

TRAJECTORY_KEYS = ["model", "dataset", "clicker", "policy", "seed", "instance"]
SUMMARY_KEYS = ["model", "dataset", "clicker", "policy"]


def _pad(ious: Sequence[float], max_clicks: int) -> np.ndarray:
    arr = np.asarray(ious, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise RClicksError("an IoU sequence must be a non-empty 1-D list")
    if arr.size >= max_clicks:
        return arr[:max_clicks]
    return np.concatenate([arr, np.full(max_clicks - arr.size, arr[-1])])


def noc(ious: Sequence[float], thr: float, max_clicks: int = 20) -> int:
    """Number of clicks: the first click ``k`` (1-based) with IoU ≥ ``thr``, else ``max_clicks``."""
    reached = _pad(ious, max_clicks) >= thr
    return int(np.argmax(reached)) + 1 if reached.any() else max_clicks


def failed(ious: Sequence[float], thr: float, max_clicks: int = 20) -> bool:
    """True when the trajectory never reaches ``thr`` within ``max_clicks`` (our NoF counts these)."""
    return not bool((_pad(ious, max_clicks) >= thr).any())


def failed_ritm(ious: Sequence[float], thr: float, max_clicks: int = 20) -> bool:
    """RITM's failure rule: ``NoC ≥ max_clicks``, which also counts reaching ``thr`` exactly on the last click."""
    return noc(ious, thr, max_clicks) >= max_clicks


def miou_at(ious: Sequence[float], k: int) -> float:
    """IoU after click ``k`` (1-based); the last IoU when the trajectory stopped earlier."""
    return float(_pad(ious, k)[k - 1])


def iou_auc(ious: Sequence[float], k: int = 10) -> float:
    """IoU-AuC@k: trapezoid area under IoU-per-click over clicks 1..k, divided by ``k - 1`` (in [0, 1]).

    For ``k = 1`` it is the first IoU. (TETRIS, Moskalenko et al., AAAI 2024.)
    """
    arr = _pad(ious, k)
    if k == 1:
        return float(arr[0])
    return float(((arr[:-1] + arr[1:]) / 2).sum() / (k - 1))


def iou_matrix(df: pd.DataFrame, column: str = "iou", max_clicks: int | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Trajectories of a results table as a matrix: (keys DataFrame, ``n_traj × max_clicks`` array).

    Missing trailing clicks are forward-filled with the trajectory's last value.
    """
    if df.empty:
        raise RClicksError("results table is empty: nothing to summarise")
    keys = [k for k in TRAJECTORY_KEYS if k in df.columns]
    max_clicks = int(max_clicks or df["click"].max())
    wide = df.pivot_table(index=keys, columns="click", values=column, aggfunc="first", observed=True)
    wide = wide.reindex(columns=range(1, max_clicks + 1)).ffill(axis=1)
    return wide.index.to_frame(index=False), wide.to_numpy(dtype=np.float64)


def trajectory_metrics(df: pd.DataFrame, max_clicks: int | None = None) -> pd.DataFrame:
    """One row per trajectory: NoC@85/90, failed@85/90 (ours and RITM's), IoU@1/5/10, AuC@10."""
    max_clicks = int(max_clicks or df["click"].max())
    keys, m = iou_matrix(df, "iou", max_clicks)
    out = keys.copy()
    for thr, tag in ((0.85, "85"), (0.90, "90")):
        reached = m >= thr
        any_ = reached.any(axis=1)
        noc_ = np.where(any_, reached.argmax(axis=1) + 1, max_clicks)
        out[f"noc{tag}"] = noc_
        out[f"fail{tag}"] = ~any_
        out[f"fail{tag}_ritm"] = noc_ >= max_clicks
    for k in (1, 5, 10):
        out[f"iou@{k}"] = m[:, min(k, max_clicks) - 1]
    k = min(10, max_clicks)
    out["auc@10"] = m[:, 0] if k == 1 else ((m[:, : k - 1] + m[:, 1:k]) / 2).sum(axis=1) / (k - 1)
    _, b = iou_matrix(df, "biou", max_clicks)
    out["biou@1"] = b[:, 0]
    out["bauc@10"] = b[:, 0] if k == 1 else ((b[:, : k - 1] + b[:, 1:k]) / 2).sum(axis=1) / (k - 1)
    return out


def summarize(df: pd.DataFrame, max_clicks: int | None = None) -> pd.DataFrame:
    """The standard protocol summary per (model, dataset, clicker, policy).

    Columns: ``n`` trajectories, ``NoC@85``, ``NoC@90`` (means), ``NoF@85``, ``NoF@90``
    (trajectories never reaching the threshold), ``NoF@85_ritm``/``NoF@90_ritm`` (RITM's
    count of NoC == max_clicks), ``mIoU@1/5/10``, ``IoU-AuC@10``, ``BIoU@1``, ``BIoU-AuC@10``.
    """
    per = trajectory_metrics(df, max_clicks)
    keys = [k for k in SUMMARY_KEYS if k in per.columns]
    g = per.groupby(keys, observed=True, sort=True)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "NoC@85": g["noc85"].mean(),
            "NoC@90": g["noc90"].mean(),
            "NoF@85": g["fail85"].sum(),
            "NoF@90": g["fail90"].sum(),
            "NoF@85_ritm": g["fail85_ritm"].sum(),
            "NoF@90_ritm": g["fail90_ritm"].sum(),
            "mIoU@1": g["iou@1"].mean(),
            "mIoU@5": g["iou@5"].mean(),
            "mIoU@10": g["iou@10"].mean(),
            "IoU-AuC@10": g["auc@10"].mean(),
            "BIoU@1": g["biou@1"].mean(),
            "BIoU-AuC@10": g["bauc@10"].mean(),
        }
    )
    return out.reset_index()


def per_click_curve(df: pd.DataFrame, max_clicks: int | None = None) -> pd.DataFrame:
    """Mean IoU and BIoU after each click, per (model, dataset, clicker, policy), long form."""
    max_clicks = int(max_clicks or df["click"].max())
    keys, m = iou_matrix(df, "iou", max_clicks)
    _, b = iou_matrix(df, "biou", max_clicks)
    group = [k for k in SUMMARY_KEYS if k in keys.columns]
    rows = []
    for gkey, idx in keys.groupby(group, observed=True, sort=True).groups.items():
        gkey = gkey if isinstance(gkey, tuple) else (gkey,)
        mi, bi = m[idx].mean(axis=0), b[idx].mean(axis=0)
        for c in range(max_clicks):
            rows.append({**dict(zip(group, gkey)), "click": c + 1, "iou": mi[c], "biou": bi[c]})
    return pd.DataFrame(rows)
