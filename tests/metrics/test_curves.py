"""NoC, NoF, mIoU@k and IoU-AuC on hand-made IoU sequences, and the table summary.

The scalar functions are checked by hand; the table functions against the scalar ones
and against RITM's ``compute_noc_metric`` re-typed inside the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.errors import RClicksError
from rclicks.metrics.curves import (
    failed, human_axis, iou_auc, miou_at, never_reached, noc, per_click_curve, summarize, trajectory_matrix, trajectory_metrics,
)
from rclicks.metrics.mask import COUNT_METRICS, metric_from_counts
from tests.results_helpers import results_table


def test_noc_first_click_reaching_threshold():
    ious = [0.5, 0.86, 0.89, 0.91, 0.95]
    assert noc(ious, 0.85, 20) == 2
    assert noc(ious, 0.90, 20) == 4
    assert noc([0.5, 0.6], 0.9, 20) == 20


def test_nof_is_ritms_rule_and_the_never_variant_is_named():
    ious = [0.1] * 19 + [0.95]  # reaches 0.9 exactly on click 20
    assert failed(ious, 0.9, 20)  # RITM and RClicks count NoC == max_clicks as a failure
    assert not never_reached(ious, 0.9, 20)
    assert failed([0.1] * 20, 0.9, 20) and never_reached([0.1] * 20, 0.9, 20)


def test_miou_and_padding():
    assert miou_at([0.2, 0.4, 0.6], 2) == 0.4
    assert miou_at([0.2, 0.4, 0.6], 5, max_clicks=20) == 0.6  # stopped early: last value carried
    with pytest.raises(RClicksError, match="max_clicks=3"):
        miou_at([0.2, 0.4, 0.6], 5, max_clicks=3)


def test_auc_by_hand():
    # trapezoid over clicks 1..4: ((0+0.5)/2 + (0.5+1)/2 + (1+1)/2) / 3 = (0.25+0.75+1)/3
    assert iou_auc([0.0, 0.5, 1.0, 1.0], 4) == pytest.approx(2 / 3)
    assert iou_auc([0.7], 1) == 0.7
    assert iou_auc([1.0] * 10, 10) == 1.0
    # all clicks (RClicks' IoU): trapz / (max_clicks − 1)
    seq = np.linspace(0.2, 0.95, 20)
    assert iou_auc(seq) == pytest.approx(np.trapezoid(seq) / 19)


def test_one_definition_of_iou_auc_at_10():
    """The scalar and the table summary agree on a trajectory stopped early (issue: 0.915 vs 0.7925)."""
    seq = [0.5, 0.86, 0.95]
    # padded with its last IoU to click 10: (0.68 + 0.905 + 7 × 0.95) / 9
    assert iou_auc(seq, 10, max_clicks=20) == pytest.approx((0.68 + 0.905 + 7 * 0.95) / 9)
    df = results_table({("baseline", "a"): seq}, max_clicks=20)
    for _ in range(2):
        s = summarize(df).iloc[0]
    assert s["IoU-AuC@10"] == pytest.approx(iou_auc(seq, 10, max_clicks=20))
    # a trajectory that ran only 3 clicks has no IoU-AuC@10: NaN in the table, an error from the scalar
    short = summarize(results_table({("baseline", "a"): seq}, max_clicks=3)).iloc[0]
    assert np.isnan(short["IoU-AuC@10"]) and short["IoU-AuC"] == pytest.approx((0.68 + 0.905) / 2)
    with pytest.raises(RClicksError, match="IoU-AuC@10 needs"):
        iou_auc(seq, 10, max_clicks=3)


def test_numbers_do_not_depend_on_other_rows():
    """A model's NoC@90 stays the same when another model's 20-click run is added to the table."""
    five = {("baseline", f"i{i}"): [0.5, 0.7, 0.8, 0.95, 0.96] if i % 2 else [0.5, 0.6, 0.7, 0.8, 0.85] for i in range(4)}
    a = results_table(five, max_clicks=5, model="grabcut")
    alone = summarize(a).set_index("model").loc["grabcut"]
    twenty = results_table({("baseline", "i0"): [0.1] * 20}, max_clicks=20, model="other")
    mixed = summarize(pd.concat([a, twenty], ignore_index=True)).set_index("model").loc["grabcut"]
    assert alone["NoC@90"] == mixed["NoC@90"] == pytest.approx((4 + 5 + 4 + 5) / 4)
    assert alone["NoF@90"] == mixed["NoF@90"] == 2 and mixed["max_clicks"] == 5


def _ritm_compute_noc_metric(all_ious, iou_thrs, max_clicks=20):
    """RITM ``isegm/inference/utils.py::compute_noc_metric``, re-typed."""

    def _get_noc(iou_arr, iou_thr):
        vals = iou_arr >= iou_thr
        return np.argmax(vals) + 1 if np.any(vals) else max_clicks

    noc_list, over_max_list = [], []
    for iou_thr in iou_thrs:
        scores_arr = np.array([_get_noc(iou_arr, iou_thr) for iou_arr in all_ious], dtype=int)
        noc_list.append(scores_arr.mean())
        over_max_list.append((scores_arr >= max_clicks).sum())
    return noc_list, over_max_list


def test_summarize_matches_ritm_and_the_scalar_functions():
    rng = np.random.default_rng(0)
    seqs = {f"i{i}": np.round(np.sort(rng.random(20)), 2).tolist() for i in range(9)}
    seqs["i0"][-1] = 0.9  # reached exactly on the last click
    df = results_table({("baseline", k): v for k, v in seqs.items()}, max_clicks=20,
                       biou={("baseline", k): list(np.array(v) / 2) for k, v in seqs.items()})
    s = summarize(df).iloc[0]
    nocs, over = _ritm_compute_noc_metric([np.array(v) for v in seqs.values()], [0.85, 0.9, 0.95])
    assert s["n"] == 9
    assert [s["NoC@85"], s["NoC@90"], s["NoC@95"]] == pytest.approx(nocs)
    assert [s["NoF@85"], s["NoF@90"], s["NoF@95"]] == over
    assert s["NoF@90_never"] == sum(never_reached(v, 0.9, 20) for v in seqs.values())
    assert s["mIoU@5"] == pytest.approx(np.mean([v[4] for v in seqs.values()]))
    assert s["IoU-AuC@10"] == pytest.approx(np.mean([iou_auc(v, 10) for v in seqs.values()]))
    assert s["IoU-AuC"] == pytest.approx(np.mean([np.trapezoid(v) / 19 for v in seqs.values()]))
    assert s["BIoU-AuC@10"] == pytest.approx(np.mean([iou_auc(np.array(v) / 2, 10) for v in seqs.values()]))


def test_thresholds_are_configurable():
    df = results_table({("baseline", "a"): [0.5, 0.75, 0.99]})
    s = summarize(df, thresholds=(0.7, 0.98)).iloc[0]
    assert s["NoC@70"] == 2 and s["NoC@98"] == 3 and s["NoF@98"] == 1 and s["NoF@98_never"] == 0


def test_matrix_forward_fills_only_to_each_trajectorys_max_clicks():
    df = pd.concat([results_table({("baseline", "a"): [0.2, 0.9]}, max_clicks=4),
                    results_table({("baseline", "b"): [0.3]}, max_clicks=2)], ignore_index=True)
    tm = trajectory_matrix(df)
    assert tm.keys["instance"].tolist() == ["b", "a"]  # sorted by the trajectory keys (max_clicks before instance)
    assert tm.max_clicks.tolist() == [2, 4]
    np.testing.assert_array_equal(tm["iou"], [[0.3, 0.3, np.nan, np.nan], [0.2, 0.9, 0.9, 0.9]])


def test_trajectory_ids_equal_np_unique_of_the_combined_key_code_contiguous_or_not():
    """The run-based ids (keys encoded at run starts only) against a literal np.unique over every row's key tuple,
    on a table written trajectory by trajectory and on the same rows shuffled (trajectories in several runs)."""
    from rclicks.metrics.curves import TRAJECTORY_KEYS, _trajectory_ids

    df = pd.concat([results_table({(c, i): [0.2, 0.5, 0.9] for c in ("baseline", "g1") for i in ("b", "a", "c")}, max_clicks=3),
                    results_table({("baseline", "a"): [0.4, 0.8]}, max_clicks=5)], ignore_index=True)
    df["model"] = df["model"].astype("category")
    shuffled = df.sample(frac=1.0, random_state=0).reset_index(drop=True)
    for table in (df, shuffled):
        tuples = list(zip(*(table[k].astype(str) if k not in ("seed", "max_clicks") else table[k] for k in TRAJECTORY_KEYS)))
        order = sorted(set(tuples))
        ref_tid = np.array([order.index(t) for t in tuples])
        ref_first = np.array([tuples.index(t) for t in order])
        _, first, tid = _trajectory_ids(table)
        np.testing.assert_array_equal(tid, ref_tid)
        np.testing.assert_array_equal(first, ref_first)
    a, b = trajectory_matrix(df), trajectory_matrix(shuffled)
    np.testing.assert_array_equal(a["iou"], b["iou"])
    pd.testing.assert_frame_equal(a.keys, b.keys)


def test_count_metrics_by_hand():
    tp, fp, fn, tn = np.array([30, 0, 0]), np.array([10, 0, 5]), np.array([20, 0, 5]), np.array([40, 100, 90])
    assert metric_from_counts("iou", tp, fp, fn, tn) == pytest.approx([0.5, 1.0, 0.0])
    assert metric_from_counts("dice", tp, fp, fn, tn) == pytest.approx([60 / 90, 1.0, 0.0])
    assert metric_from_counts("precision", tp, fp, fn, tn) == pytest.approx([0.75, 1.0, 0.0])
    assert metric_from_counts("recall", tp, fp, fn, tn) == pytest.approx([0.6, 1.0, 0.0])
    assert metric_from_counts("accuracy", tp, fp, fn, tn) == pytest.approx([0.7, 1.0, 0.9])
    assert metric_from_counts("fscore", tp, fp, fn, tn) == pytest.approx([2 * 0.75 * 0.6 / 1.35, 1.0, 0.0])
    assert set(COUNT_METRICS) == {"iou", "dice", "precision", "recall", "accuracy", "fscore"}


def test_per_click_curve_of_count_metrics():
    df = results_table({("baseline", "a"): [0.5, 0.8], ("baseline", "b"): [0.3, 0.9]})
    curve = per_click_curve(df, metrics=("iou", "dice", "recall"))
    assert curve["iou"].tolist() == pytest.approx([0.4, 0.85])
    # the helper's counts: tp = 100·IoU, fn = 100 − tp, fp = 0 → recall = IoU, dice = 2tp / (tp + 100)
    assert curve["recall"].tolist() == pytest.approx([0.4, 0.85])
    assert curve["dice"].tolist() == pytest.approx([(100 / 150 + 60 / 130) / 2, (160 / 180 + 180 / 190) / 2])
    assert trajectory_metrics(df, at=(2,))["iou@2"].tolist() == pytest.approx([0.8, 0.9])


def test_human_axis_with_proposed_clicks_beside_runs_without_sources():
    """A store mixes a proposer run (source human/model) with runs whose source is null (written before sources)."""
    prop = results_table({("baseline", "a"): [0.5, 0.7, 0.8, 0.92]})  # 2 human + 2 model clicks
    prop["source"] = pd.array(["human", "model", "human", "model"], dtype="string")
    prop["max_clicks"] = 2
    from rclicks.results import validate_results

    validate_results(prop)  # 4 clicks on a budget of 2 human clicks: valid because two are the model's
    plain = results_table({("baseline", "b"): [0.4, 0.95]}, max_clicks=2)
    plain["source"] = pd.array([pd.NA, pd.NA], dtype="string")
    df = pd.concat([prop, plain], ignore_index=True)
    human = human_axis(df).set_index(["instance", "click"])["iou"]
    assert human.to_dict() == {("a", 1): 0.7, ("a", 2): 0.92, ("b", 1): 0.4, ("b", 2): 0.95}
    s = summarize(human_axis(df)).iloc[0]
    assert s["NoC@90"] == pytest.approx((2 + 2) / 2) and s["max_clicks"] == 2
    assert summarize(df).iloc[0]["NoC@90"] == pytest.approx((4 + 2) / 2)  # the all-clicks axis counts the proposals
