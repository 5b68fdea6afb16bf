"""Baseline (RITM) and gto99 robots on crafted masks, against hand values and a naive reimplementation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from rclicks.clickers.baseline import BaselineClicker, Gto99Clicker, baseline_click
from rclicks.types import Click, Sample


def naive_ritm_click(gt, pred, valid, history):
    """RITM's _get_next_click written literally, with scipy's exact EDT on the full padded image."""
    fn = gt & ~pred & valid
    fp = ~gt & pred & valid
    not_clicked = np.ones_like(gt)
    for c in history:
        not_clicked[c.y, c.x] = False
    fn_dt = ndimage.distance_transform_edt(np.pad(fn, 1))[1:-1, 1:-1] * not_clicked
    fp_dt = ndimage.distance_transform_edt(np.pad(fp, 1))[1:-1, 1:-1] * not_clicked
    positive = fn_dt.max() > fp_dt.max()
    dt = fn_dt if positive else fp_dt
    ys, xs = np.where(dt == dt.max())
    return Click(x=xs[0], y=ys[0], positive=positive)


def test_single_square_centre_by_hand():
    gt = np.zeros((9, 9), bool)
    gt[2:7, 2:7] = True  # 5×5 square, centre (4, 4), distance 3 to the outside
    click = baseline_click(gt, np.zeros_like(gt))
    assert click == Click(x=4, y=4, positive=True)


def test_tie_takes_first_row_major():
    gt = np.zeros((6, 8), bool)
    gt[1:5, 1:7] = True  # 4×6 rectangle: max distance 2 along rows 2..3, cols 2..5
    click = baseline_click(gt, np.zeros_like(gt))
    assert (click.x, click.y) == (2, 2)


def test_image_border_counts_as_border():
    gt = np.ones((5, 5), bool)  # object fills the image: padding makes the centre the farthest point
    assert baseline_click(gt, np.zeros_like(gt)) == Click(2, 2, True)


def test_negative_when_false_positive_is_deeper():
    gt = np.zeros((20, 20), bool)
    gt[2:5, 2:5] = True  # small object, fully missed
    pred = np.zeros_like(gt)
    pred[8:19, 8:19] = True  # a large false positive
    click = baseline_click(gt, pred)
    assert click == Click(x=13, y=13, positive=False)


def test_equal_depth_goes_negative():
    gt = np.zeros((10, 20), bool)
    gt[2:5, 2:5] = True
    pred = np.zeros_like(gt)
    pred[2:5, 12:15] = True  # FN and FP with the same max distance (2): RITM clicks negative
    assert baseline_click(gt, pred) == Click(x=13, y=3, positive=False)


def test_hole_and_clicked_pixel_excluded():
    gt = np.zeros((11, 11), bool)
    gt[1:10, 1:10] = True
    gt[5, 5] = False  # a hole at the centre
    first = baseline_click(gt, np.zeros_like(gt))
    assert first == naive_ritm_click(gt, np.zeros_like(gt), np.ones_like(gt), [])
    assert first.positive and (first.x, first.y) != (5, 5)
    second = baseline_click(gt, np.zeros_like(gt), history=[first])
    assert (second.x, second.y) != (first.x, first.y)
    assert second == naive_ritm_click(gt, np.zeros_like(gt), np.ones_like(gt), [first])


def test_ignore_band_is_not_an_error():
    gt = np.zeros((12, 12), bool)
    gt[3:9, 3:9] = True
    ignore = np.zeros_like(gt)
    ignore[3:9, 3:6] = True  # left half of the object is "uncertain"
    sample = Sample(np.zeros((12, 12, 3), np.uint8), gt, "t", "t", ignore=ignore)
    click = BaselineClicker().next_click(sample, np.zeros_like(gt), [], np.random.default_rng(0))
    assert click.positive and click.x >= 6  # only the right half counts as a false negative
    assert click == naive_ritm_click(gt, np.zeros_like(gt), ~ignore, [])


def test_perfect_prediction_clicks_origin_like_ritm():
    gt = np.zeros((8, 8), bool)
    gt[2:6, 2:6] = True
    assert baseline_click(gt, gt.copy()) == Click(0, 0, False)


@pytest.mark.parametrize("seed", range(25))
def test_matches_naive_ritm_on_random_masks(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(8, 60, size=2)
    gt = ndimage.binary_opening(rng.random((h, w)) > 0.45)
    pred = ndimage.binary_opening(rng.random((h, w)) > 0.5)
    valid = rng.random((h, w)) > 0.1
    history = []
    for _ in range(6):
        ours = baseline_click(gt, pred, valid, history)
        assert ours == naive_ritm_click(gt, pred, valid, history)
        history.append(ours)
        pred = pred.copy()
        pred[ours.y, ours.x] = ours.positive


def test_gto99_picks_largest_component_centre():
    gt = np.zeros((20, 30), bool)
    gt[1:4, 1:4] = True  # small FN region (3×3)
    gt[8:17, 10:25] = True  # large FN region (9×15), centre row 12
    click = Gto99Clicker().next_click(Sample(np.zeros((20, 30, 3), np.uint8), gt, "t", "t"), np.zeros_like(gt), [], np.random.default_rng(0))
    assert click.positive and click.y == 12 and 14 <= click.x <= 20
