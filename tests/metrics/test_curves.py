"""NoC, NoF, mIoU@k and IoU-AuC on hand-made IoU sequences, and the table summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.metrics.curves import failed, failed_ritm, iou_auc, miou_at, noc, summarize


def test_noc_first_click_reaching_threshold():
    ious = [0.5, 0.86, 0.89, 0.91, 0.95]
    assert noc(ious, 0.85, 20) == 2
    assert noc(ious, 0.90, 20) == 4
    assert noc([0.5, 0.6], 0.9, 20) == 20


def test_nof_ours_vs_ritm_on_last_click():
    ious = [0.1] * 19 + [0.95]  # reaches 0.9 exactly on click 20
    assert not failed(ious, 0.9, 20)
    assert failed_ritm(ious, 0.9, 20)  # RITM counts NoC >= max_clicks as a failure
    assert failed([0.1] * 20, 0.9, 20) and failed_ritm([0.1] * 20, 0.9, 20)


def test_miou_and_padding():
    assert miou_at([0.2, 0.4, 0.6], 2) == 0.4
    assert miou_at([0.2, 0.4, 0.6], 5) == 0.6  # stopped early: last value carried


def test_auc_by_hand():
    # trapezoid over clicks 1..4: ((0+0.5)/2 + (0.5+1)/2 + (1+1)/2) / 3 = (0.25+0.75+1)/3
    assert iou_auc([0.0, 0.5, 1.0, 1.0], 4) == pytest.approx(2 / 3)
    assert iou_auc([0.7], 1) == 0.7
    assert iou_auc([1.0] * 10, 10) == 1.0


def _table(seqs):
    rows = []
    for inst, seq in seqs.items():
        for k, v in enumerate(seq):
            rows.append(dict(model="m", dataset="d", clicker="baseline", policy="single", seed=0, instance=inst,
                             click=k + 1, iou=v, biou=v / 2))
    return pd.DataFrame(rows)


def test_summarize_matches_scalar_functions():
    rng = np.random.default_rng(0)
    seqs = {f"i{i}": np.sort(rng.random(20)).tolist() for i in range(7)}
    s = summarize(_table(seqs), 20).iloc[0]
    assert s["n"] == 7
    assert s["NoC@90"] == pytest.approx(np.mean([noc(v, 0.9, 20) for v in seqs.values()]))
    assert s["NoF@85"] == sum(failed(v, 0.85, 20) for v in seqs.values())
    assert s["NoF@90_ritm"] == sum(failed_ritm(v, 0.9, 20) for v in seqs.values())
    assert s["mIoU@5"] == pytest.approx(np.mean([v[4] for v in seqs.values()]))
    assert s["IoU-AuC@10"] == pytest.approx(np.mean([iou_auc(v, 10) for v in seqs.values()]))
    assert s["BIoU-AuC@10"] == pytest.approx(np.mean([iou_auc(np.array(v) / 2, 10) for v in seqs.values()]))
