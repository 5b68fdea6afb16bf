"""Leaderboard table: values against hand computation and a naive loop implementation in the test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks_leaderboard.table import build_oracle_table, build_table
from rclicks.errors import RClicksError
from rclicks.results import SCHEMA


def _naive_noc(ious, thr, max_clicks):
    for k, v in enumerate(ious[:max_clicks]):
        if v >= thr:
            return k + 1
    return max_clicks


def _naive_auc(ious, k=None):
    """Trapezoid over clicks 1..k (default all), divided by k − 1."""
    seq = list(ious[:k] if k else ious)
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
    assert row["d NoF@90"] == 1  # a reaches 0.9 on its last click: NoC == max_clicks is a failure (RITM, RClicks)
    assert row["d IoU@1"] == pytest.approx(0.7)
    # only 3 clicks were run: IoU-AuC@10 is undefined, so the column is absent rather than an AuC over 3 clicks
    assert "d IoU-AuC@10" not in t
    assert row["max_clicks"] == 3 and row["d instances"] == 2
    assert row["s/click"] == pytest.approx(0.2)
    assert row["Avg NoC@90"] == pytest.approx(2.0)
    # no groups / attacks in the results: those columns are absent, not NaN
    assert not any(("Sample" in c or "ΔSB" in c or "IoU-Min" in c or "NSR" in c) for c in t.columns)


def test_group_and_attack_columns_match_naive_loops(make_table):
    df = make_table(np.random.default_rng(3), models=("m0", "m1"), datasets=("grabcut", "davis"), instances=4, clicks=12)
    t = build_table(df).set_index("model")
    max_clicks = 12
    for (m, d), sub in df.groupby(["model", "dataset"]):
        traj = {(c, i): g.sort_values("click")["iou"].tolist() for (c, i), g in sub.groupby(["clicker", "instance"])}
        insts = sorted(sub["instance"].unique())
        # RClicks' notebook: per instance over the groups first, then the mean over instances
        base = {i: _naive_noc(traj["baseline", i], 0.9, max_clicks) for i in insts}
        nocs = {i: [_naive_noc(traj[f"g{k}", i], 0.9, max_clicks) for k in range(1, 11)] for i in insts}
        aucs = {i: [_naive_auc(traj[f"g{k}", i]) for k in range(1, 11)] for i in insts}
        sample = np.mean([np.mean(nocs[i]) for i in insts])
        std = np.mean([np.std(nocs[i]) for i in insts])
        dsb = 100 * np.mean([(np.mean(nocs[i]) - base[i]) / base[i] for i in insts])
        dgr = 100 * np.mean([(nocs[i][0] - nocs[i][9]) / nocs[i][9] for i in insts])
        nsr = 100 * np.mean([np.std(aucs[i]) / np.mean(aucs[i]) for i in insts])
        lo = np.mean([_naive_auc(traj["adv_min", i], 10) for i in insts])
        hi = np.mean([_naive_auc(traj["adv_max", i], 10) for i in insts])
        r = t.loc[m]
        assert r[f"{d} NoC@90"] == pytest.approx(np.mean(list(base.values())))
        assert r[f"{d} Sample NoC@90"] == pytest.approx(sample)
        assert r[f"{d} Sample NoC@90 std"] == pytest.approx(std)
        assert r[f"{d} ΔSB (%)"] == pytest.approx(dsb)
        assert r[f"{d} ΔGR (%)"] == pytest.approx(dgr)
        assert r[f"{d} NSR (%)"] == pytest.approx(nsr, rel=1e-5)
        assert r[f"{d} IoU-Min"] == pytest.approx(lo)
        assert r[f"{d} IoU-Max"] == pytest.approx(hi)
        assert r[f"{d} IoU-D"] == pytest.approx(hi - lo)
    # sorted by the mean baseline NoC@90 over datasets
    avg = [t.loc[m, ["grabcut NoC@90", "davis NoC@90"]].mean() for m in t.index]
    assert avg == sorted(avg)
    # columns grouped by dataset, in the documented order
    assert list(t.columns[:3]) == ["policy", "max_clicks", "s/click"]
    assert [c for c in t.columns if c.startswith("davis")][:4] == ["davis instances", "davis NoC@85", "davis NoC@90", "davis NoC@95"]


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


def test_group_columns_are_the_metrics_layers_numbers(make_table):
    from rclicks.metrics.benchmark import rclicks_table

    df = make_table(np.random.default_rng(6), models=("m0", "m1", "m2"), datasets=("grabcut", "davis"), instances=5, clicks=7)
    t = build_table(df).set_index("model")
    ref = rclicks_table(df[df["clicker"].isin(["baseline"] + [f"g{i}" for i in range(1, 11)])], thr=0.9)
    for _, r in ref.iterrows():
        row = t.loc[r["model"]]
        d = r["dataset"]
        assert row[f"{d} Sample NoC@90"] == r["Sample NoC@90"]
        assert row[f"{d} Sample NoC@90 std"] == r["Sample NoC@90 std"]
        assert row[f"{d} ΔSB (%)"] == r["ΔSB NoC@90 (%)"]
        assert row[f"{d} ΔGR (%)"] == r["ΔGR NoC@90 (%)"]
        assert row[f"{d} NSR (%)"] == r["NSR (%)"]


def test_another_models_longer_run_does_not_move_a_models_numbers(make_rows):
    """max_clicks is recorded, never guessed: grabcut's 5-click NoC@90 stays 4.00 when a 20-click run is added."""
    rows = []
    for i, seq in enumerate(([0.5, 0.6, 0.7, 0.95, 0.96], [0.4, 0.5, 0.6, 0.91, 0.97])):
        rows += make_rows("grabcut", "d", "baseline", f"i{i}", seq, max_clicks=5)
    alone = build_table(pd.DataFrame(rows).astype(SCHEMA)).set_index("model")
    rows += make_rows("minisam", "d", "baseline", "i0", [0.1] * 20, max_clicks=20)
    mixed = build_table(pd.DataFrame(rows).astype(SCHEMA)).set_index("model")
    assert alone.loc["grabcut", "d NoC@90"] == mixed.loc["grabcut", "d NoC@90"] == pytest.approx(4.0)
    assert mixed.loc["grabcut", "max_clicks"] == 5 and mixed.loc["minisam", "max_clicks"] == 20


