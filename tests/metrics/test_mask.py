"""Mask metrics against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from rclicks.errors import RClicksError
from rclicks.metrics.mask import accuracy, boundary, boundary_iou, boundary_width, dice, iou, precision, recall


def _square(r0, r1, c0, c1, shape=(100, 100)):
    m = np.zeros(shape, bool)
    m[r0 : r1 + 1, c0 : c1 + 1] = True
    return m


def test_iou_dice_precision_recall_by_hand():
    gt = np.zeros((4, 4), bool)
    gt[0, :] = True  # 4 px
    pred = np.zeros((4, 4), bool)
    pred[0, :2] = pred[1, :2] = True  # 4 px, 2 overlap
    assert iou(gt, pred) == pytest.approx(2 / 6)
    assert dice(gt, pred) == pytest.approx(4 / 8)
    assert precision(gt, pred) == pytest.approx(0.5)
    assert recall(gt, pred) == pytest.approx(0.5)
    assert accuracy(gt, pred) == pytest.approx(12 / 16)


def test_ignore_region_excluded():
    gt = np.zeros((4, 4), bool)
    gt[0, :] = True
    pred = np.zeros((4, 4), bool)
    pred[0, :2] = pred[1, :2] = True
    valid = np.ones((4, 4), bool)
    valid[1, :] = False  # the two FP pixels are ignored
    assert iou(gt, pred, valid) == pytest.approx(2 / 4)


def test_boundary_width_is_two_percent_of_diagonal():
    assert boundary_width((100, 100)) == 3  # round(0.02 × 141.4) = round(2.83)
    assert boundary_width((1080, 1920)) == 44
    assert boundary_width((10, 10)) == 1  # at least one


def test_boundary_band_of_square():
    band = boundary(_square(20, 79, 20, 79), 3)
    assert band.sum() == 60 * 60 - 54 * 54


def test_boundary_iou_on_squares_by_hand():
    gt = _square(20, 79, 20, 79)
    assert boundary_iou(gt, gt) == 1.0
    assert boundary_iou(gt, _square(10, 89, 10, 89)) == 0.0  # rings do not touch
    assert iou(gt, _square(10, 89, 10, 89)) == pytest.approx(3600 / 6400)
    # Prediction reaching the right image border: the border counts as edge (padding).
    # gt ring 684 px, prediction ring 4800 - 54*74 = 804 px, shared 360 + 162 = 522 px.
    assert boundary_iou(gt, _square(20, 79, 20, 99)) == pytest.approx(522 / (684 + 804 - 522))


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(RClicksError, match="shapes differ"):
        iou(np.zeros((3, 3), bool), np.zeros((3, 4), bool))


def test_confusion_batch_is_confusion_of_each_mask():
    from rclicks.metrics.mask import confusion, confusion_batch

    rng = np.random.default_rng(3)
    gt = rng.random((13, 17)) < 0.4
    masks = rng.random((5, 13, 17)) < 0.5
    valid = rng.random((13, 17)) < 0.9
    for v in (None, valid):
        got = confusion_batch(gt, masks, v)
        assert got.dtype == np.int64 and got.shape == (5, 4)
        assert [tuple(r) for r in got] == [confusion(gt, m, v) for m in masks]
    assert tuple(confusion_batch(gt, gt[None], None)[0]) == (int(gt.sum()), 0, 0, int((~gt).sum()))  # by hand
