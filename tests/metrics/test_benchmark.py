"""RClicks benchmark metrics against a literal re-computation of the authors' notebook.

The reference is ``compute_benchmark_metrics.ipynb`` of ``emb-ai/rclicks`` (cells 7–8,
the loops that produce the paper's Tab. 4 and Tabs. 9–12). ``_notebook`` below re-types
those loops over plain arrays: per-group ``compute_noc_metric`` (RITM's), ``trapz / 19``
AuCs, the ``subsets`` dictionary and the ``G_mean``/``G_std``/``H1``/``H2`` reductions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.errors import RClicksError
from rclicks.metrics.benchmark import PAPER_TABLES, dataset_nsr, instance_nsr, paper_table, parse_group, rclicks_table
from tests.results_helpers import results_table

THR = 0.9
N_INST = 7


def _notebook(base: np.ndarray, slices: list[np.ndarray], max_clicks: int = 20) -> dict[str, float]:
    """The notebook's cells 7–8 for one (model, dataset): ``base`` and each of the 10 ``slices`` are n × 20 IoU arrays."""

    def compute_noc_metric(all_ious, iou_thrs, max_clicks=20):
        def _get_noc(iou_arr, iou_thr):
            vals = iou_arr >= iou_thr
            return np.argmax(vals) + 1 if np.any(vals) else max_clicks

        noc_list, over_max_list = [], []
        for iou_thr in iou_thrs:
            scores_arr = np.array([_get_noc(iou_arr, iou_thr) for iou_arr in all_ious], dtype=int)
            score = scores_arr.mean()
            over_max = (scores_arr == max_clicks).sum()
            noc_list.append(score)
            over_max_list.append(over_max)
        return noc_list, over_max_list, scores_arr

    entries = {}
    scores, ious = [], []
    for idx, slic in enumerate(slices):
        _, over_max, scores_arr = compute_noc_metric(slic, [THR], max_clicks)
        iou_auc = np.trapezoid(slic, axis=1) / (max_clicks - 1)
        scores.append(scores_arr)
        ious.append(iou_auc)
        entries[f"G{idx + 1}"] = {"noc": scores_arr, "iou": iou_auc, "over_max": np.array(over_max)}
    ious = np.array(ious).astype(np.float32)
    iou_nsr = np.array(ious).std(axis=0) / np.array(ious).mean(axis=0)
    _, over_max, scores_arr = compute_noc_metric(base, [THR], max_clicks)
    entries["Base"] = {"noc": scores_arr, "iou": np.trapezoid(base, axis=1) / (max_clicks - 1), "over_max": np.array(over_max)}
    out = {"nsrperimage_iou": iou_nsr.mean(), "Base@1_iou": base[:, 0].mean()}
    for suff in ["iou", "noc", "over_max"]:
        subsets = {k: v[suff] for k, v in entries.items()}
        for name, subset in subsets.items():
            out[f"{name}_{suff}"] = subset.mean()
        out[f"(G1 - G10) / G10_{suff}"] = ((subsets["G1"] - subsets["G10"]) / subsets["G10"]).mean()
        out[f"G1 - G10_{suff}"] = (subsets["G1"] - subsets["G10"]).mean()
        h1 = np.array([subsets[f"G{i}"] for i in range(1, 6)]).astype(np.float32)
        h2 = np.array([subsets[f"G{i}"] for i in range(6, 11)]).astype(np.float32)
        g = np.vstack([h1, h2])
        g_mean, g_std = np.mean(g, axis=0), np.std(g, axis=0)
        out[f"H1 - H2_{suff}"] = (h1 - h2).mean()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"(H1 - H2) / H2_{suff}"] = ((h1 - h2) / h2).mean()
        out[f"G_mean@10_{suff}"] = g_mean.mean()
        out[f"G_std@10_{suff}"] = g_std.mean()
        out[f"(G_mean - Base) / Base_{suff}"] = ((g_mean - subsets["Base"]) / subsets["Base"]).mean()
        out[f"G_mean - Base_{suff}"] = (g_mean - subsets["Base"]).mean()
    return out


