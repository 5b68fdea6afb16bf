"""First-click robustness from heatmap rows: how much the position of the first click matters.

Heatmap rows (``rclicks.attacks.heatmap.heatmap_rows``) are one-click trajectories of
clicker ``heatmap``, one per evaluated position; the lattice that chose the positions is
the rows' ``clickmap`` (``grid stride=16``, ``adaptive stride=2 tol=0.02``). Per instance
(:func:`heatmap_summary`): positions, min, max, ``spread = max − min``, mean,
``frac_below_0.5`` over the rows, and the worst and best position (the first in row-major
order ``(y, x)`` on ties, as ``HeatmapResult.summary``). Per model and dataset
(:func:`first_click_spread`): the **first-click spread**, the mean over instances of the
per-instance spread, with the mean worst and best first-click IoU.

The adversarial trajectories' summary is here too (:func:`attack_summary`): IoU-Min, IoU-Max
and IoU-D per instance from the ``adv_min`` / ``adv_max`` / ``baseline`` rows of
``rclicks.attacks.adversarial.attack_rows``.
"""

from __future__ import annotations

import pandas as pd

from rclicks.errors import RClicksError

#: The clicker name of heatmap rows (``rclicks.attacks.heatmap.HEATMAP_CLICKER``).
HEATMAP_CLICKER = "heatmap"
#: One heatmap: a model's map of one instance on one lattice (``clickmap``).
MAP_KEYS = ["model", "dataset", "policy", "clickmap", "instance"]
#: The first-click spread is averaged over instances per these keys.
SPREAD_KEYS = ["model", "dataset", "policy", "clickmap"]


def heatmap_positions(df: pd.DataFrame) -> pd.DataFrame:
    """The heatmap rows of a results table (clicker ``heatmap``, click 1), sorted by map and position ``(y, x)``."""
    missing = [c for c in MAP_KEYS + ["clicker", "click", "x", "y", "iou"] if c not in df.columns]
    if missing:
        raise RClicksError(f"results table lacks column(s) {missing}; expected the rclicks results contract (rclicks.results.SCHEMA)")
    rows = df[(df["clicker"] == HEATMAP_CLICKER) & (df["click"] == 1)]
    if rows.empty:
        raise RClicksError("results table has no heatmap rows (clicker 'heatmap'); produce them with rclicks.attacks.heatmap.heatmap_rows")
    keys = {k: rows[k].astype(str) for k in MAP_KEYS}
    return rows.assign(**keys).sort_values(MAP_KEYS + ["y", "x"], kind="stable", ignore_index=True)


def heatmap_summary(df: pd.DataFrame) -> pd.DataFrame:
    """One row per heatmap (``MAP_KEYS``): ``positions``, ``min``, ``max``, ``spread``, ``mean``, ``frac_below_0.5``,
    ``worst_x``, ``worst_y``, ``best_x``, ``best_y`` of the first-click IoU over its positions."""
    rows = heatmap_positions(df)
    g = rows.groupby(MAP_KEYS, sort=True, observed=True)["iou"]
    lo, hi = rows.loc[g.idxmin()], rows.loc[g.idxmax()]  # idxmin/idxmax: the first of ties, in (y, x) order
    out = pd.DataFrame({"positions": g.size(), "min": g.min(), "max": g.max(), "mean": g.mean(),
                        "frac_below_0.5": rows["iou"].lt(0.5).groupby([rows[k] for k in MAP_KEYS], sort=True).mean()})
    out["spread"] = out["max"] - out["min"]
    out["worst_x"], out["worst_y"] = lo["x"].to_numpy(), lo["y"].to_numpy()
    out["best_x"], out["best_y"] = hi["x"].to_numpy(), hi["y"].to_numpy()
    cols = ["positions", "min", "max", "spread", "mean", "frac_below_0.5", "worst_x", "worst_y", "best_x", "best_y"]
    return out[cols].reset_index()


def first_click_spread(df: pd.DataFrame) -> pd.DataFrame:
    """Per (model, dataset, policy, clickmap): ``instances``, ``positions`` (evaluated, over all instances),
    ``First-click spread`` (mean over instances of max − min first-click IoU over the heatmap's positions),
    ``First-click worst IoU`` and ``First-click best IoU`` (means of the per-instance min and max)."""
    per = heatmap_summary(df)
    g = per.groupby(SPREAD_KEYS, sort=True, observed=True)
    return pd.DataFrame({"instances": g.size(), "positions": g["positions"].sum(), "First-click spread": g["spread"].mean(),
                         "First-click worst IoU": g["min"].mean(), "First-click best IoU": g["max"].mean()}).reset_index()


def attack_summary(df, max_clicks: int | None = None):
    """Per instance: IoU-Min, IoU-Max, IoU-D = Max − Min (IoU-AuC@k of ``adv_min``/``adv_max``), the same on Boundary IoU, and the baseline's AuCs.

    ``df``: long-form rows with clickers ``adv_min``, ``adv_max``, ``baseline``;
    ``k`` = ``max_clicks`` (default: the rows' recorded ``max_clicks``). Returns a pandas DataFrame.
    """
    from rclicks.metrics.curves import iou_auc

    need = {"adv_min", "adv_max", "baseline"}
    missing = need - set(df["clicker"].unique())
    if missing:
        raise RClicksError(f"attack results lack clicker(s) {sorted(missing)}; run `rclicks attack` to produce them")
    if max_clicks is None and "max_clicks" not in df.columns:
        raise RClicksError("attack results lack the max_clicks column; pass max_clicks or regenerate them with `rclicks attack`")
    keys = [c for c in ("model", "dataset", "instance") if c in df.columns]
    out = []
    for key, g in df.groupby(keys, sort=True):
        auc = {}
        for clicker, t in g.groupby("clicker"):
            t = t.sort_values("click")
            run = int(t["max_clicks"].iloc[0]) if "max_clicks" in t else int(max_clicks)
            k = int(max_clicks or run)
            auc[clicker] = (iou_auc(t["iou"].tolist(), k, run), iou_auc(t["biou"].tolist(), k, run))
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row.update({
            "IoU-Min": auc["adv_min"][0], "IoU-Max": auc["adv_max"][0], "IoU-D": auc["adv_max"][0] - auc["adv_min"][0],
            "BIoU-Min": auc["adv_min"][1], "BIoU-Max": auc["adv_max"][1], "BIoU-D": auc["adv_max"][1] - auc["adv_min"][1],
            "Baseline IoU-AuC": auc["baseline"][0], "Baseline BIoU-AuC": auc["baseline"][1],
        })
        out.append(row)
    return pd.DataFrame(out)
