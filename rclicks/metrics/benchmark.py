"""RClicks benchmark metrics over the long-form results table (Antonov et al., NeurIPS 2024).

Trajectories run by the ``baseline`` clicker and by the clicking groups ``g1``..``g10``
(``rclicks.clickers.clickability``; a non-default click map is recorded as ``g3@saliency``)
are summarised per (model, dataset, policy, click map):

* ``Base NoC@t``: mean NoC of the baseline trajectories;
* ``Sample NoC@t`` ± ``std``: the mean over the ten groups of each group's mean NoC, and
  the (population, ddof = 0) std over the ten group means;
* ``ΔSB = (Sample NoC − Base NoC) / Base NoC`` and ``ΔGR = (NoC(G1) − NoC(G10)) / NoC(G10)``;
* the same for NoF (failures: trajectories never reaching ``t``; the per-group value is
  the count, Sample NoF the mean count over groups; relative deltas, NaN when dividing by 0);
* for IoU@k the deltas are differences: ``ΔSB = Sample − Base``, ``ΔGR = IoU(G1) − IoU(G10)``;
* ``NSR``: per instance ``std / mean`` of IoU@k over all group trajectories of that
  instance (noise-to-signal ratio, ddof = 0); per dataset the mean over instances.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError
from rclicks.metrics.curves import iou_matrix

_GROUP = re.compile(r"^g(\d+)(?:@(.+))?$")
DEFAULT_CLICKMAP = "distance"


def parse_group(clicker: str) -> tuple[int, str] | None:
    """``"g3"`` → ``(3, "distance")``, ``"g3@saliency"`` → ``(3, "saliency")``; None for other clickers."""
    m = _GROUP.match(str(clicker))
    if not m or not 1 <= int(m.group(1)) <= 10:
        return None
    return int(m.group(1)), m.group(2) or DEFAULT_CLICKMAP


def trajectory_table(df: pd.DataFrame, thr: float = 0.9, k: int = 5, max_clicks: int | None = None) -> pd.DataFrame:
    """One row per trajectory with ``noc``, ``fail`` (never reaches ``thr``), ``iou_k`` (IoU after click ``k``)."""
    max_clicks = int(max_clicks or df["click"].max())
    keys, m = iou_matrix(df, "iou", max(max_clicks, k))
    m_noc = m[:, :max_clicks]
    reached = m_noc >= thr
    any_ = reached.any(axis=1)
    out = keys.copy()
    out["noc"] = np.where(any_, reached.argmax(axis=1) + 1, max_clicks).astype(np.int64)
    out["fail"] = ~any_
    out["iou_k"] = m[:, k - 1]
    return out


def _rel(a: float, b: float) -> float:
    return float((a - b) / b) if b != 0 else float("nan")


def groups_summary(df: pd.DataFrame, thr: float = 0.9, k: int = 5, max_clicks: int | None = None) -> pd.DataFrame:
    """The RClicks table per (model, dataset, policy, clickmap); see the module docstring for the formulas.

    Needs baseline and all ten groups for a row; combinations missing any of them raise
    RClicksError naming the missing clickers. Columns use ``t = round(100·thr)``.
    """
    if df.empty:
        raise RClicksError("results table is empty: nothing to summarise")
    per = trajectory_table(df, thr, k, max_clicks)
    parsed = per["clicker"].astype(str).map(parse_group)
    per["group"] = parsed.map(lambda p: p[0] if p else 0)
    per["clickmap"] = parsed.map(lambda p: p[1] if p else None)
    base = per[per["clicker"].astype(str) == "baseline"]
    groups = per[per["group"] > 0]
    if groups.empty:
        raise RClicksError("results table has no clicking-group trajectories (clickers g1..g10); run --clicker groups")
    t = int(round(100 * thr))
    outer = [c for c in ("model", "dataset", "policy") if c in per.columns]
    rows = []
    for key, gdf in groups.groupby(outer + ["clickmap"], observed=True, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        ident = dict(zip(outer + ["clickmap"], key))
        bsel = base
        for c in outer:
            bsel = bsel[bsel[c] == ident[c]]
        present = set(gdf["group"].unique())
        missing = [f"g{i}" for i in range(1, 11) if i not in present] + ([] if len(bsel) else ["baseline"])
        if missing:
            raise RClicksError(f"results for {ident}: missing clicker(s) {missing}; the groups summary needs baseline and g1..g10")
        per_group = gdf.groupby("group").agg(noc=("noc", "mean"), nof=("fail", "sum"), iou=("iou_k", "mean"))
        per_group = per_group.reindex(range(1, 11))
        b_noc, b_nof, b_iou = float(bsel["noc"].mean()), float(bsel["fail"].sum()), float(bsel["iou_k"].mean())
        s_noc, s_nof, s_iou = (float(per_group[c].mean()) for c in ("noc", "nof", "iou"))
        g1, g10 = per_group.loc[1], per_group.loc[10]
        inst = instance_nsr(gdf, k=None)
        rows.append(
            {
                **ident,
                "instances": int(gdf["instance"].nunique()),
                f"Base NoC@{t}": b_noc,
                f"Sample NoC@{t}": s_noc,
                f"Sample NoC@{t} std": float(per_group["noc"].std(ddof=0)),
                f"ΔSB NoC@{t}": _rel(s_noc, b_noc),
                f"ΔGR NoC@{t}": _rel(float(g1["noc"]), float(g10["noc"])),
                f"Base NoF@{t}": b_nof,
                f"Sample NoF@{t}": s_nof,
                f"Sample NoF@{t} std": float(per_group["nof"].std(ddof=0)),
                f"ΔSB NoF@{t}": _rel(s_nof, b_nof),
                f"ΔGR NoF@{t}": _rel(float(g1["nof"]), float(g10["nof"])),
                f"Base IoU@{k}": b_iou,
                f"Sample IoU@{k}": s_iou,
                f"Sample IoU@{k} std": float(per_group["iou"].std(ddof=0)),
                f"ΔSB IoU@{k}": s_iou - b_iou,
                f"ΔGR IoU@{k}": float(g1["iou"]) - float(g10["iou"]),
                f"NSR IoU@{k}": float(inst["nsr"].mean()),
            }
        )
    return pd.DataFrame(rows)


def instance_nsr(df: pd.DataFrame, k: int | None = 1, max_clicks: int | None = None) -> pd.DataFrame:
    """Per-instance noise-to-signal ratio ``std / mean`` (ddof = 0) of IoU@k over its clicking-group trajectories.

    ``df``: a results table (``k`` given) or a ``trajectory_table`` (``k=None``, uses its
    ``iou_k``). Returns columns (model, dataset, policy, clickmap, instance, mean, std, nsr, n).
    NSR is NaN when the mean IoU is 0.
    """
    if k is not None:
        per = trajectory_table(df, 0.9, k, max_clicks)
        parsed = per["clicker"].astype(str).map(parse_group)
        per = per[parsed.notna()].copy()
        per["clickmap"] = parsed[parsed.notna()].map(lambda p: p[1])
    else:
        per = df
    keys = [c for c in ("model", "dataset", "policy", "clickmap", "instance") if c in per.columns]
    g = per.groupby(keys, observed=True, sort=True)["iou_k"]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0), "n": g.size()}).reset_index()
    out["nsr"] = np.where(out["mean"] > 0, out["std"] / out["mean"].where(out["mean"] > 0, 1.0), np.nan)
    return out


def dataset_nsr(df: pd.DataFrame, k: int = 1, max_clicks: int | None = None) -> pd.DataFrame:
    """Per-dataset NSR: the mean of the per-instance NSR (``instance_nsr``) over the dataset's instances."""
    inst = instance_nsr(df, k, max_clicks)
    keys = [c for c in ("model", "dataset", "policy", "clickmap") if c in inst.columns]
    return inst.groupby(keys, observed=True, sort=True).agg(nsr=("nsr", "mean"), instances=("nsr", "size")).reset_index()