def _trajectory(rng: np.random.Generator, start: float, speed: float, n: int = 20) -> np.ndarray:
    """A rising IoU curve that may or may not pass 0.9 (rounded to 1e-3 so ties at 0.9 happen)."""
    steps = rng.uniform(0, speed, n)
    steps[0] = 0
    return np.round(np.clip(start + np.cumsum(steps), 0, 1), 3)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(7)
    base = np.stack([_trajectory(rng, rng.uniform(0.3, 0.9), rng.uniform(0.0, 0.15)) for _ in range(N_INST)])
    base[0] = np.linspace(0.5, 0.89, 20)  # a baseline failure: NoC = max_clicks
    base[1, -1] = 0.9  # reaches 0.9 exactly on the last click: RITM counts it as a failure too
    slices = []
    for g in range(10):
        s = np.stack([_trajectory(rng, rng.uniform(0.05, 0.9 - 0.03 * (9 - g)), rng.uniform(0.0, 0.12)) for _ in range(N_INST)])
        slices.append(s)
    slices[0][2] = np.full(20, 0.3)  # G1 never reaches
    return base, slices


def _table_from(base: np.ndarray, slices: list[np.ndarray], suffix: str = "", dataset: str = "d", model: str = "m") -> pd.DataFrame:
    traj = {("baseline", f"i{i}"): base[i] for i in range(N_INST)}
    for g, s in enumerate(slices, 1):
        for i in range(N_INST):
            traj[(f"g{g}{suffix}", f"i{i}")] = s[i]
    return results_table(traj, max_clicks=20, dataset=dataset, model=model)


def test_rclicks_table_equals_the_notebook(arrays):
    base, slices = arrays
    ref = _notebook(base, slices)
    df = _table_from(base, slices)
    for _ in range(2):  # public functions are called twice
        rc = rclicks_table(df, thr=THR)
    assert len(rc) == 1
    r = rc.iloc[0]
    assert r["instances"] == N_INST and r["clickmap"] == "distance" and r["max_clicks"] == 20
    expect = {
        "Base NoC@90": ref["Base_noc"],
        "Sample NoC@90": ref["G_mean@10_noc"],
        "Sample NoC@90 std": ref["G_std@10_noc"],
        "ΔSB NoC@90 (%)": 100 * ref["(G_mean - Base) / Base_noc"],
        "ΔGR NoC@90 (%)": 100 * ref["(G1 - G10) / G10_noc"],
        "ΔHH NoC@90 (%)": 100 * ref["(H1 - H2) / H2_noc"],
        "Base NoF@90": ref["Base_over_max"],
        "Sample NoF@90": ref["G_mean@10_over_max"],
        "Sample NoF@90 std": ref["G_std@10_over_max"],
        "ΔSB NoF@90": ref["G_mean - Base_over_max"],
        "ΔGR NoF@90": ref["G1 - G10_over_max"],
        "ΔHH NoF@90": ref["H1 - H2_over_max"],
        "Base IoU (%)": 100 * ref["Base_iou"],
        "Sample IoU (%)": 100 * ref["G_mean@10_iou"],
        "Sample IoU std (%)": 100 * ref["G_std@10_iou"],
        "ΔSB IoU (%)": 100 * ref["G_mean - Base_iou"],
        "ΔGR IoU (%)": 100 * ref["G1 - G10_iou"],
        "ΔHH IoU (%)": 100 * ref["H1 - H2_iou"],
        "NSR (%)": 100 * ref["nsrperimage_iou"],
        "Base IoU@1 (%)": 100 * ref["Base@1_iou"],
    }
    for col, value in expect.items():
        # the notebook stacks H1/H2 in float32; everything else is float64
        assert r[col] == pytest.approx(value, rel=1e-6, abs=1e-9), col


def test_the_fixture_separates_mean_of_ratios_from_ratio_of_means(arrays):
    """The fixture is built so the old (ratio-of-means, std-of-group-means) variants give other numbers."""
    base, slices = arrays
    ref = _notebook(base, slices)
    group_means = np.array([ref[f"G{g}_noc"] for g in range(1, 11)])
    assert abs(ref["(G_mean - Base) / Base_noc"] - (group_means.mean() - ref["Base_noc"]) / ref["Base_noc"]) > 1e-3
    assert abs(ref["(G1 - G10) / G10_noc"] - (group_means[0] - group_means[9]) / group_means[9]) > 1e-3
    assert abs(ref["G_std@10_noc"] - group_means.std()) > 1e-2
    r = rclicks_table(_table_from(base, slices)).iloc[0]
    assert r["Sample NoC@90 std"] != pytest.approx(group_means.std())


