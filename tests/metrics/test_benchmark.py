"""RClicks benchmark metrics on a hand-made results table (values computed by hand in the comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.errors import RClicksError
from rclicks.metrics.benchmark import dataset_nsr, groups_summary, instance_nsr, parse_group

# IoU sequences over 3 clicks; NoC@90 in the name
A3 = [0.5, 0.7, 0.93]  # reaches 0.9 at click 3
A2 = [0.6, 0.91, 0.95]  # at click 2
A1 = [0.92, 0.95, 0.96]  # at click 1
BF = [0.5, 0.6, 0.7]  # never (failure, NoC = 3)
B1 = [0.94, 0.96, 0.97]  # at click 1


def _table(drop: str | None = None, suffix: str = "") -> pd.DataFrame:
    traj = {("baseline", "A"): A1, ("baseline", "B"): B1}
    for i in range(1, 11):
        traj[(f"g{i}{suffix}", "A")] = A3 if i <= 2 else A2 if i <= 6 else A1
        traj[(f"g{i}{suffix}", "B")] = BF if i == 1 else B1
    rows = []
    for (clicker, inst), ious in traj.items():
        if clicker == drop:
            continue
        for k, v in enumerate(ious, 1):
            rows.append({"model": "m", "dataset": "d", "clicker": clicker, "policy": "single", "seed": 0,
                         "instance": inst, "click": k, "iou": v, "biou": v})
    return pd.DataFrame(rows)


def test_groups_summary_by_hand():
    s = groups_summary(_table(), thr=0.9, k=1)
    assert len(s) == 1
    r = s.iloc[0]
    assert r["clickmap"] == "distance" and r["instances"] == 2
    # per-group mean NoC: G1 (3+3)/2=3, G2 (3+1)/2=2, G3-6 (2+1)/2=1.5, G7-10 1
    assert r["Base NoC@90"] == pytest.approx(1.0)
    assert r["Sample NoC@90"] == pytest.approx(1.5)
    assert r["Sample NoC@90 std"] == pytest.approx(np.sqrt(0.35))  # squared deviations sum 3.5 over 10 groups
    assert r["ΔSB NoC@90"] == pytest.approx(0.5)  # (1.5 - 1) / 1
    assert r["ΔGR NoC@90"] == pytest.approx(2.0)  # (3 - 1) / 1
    # failures: only B in G1
    assert r["Base NoF@90"] == 0 and r["Sample NoF@90"] == pytest.approx(0.1)
    assert np.isnan(r["ΔSB NoF@90"]) and np.isnan(r["ΔGR NoF@90"])  # divide by a zero NoF
    # IoU@1 per group: G1 .5, G2 .72, G3-6 .77, G7-10 .93 → mean 8.02/10
    assert r["Base IoU@1"] == pytest.approx(0.93)
    assert r["Sample IoU@1"] == pytest.approx(0.802)
    assert r["ΔSB IoU@1"] == pytest.approx(0.802 - 0.93)
    assert r["ΔGR IoU@1"] == pytest.approx(0.5 - 0.93)
    a = [0.5, 0.5] + [0.6] * 4 + [0.92] * 4
    b = [0.5] + [0.94] * 9
    nsr_a = np.std(a) / np.mean(a)
    nsr_b = np.std(b) / np.mean(b)
    assert r["NSR IoU@1"] == pytest.approx((nsr_a + nsr_b) / 2)


def test_instance_and_dataset_nsr():
    inst = instance_nsr(_table(), k=1).set_index("instance")
    assert inst.loc["A", "mean"] == pytest.approx(0.708)
    assert inst.loc["B", "mean"] == pytest.approx(0.896)
    assert inst.loc["A", "n"] == 10
    b = [0.5] + [0.94] * 9
    assert inst.loc["B", "nsr"] == pytest.approx(np.std(b) / np.mean(b))
    ds = dataset_nsr(_table(), k=1)
    assert ds["nsr"].iloc[0] == pytest.approx(inst["nsr"].mean())
    # IoU@2: A [.5,.5,.91x4,.95x4]
    a2 = [0.7, 0.7] + [0.91] * 4 + [0.95] * 4
    assert instance_nsr(_table(), k=2).set_index("instance").loc["A", "nsr"] == pytest.approx(np.std(a2) / np.mean(a2))


def test_noc_threshold_and_k_are_parameters():
    r = groups_summary(_table(), thr=0.95, k=3).iloc[0]
    # NoC@95: baseline A [.92,.95,...] → 2, B [.94,.96] → 2 → 2.0
    assert r["Base NoC@95"] == pytest.approx(2.0)
    assert "Sample IoU@3" in r.index


def test_clickmap_variant_is_kept_apart():
    df = pd.concat([_table(), _table(suffix="@saliency")[lambda d: d["clicker"] != "baseline"]], ignore_index=True)
    s = groups_summary(df, k=1)
    assert sorted(s["clickmap"]) == ["distance", "saliency"]
    assert s["Sample NoC@90"].tolist() == pytest.approx([1.5, 1.5])


def test_missing_group_raises_naming_it():
    with pytest.raises(RClicksError, match="g7"):
        groups_summary(_table(drop="g7"))
    with pytest.raises(RClicksError, match="baseline"):
        groups_summary(_table(drop="baseline"))


def test_parse_group():
    assert parse_group("g10") == (10, "distance")
    assert parse_group("g3@saliency+blur") == (3, "saliency+blur")
    assert parse_group("g11") is None and parse_group("baseline") is None and parse_group("gto99") is None


def test_groups_report_formats_all_parts():
    from rclicks.metrics.benchmark import groups_report

    text = groups_report(_table(), k=1)
    assert "1.500 ± 0.592" in text  # Sample NoC@90 ± std over groups
    assert "+50.0%" in text and "+200.0%" in text  # ΔSB, ΔGR
    assert "per-dataset NSR" in text and "per-instance NSR" in text


def test_groups_protocol_end_to_end_with_a_real_model():
    """`evaluate(..., "groups")` on a real weight-free model feeds groups_summary; G-clickers are reproducible."""
    from rclicks.evaluate import evaluate
    from rclicks.models.base import build_model

    model = build_model("random_walker", max_side=64)
    df = evaluate(model, "grabcut", "groups", max_clicks=3, limit=1, seed=0, progress=False)
    assert sorted(df["clicker"].unique()) == sorted(["baseline"] + [f"g{i}" for i in range(1, 11)])
    s = groups_summary(df, thr=0.9, k=3).iloc[0]
    per = df[df["clicker"].str.startswith("g")].groupby("clicker")
    # independent recomputation of Sample IoU@3 from the raw rows
    iou3 = per.apply(lambda g: g[g["click"] == 3]["iou"].mean())
    assert s["Sample IoU@3"] == pytest.approx(iou3.mean())
    assert s["Sample IoU@3 std"] == pytest.approx(iou3.std(ddof=0))
    again = evaluate(model, "grabcut", ["g4"], max_clicks=3, limit=1, seed=0, progress=False)
    first = df[df["clicker"] == "g4"].reset_index(drop=True)
    assert again[["x", "y", "positive"]].equals(first[["x", "y", "positive"]])