def test_attacks_run_with_their_own_max_clicks_join_the_models_row(make_rows):
    """TETRIS attacks run 10 clicks while the protocol runs 20: one row per model, with IoU-Min/Max from the attacks."""
    rows = []
    for i in range(2):
        rows += make_rows("m", "d", "baseline", f"i{i}", [0.5 + 0.02 * k for k in range(20)], max_clicks=20)
        rows += make_rows("m", "d", "adv_min", f"i{i}", [0.3] * 10, max_clicks=10)
        rows += make_rows("m", "d", "adv_max", f"i{i}", [0.8] * 10, max_clicks=10)
    rows += make_rows("other", "d", "adv_min", "i0", [0.1] * 10, max_clicks=10)  # attacks only: a row of its own
    rows += make_rows("other", "d", "adv_max", "i0", [0.2] * 10, max_clicks=10)
    t = build_table(pd.DataFrame(rows).astype(SCHEMA)).set_index("model")
    assert list(t.index).count("m") == 1 and t.loc["m", "max_clicks"] == 20
    assert t.loc["m", "d IoU-Min"] == pytest.approx(0.3) and t.loc["m", "d IoU-Max"] == pytest.approx(0.8)
    assert t.loc["m", "d IoU-D"] == pytest.approx(0.5) and t.loc["m", "d NoC@90"] == 20
    assert t.loc["other", "max_clicks"] == 10 and t.loc["other", "d IoU-Min"] == pytest.approx(0.1)


def test_ambiguity_columns_are_the_summarys(make_rows):
    from rclicks.metrics.curves import summarize

    rows = []
    for i, (first, best) in enumerate(((0.2, 0.9), (0.6, 0.6), (0.5, 0.8))):
        r = make_rows("m", "d", "baseline", f"i{i}", [first, 0.95], max_clicks=2)
        for row, b in zip(r, (best, float("nan"))):
            row["best_iou"] = b
        rows += r
    df = pd.DataFrame(rows).astype({**SCHEMA, "best_iou": "float64"})
    t = build_table(df).iloc[0]
    s = summarize(df).iloc[0]
    assert t["d Best-of-K IoU@1"] == s["Best-of-K IoU@1"] == pytest.approx((0.9 + 0.6 + 0.8) / 3)
    assert t["d Ambiguity gap@1"] == pytest.approx((0.7 + 0.0 + 0.3) / 3)
    assert "d Best-of-K IoU@1" not in build_table(df.drop(columns="best_iou"))  # single-mask models: absent


def test_rows_covering_more_datasets_rank_first(make_table):
    """An Avg NoC@90 over one dataset is not comparable with one over two: the two-dataset row ranks first
    even when the one-dataset row's average is lower."""
    rng = np.random.default_rng(4)
    both = make_table(rng, models=("wide",), datasets=("grabcut", "davis"), clickers=("baseline",), instances=3, clicks=5)
    both["iou"] = 0.5  # never reaches 0.9: NoC@90 = 5 on both datasets
    one = make_table(rng, models=("narrow",), datasets=("grabcut",), clickers=("baseline",), instances=3, clicks=5)
    one["iou"] = 0.95  # NoC@90 = 1
    table = build_table(pd.concat([both, one], ignore_index=True))
    assert list(table["model"]) == ["wide", "narrow"]
    assert list(table["Avg NoC@90"]) == [5.0, 1.0]


def test_rows_run_with_more_clicks_rank_first(make_table):
    """NoC is capped at max_clicks: a 5-click row's low NoC@90 is not comparable with a 20-click row's, so the
    20-click row ranks first whatever the averages (then coverage, then Avg NoC@90)."""
    rng = np.random.default_rng(5)
    long = make_table(rng, models=("long",), datasets=("grabcut",), clickers=("baseline",), instances=3, clicks=20)
    long["iou"] = np.where(long["click"] >= 8, 0.95, 0.5)  # NoC@90 = 8
    short = make_table(rng, models=("short",), datasets=("grabcut", "davis"), clickers=("baseline",), instances=3, clicks=5)
    short["iou"] = np.where(short["click"] >= 2, 0.95, 0.5)  # NoC@90 = 2
    table = build_table(pd.concat([short, long], ignore_index=True))
    assert list(table["model"]) == ["long", "short"] and list(table["max_clicks"]) == [20, 5]
    assert list(table["Avg NoC@90"]) == [8.0, 2.0]