def test_hand_computed_two_instances():
    """A case small enough to check by hand: 2 instances, 3 clicks."""
    a3, a2, a1, bf, b1 = [0.5, 0.7, 0.93], [0.6, 0.91, 0.95], [0.92, 0.95, 0.96], [0.5, 0.6, 0.7], [0.94, 0.96, 0.97]
    traj = {("baseline", "A"): a2, ("baseline", "B"): b1}
    for g in range(1, 11):
        traj[(f"g{g}", "A")] = a3 if g <= 2 else a2 if g <= 6 else a1
        traj[(f"g{g}", "B")] = bf if g == 1 else b1
    r = rclicks_table(results_table(traj)).iloc[0]
    # A: NoC per group 3,3,2,2,2,2,1,1,1,1 (mean 1.8, std 0.7483); B: 3,1×9 (mean 1.2, std 0.6)
    assert r["Sample NoC@90"] == pytest.approx((1.8 + 1.2) / 2)
    assert r["Sample NoC@90 std"] == pytest.approx((np.std([3, 3, 2, 2, 2, 2, 1, 1, 1, 1]) + np.std([3] + [1] * 9)) / 2)
    # base NoC: A 2, B 1 → ΔSB = mean((1.8 − 2)/2, (1.2 − 1)/1) = mean(−0.1, 0.2) = 0.05
    assert r["ΔSB NoC@90 (%)"] == pytest.approx(5.0)
    # ΔGR: A (3 − 1)/1 = 2, B (3 − 1)/1 = 2 → 200 %
    assert r["ΔGR NoC@90 (%)"] == pytest.approx(200.0)
    # NoF (NoC == 3 clicks): G1 has A (3, reached on the last click) and B (never) = 2; G2: A = 1; others 0
    assert r["Base NoF@90"] == 0 and r["Sample NoF@90"] == pytest.approx(0.3) and r["ΔGR NoF@90"] == 2
    assert r["ΔSB NoF@90"] == pytest.approx(0.3)


def test_paper_layout_in_percent(arrays):
    base, slices = arrays
    df = pd.concat([_table_from(base, slices, dataset="grabcut"), _table_from(base[::-1], slices[::-1], dataset="davis")])
    rc = rclicks_table(df)
    main = paper_table(rc, "main")
    assert list(main.columns) == ["model", "policy", "clickmap", "max_clicks"] + [
        f"{d} {c}" for d in ("davis", "grabcut") for c, _ in PAPER_TABLES["main"]
    ]
    g = rc[rc["dataset"] == "grabcut"].iloc[0]
    row = main.iloc[0]
    assert row["grabcut Sample NoC@90"] == f"{g['Sample NoC@90']:.2f} ± {g['Sample NoC@90 std']:.2f}"
    assert row["grabcut ΔSB NoC@90 (%)"] == f"{g['ΔSB NoC@90 (%)']:.2f}"
    assert paper_table(rc, "iou").iloc[0]["grabcut Sample IoU (%)"].startswith(f"{g['Sample IoU (%)']:.2f} ± ")


def test_click_maps_are_separate_rows_and_missing_groups_are_named(arrays):
    base, slices = arrays
    both = pd.concat([_table_from(base, slices), _table_from(base, slices, suffix="@saliency").query("clicker != 'baseline'")])
    rc = rclicks_table(both)
    assert sorted(rc["clickmap"]) == ["distance", "saliency"]
    assert rc.iloc[0]["Sample NoC@90"] == pytest.approx(rc.iloc[1]["Sample NoC@90"])
    with pytest.raises(RClicksError, match=r"g7"):
        rclicks_table(_table_from(base, slices).query("clicker != 'g7'"))
    with pytest.raises(RClicksError, match="baseline"):
        rclicks_table(_table_from(base, slices).query("clicker != 'baseline'"))


def test_parse_group():
    assert parse_group("g3") == (3, "distance") and parse_group("g10@saliency") == (10, "saliency")
    assert parse_group("baseline") is None and parse_group("g11") is None


def test_first_click_nsr(arrays):
    base, slices = arrays
    df = _table_from(base, slices)
    inst = instance_nsr(df, k=1)
    first = np.array([s[:, 0] for s in slices])  # 10 × n
    assert inst["nsr"].to_numpy() == pytest.approx(first.std(axis=0) / first.mean(axis=0))
    assert dataset_nsr(df).iloc[0]["nsr"] == pytest.approx((first.std(axis=0) / first.mean(axis=0)).mean())
