"""Leaderboard table: values against hand computation and a naive loop implementation in the test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leaderboard.table import build_oracle_table, build_table
from rclicks.errors import RClicksError
from rclicks.results import SCHEMA


def _naive_noc(ious, thr, max_clicks):
    for k, v in enumerate(ious[:max_clicks]):
        if v >= thr:
            return k + 1
    return max_clicks


def _naive_auc10(ious):
    """Trapezoid over clicks 1..k, k = min(10, clicks run), divided by k − 1 (rclicks.metrics.curves' convention)."""
    seq = list(ious[:10])
    k = len(seq)
    return sum((seq[i] + seq[i + 1]) / 2 for i in range(k - 1)) / (k - 1)


def test_hand_computed_baseline_columns(make_rows):
    rows = make_rows("m", "d", "baseline", "a", [0.5, 0.86, 0.95], time_s=0.1)
    rows += make_rows("m", "d", "baseline", "b", [0.9, 0.92, 0.93], time_s=0.3)
    t = build_table(pd.DataFrame(rows).astype(SCHEMA))
    assert len(t) == 1
    row = t.iloc[0]
    assert row["model"] == "m" and row["policy"] == "score"
    assert row["d NoC@85"] == pytest.approx(1.5)  # (2 + 1) / 2
    assert row["d NoC@90"] == pytest.approx(2.0)  # (3 + 1) / 2
    assert row["d NoF@90"] == 0
    assert row["d IoU@1"] == pytest.approx(0.7)
    # 3 clicks run, so the area spans clicks 1..3: a: (0.68 + 0.905) / 2, b: (0.91 + 0.925) / 2
    assert row["d IoU-AuC@10"] == pytest.approx((0.7925 + 0.9175) / 2)
    assert row["s/click"] == pytest.approx(0.2)
    assert row["Avg NoC@90"] == pytest.approx(2.0)
    # no groups / attacks in the results: those columns are absent, not NaN
    assert not any(("Sample" in c or "ΔSB" in c or "IoU-Min" in c or "NSR" in c) for c in t.columns)


def test_group_and_attack_columns_match_naive_loops(make_table):
    df = make_table(np.random.default_rng(3), models=("m0", "m1"), datasets=("grabcut", "davis"), instances=4, clicks=6)
    t = build_table(df).set_index("model")
    max_clicks = 6
    for (m, d), sub in df.groupby(["model", "dataset"]):
        traj = {(c, i): g.sort_values("click")["iou"].tolist() for (c, i), g in sub.groupby(["clicker", "instance"])}
        insts = sorted(sub["instance"].unique())
        base = np.mean([_naive_noc(traj["baseline", i], 0.9, max_clicks) for i in insts])
        per_group = [np.mean([_naive_noc(traj[f"g{k}", i], 0.9, max_clicks) for i in insts]) for k in range(1, 11)]
        sample = np.mean(per_group)
        nsr = np.mean([np.std([traj[f"g{k}", i][0] for k in range(1, 11)]) / np.mean([traj[f"g{k}", i][0] for k in range(1, 11)]) for i in insts])
        lo = np.mean([_naive_auc10(traj["adv_min", i]) for i in insts])
        hi = np.mean([_naive_auc10(traj["adv_max", i]) for i in insts])
        r = t.loc[m]
        assert r[f"{d} NoC@90"] == pytest.approx(base)
        assert r[f"{d} Sample NoC@90"] == pytest.approx(sample)
        assert r[f"{d} Sample NoC@90 std"] == pytest.approx(np.std(per_group))
        assert r[f"{d} ΔSB"] == pytest.approx((sample - base) / base)
        assert r[f"{d} ΔGR"] == pytest.approx((per_group[0] - per_group[9]) / per_group[9])
        assert r[f"{d} NSR"] == pytest.approx(nsr)
        assert r[f"{d} IoU-Min"] == pytest.approx(lo)
        assert r[f"{d} IoU-Max"] == pytest.approx(hi)
        assert r[f"{d} IoU-D"] == pytest.approx(hi - lo)
    # sorted by the mean baseline NoC@90 over datasets
    avg = [t.loc[m, ["grabcut NoC@90", "davis NoC@90"]].mean() for m in t.index]
    assert avg == sorted(avg)
    # columns grouped by dataset, in the documented order
    assert list(t.columns[:2]) == ["policy", "s/click"]
    assert [c for c in t.columns if c.startswith("davis")][:3] == ["davis NoC@85", "davis NoC@90", "davis NoF@90"]


def test_oracle_is_never_mixed_into_the_main_table(make_table):
    rng = np.random.default_rng(4)
    main = make_table(rng, models=("m0",), clickers=("baseline",), policy="score")
    oracle = make_table(rng, models=("m0",), clickers=("baseline",), policy="oracle")
    oracle["iou"] = 1.0
    oracle["biou"] = 1.0
    both = pd.concat([main, oracle], ignore_index=True)
    t = build_table(both)
    assert list(t["policy"]) == ["score"]
    pd.testing.assert_frame_equal(t, build_table(main))
    o = build_oracle_table(both)
    assert list(o["policy"]) == ["oracle"] and o["grabcut NoC@90"].iloc[0] == 1.0
    assert build_oracle_table(main).empty
    with pytest.raises(RClicksError, match="no non-oracle rows"):
        build_table(oracle)


def test_incomplete_groups_are_absent_not_wrong(make_table):
    df = make_table(np.random.default_rng(5), models=("m0",), datasets=("grabcut",),
                    clickers=("baseline",) + tuple(f"g{i}" for i in range(1, 10)))  # g10 missing
    t = build_table(df)
    assert "grabcut NoC@90" in t and "grabcut Sample NoC@90" not in t


def test_bad_input_names_the_problem():
    with pytest.raises(RClicksError, match="lacks column"):
        build_table(pd.DataFrame({"model": ["m"]}))


def test_vectorised_group_columns_equal_groups_summary(make_table):
    from rclicks.metrics.benchmark import groups_summary

    df = make_table(np.random.default_rng(6), models=("m0", "m1", "m2"), datasets=("grabcut", "davis"), instances=5, clicks=7)
    t = build_table(df).set_index("model")
    ref = groups_summary(df, thr=0.9, k=1)
    for _, r in ref.iterrows():
        row = t.loc[r["model"]]
        d = r["dataset"]
        assert row[f"{d} Sample NoC@90"] == pytest.approx(r["Sample NoC@90"])
        assert row[f"{d} Sample NoC@90 std"] == pytest.approx(r["Sample NoC@90 std"])
        assert row[f"{d} ΔSB"] == pytest.approx(r["ΔSB NoC@90"])
        assert row[f"{d} ΔGR"] == pytest.approx(r["ΔGR NoC@90"])
        assert row[f"{d} NSR"] == pytest.approx(r["NSR IoU@1"])
