"""Per-trajectory rows and ``s/click`` means of a long-form results table: what the leaderboard table is built from.

Both the in-memory path (``rclicks_leaderboard.table.build_table``) and the store scan
(``rclicks_leaderboard.scan``, batch by batch) call these, so the two give the same numbers
from the same code; the metrics themselves are the metrics layer's (``rclicks.metrics``).
"""

from __future__ import annotations

import pandas as pd

#: One leaderboard row per these keys (and a column group per dataset).
ROW_KEYS = ["model", "policy", "max_clicks"]


def trajectory_rows(df: pd.DataFrame) -> pd.DataFrame:
    """One row per trajectory of a prepared long-form table: everything the table needs, from the metrics layer.

    ``rclicks.metrics.curves.matrix_metrics`` (NoC/NoF/IoU@k/AuC per trajectory, the rows
    ``summarize`` aggregates) plus ``rclicks.metrics.benchmark.matrix_table``'s ``noc``,
    ``fail``, ``iou1`` at 0.9 (the rows ``rclicks_table`` aggregates), on one matrix.
    """
    from rclicks.metrics.benchmark import matrix_table
    from rclicks.metrics.curves import matrix_metrics, trajectory_matrix

    # the table shows no Boundary-IoU column: biou is not read (its per-trajectory columns are NaN)
    columns = ("iou", "best_iou") if "best_iou" in df.columns else ("iou",)
    tm = trajectory_matrix(df, columns, attrs=("group", "clickmap"))
    per = matrix_metrics(tm)
    rc = matrix_table(tm, thr=0.9)
    per["noc"], per["fail"], per["iou1"] = rc["noc"].to_numpy(), rc["fail"].to_numpy(), rc["iou1"].to_numpy()
    return per


def time_means(df: pd.DataFrame) -> pd.Series:
    """Mean ``time_s`` over every row per (model, policy, max_clicks): the ``s/click`` column (NaN times skipped).

    Sums run in row order within each group (``np.bincount``), so a group's mean does not
    depend on the other rows of the table (a pandas group-by mean can differ in the last bit).
    """
    import numpy as np

    codes, labels = [], []
    for k in ROW_KEYS:  # integer codes per key; labels no row uses are dropped below (``seen``)
        c, u = _key_codes(df[k])
        codes.append(c)
        labels.append(u)
    ids = codes[0]
    for c, u in zip(codes[1:], labels[1:]):
        ids = ids * len(u) + c
    t = df["time_s"].to_numpy(dtype=np.float64)
    have = ~np.isnan(t)
    size = int(np.prod([len(u) for u in labels]))
    total = np.bincount(ids, weights=np.where(have, t, 0.0), minlength=size)
    count = np.bincount(ids, weights=have, minlength=size)
    seen = np.flatnonzero(np.bincount(ids, minlength=size))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = total[seen] / count[seen]
    parts = np.unravel_index(seen, [len(u) for u in labels])
    index = pd.MultiIndex.from_arrays([pd.Index(u[i]).astype(str) if k != "max_clicks" else pd.Index(u[i], dtype=np.int64)
                                       for k, u, i in zip(ROW_KEYS, labels, parts)], names=ROW_KEYS)
    return pd.Series(means, index=index, name="time_s")


def _key_codes(col: pd.Series):
    """(``int64`` code per row, label per code) of a key column without hashing its rows where it can:
    category codes, or offsets into a small integer range; otherwise ``pd.factorize``."""
    import numpy as np

    if isinstance(col.dtype, pd.CategoricalDtype) and not col.hasnans:
        return col.cat.codes.to_numpy().astype(np.int64), np.asarray(col.cat.categories)
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu" and len(col):
        v = col.to_numpy()
        lo, hi = int(v.min()), int(v.max())
        if hi - lo < 1 << 16:
            return (v - lo).astype(np.int64), np.arange(lo, hi + 1, dtype=v.dtype)
    c, u = pd.factorize(col)
    return c.astype(np.int64), np.asarray(u)
