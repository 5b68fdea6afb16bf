"""Heatmap rows in the one results table, and the first-click spread computed from them (re-computed here by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.attacks.adaptive import adaptive_heatmap
from rclicks.attacks.heatmap import click_heatmap, heatmap_rows
from rclicks.errors import RClicksError
from rclicks.metrics.robustness import first_click_spread, heatmap_summary
from rclicks.results import read_results, validate_results, write_results
from rclicks.types import Prediction, Sample


class Disk:
    """A disk of radius ``r`` around the last click: the IoU of a click is known in closed form (``iou_at``)."""

    name = "disk"
    multimask = False
    weights_sha256 = "toy"

    def __init__(self, r: float = 9.0) -> None:
        self.r = r

    def set_image(self, image):
        self.shape = image.shape[:2]

    def disk(self, x: int, y: int) -> np.ndarray:
        yy, xx = np.mgrid[: self.shape[0], : self.shape[1]]
        return (xx - x) ** 2 + (yy - y) ** 2 < self.r**2

    def predict(self, clicks, prev=None, **_):
        return Prediction(prob=self.disk(clicks[-1].x, clicks[-1].y).astype(np.float32))


def _samples() -> list[Sample]:
    a = np.zeros((48, 64), bool)
    a[6:42, 8:58] = True
    a[18:30, 26:40] = False  # a hole: clicks next to it cover less object
    b = np.zeros((48, 64), bool)
    b[10:30, 10:30] = True
    ignore = np.zeros_like(b)
    ignore[:, 28:34] = True  # an ignore band across the object's right edge
    return [Sample(image=np.zeros((48, 64, 3), np.uint8), mask=a, name="a", dataset="toy"),
            Sample(image=np.zeros((48, 64, 3), np.uint8), mask=b, name="b", dataset="toy", ignore=ignore)]


def _by_hand(sample: Sample, stride: int) -> dict[tuple[int, int], float]:
    """IoU over valid pixels of the disk at every grid position ``stride//2 + k·stride`` on a valid object pixel."""
    m = Disk()
    m.set_image(sample.image)
    valid = np.ones_like(sample.mask) if sample.ignore is None else ~sample.ignore
    out = {}
    for y in range(stride // 2, sample.mask.shape[0], stride):
        for x in range(stride // 2, sample.mask.shape[1], stride):
            if sample.mask[y, x] and valid[y, x]:
                d = m.disk(x, y)
                out[(x, y)] = float((d & sample.mask & valid).sum() / ((d | sample.mask) & valid).sum())
    return out


def test_grid_rows_are_results_rows_and_the_spread_is_max_minus_min_per_instance(tmp_path):
    samples = _samples()
    rows = heatmap_rows(Disk(), samples, stride=4, const={"dataset_fingerprint": "toy-fp"})
    df = validate_results(pd.DataFrame(rows))  # the results contract, as every other clicker's rows
    assert set(df["clicker"]) == {"heatmap"} and set(df["click"]) == {1} and set(df["max_clicks"]) == {1}
    assert set(df["protocol"]) == {"heatmap"} and set(df["clickmap"]) == {"grid stride=4"} and set(df["policy"]) == {"single"}
    assert df["positive"].all() and (df["source"] == "human").all() and df["biou"].isna().all()
    # every row's counts give its IoU, and the IoU is the hand-computed one at that position
    np.testing.assert_allclose(df["iou"], df["tp"] / (df["tp"] + df["fp"] + df["fn"]))
    hand = {s.instance: _by_hand(s, 4) for s in samples}
    for inst, g in df.groupby("instance"):
        assert {(int(x), int(y)) for x, y in zip(g["x"], g["y"])} == set(hand[inst])
        np.testing.assert_allclose([hand[inst][(int(x), int(y))] for x, y in zip(g["x"], g["y"])], g["iou"], atol=1e-12)

    # the one results table: written and read back like any run, then summarised
    path = write_results(df, tmp_path / "hm.parquet")
    back = read_results(path)
    spread = first_click_spread(back)
    expected = np.mean([max(h.values()) - min(h.values()) for h in hand.values()])
    assert len(spread) == 1 and spread["instances"].iloc[0] == 2
    assert spread["First-click spread"].iloc[0] == pytest.approx(expected, abs=1e-12)
    assert spread["First-click worst IoU"].iloc[0] == pytest.approx(np.mean([min(h.values()) for h in hand.values()]), abs=1e-12)
    assert spread["First-click best IoU"].iloc[0] == pytest.approx(np.mean([max(h.values()) for h in hand.values()]), abs=1e-12)

    # per instance: the same numbers as the heatmap's own summary (worst / best position included)
    per = heatmap_summary(back).set_index("instance")
    for s in samples:
        summ = click_heatmap(Disk(), s, stride=4).summary
        row = per.loc[s.instance]
        assert row["positions"] == summ["positions"] == len(hand[s.instance])
        for key in ("min", "max", "spread", "mean", "frac_below_0.5"):
            assert row[key] == pytest.approx(summ[key], abs=1e-12), key
        assert [row["worst_x"], row["worst_y"]] == summ["worst"] and [row["best_x"], row["best_y"]] == summ["best"]


def test_adaptive_rows_are_the_evaluated_points():
    s = _samples()[0]
    res = adaptive_heatmap(Disk(), s, stride=2, coarse=16, edge=4)
    df = validate_results(pd.DataFrame(heatmap_rows(Disk(), [s], stride=2, heatmap=adaptive_heatmap, coarse=16, edge=4)))
    assert len(df) == res.calls and set(df["clickmap"]) == {f"adaptive stride=2 tol={res.tolerance:g}"}
    np.testing.assert_allclose(df["iou"], df["tp"] / (df["tp"] + df["fp"] + df["fn"]))
    per = heatmap_summary(df).iloc[0]
    summ = res.summary  # min, max, spread, worst, best of the adaptive map are those of its evaluated points
    assert (per["min"], per["max"]) == (summ["min"], summ["max"]) and per["spread"] == pytest.approx(summ["spread"])
    assert [per["worst_x"], per["worst_y"]] == summ["worst"] and [per["best_x"], per["best_y"]] == summ["best"]


def test_spread_needs_heatmap_rows():
    with pytest.raises(RClicksError, match="no heatmap rows"):
        first_click_spread(pd.DataFrame({k: ["m"] for k in ("model", "dataset", "policy", "clickmap", "instance")}
                                        | {"clicker": ["baseline"], "click": [1], "x": [0], "y": [0], "iou": [0.5]}))