def groups_report(df: pd.DataFrame, thr: float = 0.9, k: int = 5, nsr_k: int = 1, max_clicks: int | None = None) -> str:
    """Printable RClicks report: the groups table (Sample values as ``mean ± std``), per-dataset and per-instance NSR of IoU@``nsr_k``."""
    s = groups_summary(df, thr, k, max_clicks)
    t = int(round(100 * thr))
    keys = [c for c in ("model", "dataset", "policy", "clickmap") if c in s.columns]
    view = s[keys + ["instances"]].copy()
    view[f"Base NoC@{t}"] = s[f"Base NoC@{t}"].map("{:.3f}".format)
    view[f"Sample NoC@{t}"] = [f"{m:.3f} ± {d:.3f}" for m, d in zip(s[f"Sample NoC@{t}"], s[f"Sample NoC@{t} std"])]
    view[f"ΔSB NoC@{t}"] = s[f"ΔSB NoC@{t}"].map("{:+.1%}".format)
    view[f"ΔGR NoC@{t}"] = s[f"ΔGR NoC@{t}"].map("{:+.1%}".format)
    view[f"Base NoF@{t}"] = s[f"Base NoF@{t}"].map("{:.0f}".format)
    view[f"Sample NoF@{t}"] = [f"{m:.1f} ± {d:.1f}" for m, d in zip(s[f"Sample NoF@{t}"], s[f"Sample NoF@{t} std"])]
    view[f"ΔSB NoF@{t}"] = s[f"ΔSB NoF@{t}"].map("{:+.1%}".format)
    view[f"ΔGR NoF@{t}"] = s[f"ΔGR NoF@{t}"].map("{:+.1%}".format)
    view[f"Base IoU@{k}"] = s[f"Base IoU@{k}"].map("{:.4f}".format)
    view[f"Sample IoU@{k}"] = [f"{m:.4f} ± {d:.4f}" for m, d in zip(s[f"Sample IoU@{k}"], s[f"Sample IoU@{k} std"])]
    view[f"ΔSB IoU@{k}"] = s[f"ΔSB IoU@{k}"].map("{:+.4f}".format)
    view[f"ΔGR IoU@{k}"] = s[f"ΔGR IoU@{k}"].map("{:+.4f}".format)
    inst = instance_nsr(df, nsr_k, max_clicks)
    ds = dataset_nsr(df, nsr_k, max_clicks)
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.max_rows", 500, "display.precision", 4):
        parts = [
            "RClicks clicking groups (Sample = mean ± std over G1..G10; ΔSB = (Sample − Base)/Base, "
            "ΔGR = (G1 − G10)/G10; IoU deltas are differences):",
            view.T.to_string(header=False) if len(view) == 1 else view.to_string(index=False),
            f"\nper-dataset NSR (std/mean of IoU@{nsr_k} over group trajectories, mean over instances):",
            ds.to_string(index=False),
            f"\nper-instance NSR of IoU@{nsr_k}:",
            inst.to_string(index=False),
        ]
    return "\n".join(parts)
