"""RClicks benchmark metrics (Antonov et al., NeurIPS 2024), exactly as the authors' notebook computes them.

Reference: ``compute_benchmark_metrics.ipynb`` of ``emb-ai/rclicks`` (the paper's Tab. 4
and supplementary Tabs. 9–12). Inputs are trajectories of the ``baseline`` clicker and
of the ten clicking groups (``group`` 1..10 with one ``clickmap``), all run with the same
``max_clicks`` (the paper: 20). Per instance ``i`` and group ``g``: ``NoC[g, i]`` (NoC@t)
and ``A[g, i]`` = IoU-AuC over all ``max_clicks`` clicks (``np.trapz(ious) / 19`` for 20
clicks; the paper's "IoU"). ``F[g]`` counts instances with ``NoC[g, i] == max_clicks``.
Per (model, dataset, policy, clickmap, max_clicks, seed):

* ``Sample NoC@t`` = mean_i mean_g NoC[g, i]; ``± std`` = mean_i std_g NoC[g, i] (ddof 0);
* ``ΔSB NoC@t (%)`` = 100 · mean_i (mean_g NoC[g, i] − NoC_base[i]) / NoC_base[i];
* ``ΔGR NoC@t (%)`` = 100 · mean_i (NoC[1, i] − NoC[10, i]) / NoC[10, i];
* ``ΔHH NoC@t (%)`` = 100 · mean over g ≤ 5 and i of (NoC[g, i] − NoC[g+5, i]) / NoC[g+5, i] (H1 − H2);
* ``Sample NoF@t`` = mean_g F[g] ± std_g F[g]; ``ΔSB NoF@t`` = mean_g F[g] − F_base;
  ``ΔGR NoF@t`` = F[1] − F[10]; ``ΔHH NoF@t`` = mean_{g ≤ 5} (F[g] − F[g+5]) (plain differences);
* ``Sample IoU (%)`` = 100 · mean_i mean_g A[g, i] ± 100 · mean_i std_g A[g, i]; ``Base IoU (%)``;
  ``ΔSB IoU (%)``, ``ΔGR IoU (%)``, ``ΔHH IoU (%)``: 100 × the mean over instances of the differences;
* ``NSR (%)`` = 100 · mean_i std_g A[g, i] / mean_g A[g, i], on ``float32`` AuCs as in the notebook;
* ``Base IoU@1 (%)`` = 100 · mean_i IoU after the first baseline click.

Other quantities with their own names: ``instance_nsr`` / ``dataset_nsr`` give the
first-click NSR (``NSR@1``: std/mean over the ten groups of the IoU after click 1), the
dataset-difficulty measure of the paper's Fig. 7 when real clicks are not available.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from rclicks.errors import RClicksError
from rclicks.metrics.curves import TrajectoryMatrix, auc_of, iou_at_of, noc_of, tag, trajectory_matrix

_GROUP = re.compile(r"^g(\d+)(?:@(.+))?$")
DEFAULT_CLICKMAP = "distance"
#: The keys one RClicks row is computed for.
RCLICKS_KEYS = ["model", "dataset", "policy", "clickmap", "max_clicks", "seed"]
_BASE_KEYS = ["model", "dataset", "policy", "max_clicks", "seed"]


def parse_group(clicker: str) -> tuple[int, str] | None:
    """``"g3"`` → ``(3, "distance")``, ``"g3@saliency"`` → ``(3, "saliency")``; None for other clickers."""
    m = _GROUP.match(str(clicker))
    if not m or not 1 <= int(m.group(1)) <= 10:
        return None
    return int(m.group(1)), m.group(2) or DEFAULT_CLICKMAP


def trajectory_table(df: pd.DataFrame, thr: float = 0.9) -> pd.DataFrame:
    """One row per trajectory: keys, ``group``, ``clickmap``, ``noc`` (NoC@thr), ``fail`` (NoC == max_clicks), ``auc`` (all clicks), ``iou1``."""
    return matrix_table(trajectory_matrix(df, ("iou",), attrs=("group", "clickmap")), thr)


def matrix_table(tm: TrajectoryMatrix, thr: float = 0.9) -> pd.DataFrame:
    """:func:`trajectory_table` of an already built matrix (column ``iou``, attributes ``group`` and ``clickmap``)."""
    m, mc = tm["iou"], tm.max_clicks
    out = tm.keys.copy()
    out["noc"] = noc_of(m, mc, thr)
    out["fail"] = out["noc"].to_numpy() == mc
    out["auc"] = auc_of(m, mc, None)
    out["iou1"] = iou_at_of(m, mc, 1)
    return out


def _instance_arrays(per: pd.DataFrame):
    """Per-trajectory rows as arrays, one column per (RCLICKS_KEYS, instance) slot in sorted key order.

    Returns (slot keys frame, NoC ``10 × n``, AuC ``10 × n`` (NaN where a group is missing; the
    first of duplicate trajectories wins), baseline ``noc``/``auc``/``iou1`` per slot (NaN when
    absent), block starts: the slots of one RCLICKS_KEYS row are ``starts[j]:starts[j + 1]``).
    """
    groups = per[per["group"].between(1, 10)]
    if groups.empty:
        raise RClicksError("results table has no clicking-group trajectories (group 1..10); run --clicker groups")
    keys = RCLICKS_KEYS + ["instance"]
    slot = groups.groupby(keys, observed=True, sort=True).ngroup().to_numpy()
    _, first = np.unique(slot, return_index=True)
    slots = groups.iloc[first][keys].reset_index(drop=True)
    n = len(slots)
    g = groups["group"].to_numpy(dtype=np.int64) - 1
    rev = slice(None, None, -1)  # assign in reverse so the first of duplicate trajectories wins
    arrays = []
    for col in ("noc", "auc"):
        a = np.full((10, n), np.nan)
        a[g[rev], slot[rev]] = groups[col].to_numpy(dtype=np.float64)[rev]
        arrays.append(a)
    bkeys = _BASE_KEYS + ["instance"]
    base = per[(per["clicker"] == "baseline").to_numpy()].drop_duplicates(bkeys)
    at = pd.MultiIndex.from_frame(base[bkeys]).get_indexer(pd.MultiIndex.from_frame(slots[bkeys])) if len(base) else np.full(n, -1)
    baseline = {}
    for col in ("noc", "auc", "iou1"):
        v = base[col].to_numpy(dtype=np.float64) if len(base) else np.zeros(0)
        baseline[col] = np.where(at >= 0, v[np.maximum(at, 0)] if v.size else np.nan, np.nan)
    block = slots.groupby(RCLICKS_KEYS, observed=True, sort=True).ngroup().to_numpy()
    starts = np.concatenate([[0], np.flatnonzero(np.diff(block)) + 1, [n]])
    return slots, arrays[0], arrays[1], baseline, starts


def rclicks_table(df: pd.DataFrame, thr: float = 0.9) -> pd.DataFrame:
    """The RClicks table per (model, dataset, policy, clickmap, max_clicks, seed); formulas in the module docstring.

    Every instance must have the baseline and all ten groups; otherwise RClicksError names
    the missing clickers. Columns use ``t = 100·thr`` (``Sample NoC@90``, ...).
    """
    if df.empty:
        raise RClicksError("results table is empty: nothing to summarise")
    return rclicks_from_trajectories(trajectory_table(df, thr), thr)


def rclicks_from_trajectories(per: pd.DataFrame, thr: float = 0.9) -> pd.DataFrame:
    """:func:`rclicks_table` of per-trajectory rows (:func:`trajectory_table` / :func:`matrix_table`, computed at ``thr``)."""
    t = tag(thr)
    slots, noc_all, auc_all, base, starts = _instance_arrays(per)
    rows = []
    idents = slots.iloc[starts[:-1]][RCLICKS_KEYS].to_dict("records")
    for ident, s, e in zip(idents, starts[:-1], starts[1:]):
        missing = [f"g{g}" for g in range(1, 11) if np.isnan(noc_all[g - 1, s:e]).any()]
        if np.isnan(base["noc"][s:e]).any():
            missing.append("baseline")
        if missing:
            raise RClicksError(
                f"results for {ident}: missing clicker(s) {missing} on some instances; the RClicks table needs baseline and g1..g10 "
                "on every instance (run --clicker groups)"
            )
        noc, auc = noc_all[:, s:e], auc_all[:, s:e]  # 10 × n
        mc = int(ident["max_clicks"])
        fails = (noc == mc).sum(axis=1).astype(np.float64)  # F[g]
        b_noc, b_auc, b_iou1 = (base[c][s:e] for c in ("noc", "auc", "iou1"))
        b_fail = float((b_noc == mc).sum())
        h1, h2 = noc[:5], noc[5:]
        a32 = auc.astype(np.float32)
        with np.errstate(divide="ignore", invalid="ignore"):
            nsr = float(np.mean(a32.std(axis=0) / a32.mean(axis=0)))
        rows.append({
            **ident,
            "instances": int(noc.shape[1]),
            f"Base NoC@{t}": float(b_noc.mean()),
            f"Sample NoC@{t}": float(noc.mean(axis=0).mean()),
            f"Sample NoC@{t} std": float(noc.std(axis=0).mean()),
            f"ΔSB NoC@{t} (%)": 100 * float(((noc.mean(axis=0) - b_noc) / b_noc).mean()),
            f"ΔGR NoC@{t} (%)": 100 * float(((noc[0] - noc[9]) / noc[9]).mean()),
            f"ΔHH NoC@{t} (%)": 100 * float(((h1 - h2) / h2).mean()),
            f"Base NoF@{t}": b_fail,
            f"Sample NoF@{t}": float(fails.mean()),
            f"Sample NoF@{t} std": float(fails.std()),
            f"ΔSB NoF@{t}": float(fails.mean() - b_fail),
            f"ΔGR NoF@{t}": float(fails[0] - fails[9]),
            f"ΔHH NoF@{t}": float((fails[:5] - fails[5:]).mean()),
            "Base IoU (%)": 100 * float(b_auc.mean()),
            "Sample IoU (%)": 100 * float(auc.mean(axis=0).mean()),
            "Sample IoU std (%)": 100 * float(auc.std(axis=0).mean()),
            "ΔSB IoU (%)": 100 * float((auc.mean(axis=0) - b_auc).mean()),
            "ΔGR IoU (%)": 100 * float((auc[0] - auc[9]).mean()),
            "ΔHH IoU (%)": 100 * float((auc[:5] - auc[5:]).mean()),
            "NSR (%)": 100 * nsr,
            "Base IoU@1 (%)": 100 * float(b_iou1.mean()),
        })
    return pd.DataFrame(rows)


#: The paper's tables: (title, [(column, format)]) — Tab. 4 main, Tabs. 9–11 supplementary.
PAPER_TABLES: dict[str, list[tuple[str, str]]] = {
    "main": [("Sample NoC@90", "pm"), ("ΔSB NoC@90 (%)", "{:.2f}"), ("ΔGR NoC@90 (%)", "{:.2f}")],
    "noc": [("Sample NoC@90", "pm"), ("Base NoC@90", "{:.2f}"), ("ΔSB NoC@90 (%)", "{:.2f}"), ("ΔGR NoC@90 (%)", "{:.2f}"),
            ("ΔHH NoC@90 (%)", "{:.2f}")],
    "nof": [("Sample NoF@90", "pm1"), ("Base NoF@90", "{:.0f}"), ("ΔSB NoF@90", "{:.1f}"), ("ΔGR NoF@90", "{:.0f}"),
            ("ΔHH NoF@90", "{:.1f}")],
    "iou": [("Sample IoU (%)", "pm"), ("Base IoU (%)", "{:.2f}"), ("ΔSB IoU (%)", "{:.2f}"), ("ΔGR IoU (%)", "{:.2f}"),
            ("ΔHH IoU (%)", "{:.2f}"), ("NSR (%)", "{:.2f}"), ("Base IoU@1 (%)", "{:.2f}")],
}


def paper_table(rc: pd.DataFrame, which: str = "main") -> pd.DataFrame:
    """An RClicks table (``rclicks_table``) in the paper's layout: one row per model (and policy, click map),
    per dataset the columns of ``PAPER_TABLES[which]`` formatted as printed (``m ± s`` for Sample values)."""
    if which not in PAPER_TABLES:
        raise RClicksError(f"unknown paper table {which!r}; known: {', '.join(PAPER_TABLES)}")
    if rc.empty:
        return pd.DataFrame()
    row_keys = [k for k in ("model", "policy", "clickmap", "max_clicks") if k in rc.columns]
    datasets = sorted(rc["dataset"].astype(str).unique())
    out = []
    for key, block in rc.groupby(row_keys, observed=True, sort=True):
        row = dict(zip(row_keys, key if isinstance(key, tuple) else (key,)))
        for ds in datasets:
            sel = block[block["dataset"].astype(str) == ds]
            for col, fmt in PAPER_TABLES[which]:
                name = f"{ds} {col}"
                if sel.empty:
                    row[name] = "—"
                    continue
                r = sel.iloc[0]
                if fmt in ("pm", "pm1"):
                    std = col.replace(" (%)", " std (%)") if col.endswith("(%)") else f"{col} std"
                    row[name] = (f"{r[col]:.1f} ± {r[std]:.2f}" if fmt == "pm1" else f"{r[col]:.2f} ± {r[std]:.2f}")
                else:
                    row[name] = fmt.format(r[col])
        out.append(row)
    return pd.DataFrame(out)


def instance_nsr(df: pd.DataFrame, k: int = 1) -> pd.DataFrame:
    """Per-instance first-click NSR (``NSR@k``): ``std / mean`` (ddof 0) of IoU after click ``k`` over the group trajectories.

    Returns columns (model, dataset, policy, clickmap, max_clicks, instance, mean, std, nsr, n);
    ``nsr`` is NaN when the mean is 0. (This is the per-instance difficulty of the paper's
    Fig. 7 computed from the groups; the table's ``NSR (%)`` uses IoU-AuC instead.)
    """
    tm = trajectory_matrix(df, ("iou",), attrs=("group", "clickmap"))
    per = tm.keys.copy()
    per["iou_k"] = iou_at_of(tm["iou"], tm.max_clicks, k)
    per = per[per["group"].between(1, 10)]
    keys = ["model", "dataset", "policy", "clickmap", "max_clicks", "instance"]
    g = per.groupby(keys, observed=True, sort=True)["iou_k"]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0), "n": g.size()}).reset_index()
    out["nsr"] = np.where(out["mean"] > 0, out["std"] / out["mean"].where(out["mean"] > 0, 1.0), np.nan)
    return out


def dataset_nsr(df: pd.DataFrame, k: int = 1) -> pd.DataFrame:
    """Per-dataset first-click NSR: the mean of ``instance_nsr`` over the dataset's instances."""
    inst = instance_nsr(df, k)
    keys = ["model", "dataset", "policy", "clickmap", "max_clicks"]
    return inst.groupby(keys, observed=True, sort=True).agg(nsr=("nsr", "mean"), instances=("nsr", "size")).reset_index()


def groups_report(df: pd.DataFrame, thr: float = 0.9) -> str:
    """Printable RClicks report: the paper's main table and its NoC / NoF / IoU supplementary tables."""
    rc = rclicks_table(df, thr)
    parts = []
    titles = {"main": "RClicks main table (Tab. 4): Sample NoC@90 ± std, ΔSB %, ΔGR %",
              "noc": "NoC@90 (Tab. 9)", "nof": "NoF@90 (Tab. 10)", "iou": "IoU = IoU-AuC over all clicks, % (Tab. 11), NSR %"}
    with pd.option_context("display.width", 250, "display.max_columns", 60, "display.max_rows", 500):
        for which, title in titles.items():
            parts.append(f"{title}:\n{paper_table(rc, which).to_string(index=False)}")
    return "\n\n".join(parts)


def replay_summary(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """User IoU@1 per instance (mean, std, NSR, n) and per dataset (means over instances), as the RClicks notebook.

    Per instance over its real first clicks: ``mean``, ``std`` (ddof 0) and
    ``nsr = std / (mean + 1e-9)`` (the notebook's ``User@1`` rows); per dataset
    ``User IoU@1``, ``User IoU@1 std`` and ``NSR`` are their means over instances.
    """
    g = rows.groupby(["model", "dataset", "instance"], sort=True)["iou"]
    inst = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=0), "n": g.size()}).reset_index()
    inst["nsr"] = inst["std"] / (inst["mean"] + 1e-9)
    ds = (
        inst.groupby(["model", "dataset"], sort=True)
        .agg(**{"User IoU@1": ("mean", "mean"), "User IoU@1 std": ("std", "mean"), "NSR": ("nsr", "mean"), "instances": ("n", "size"), "clicks": ("n", "sum")})
        .reset_index()
    )
    return inst, ds
