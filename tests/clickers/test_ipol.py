"""IPOL robots: valid, labelled by gt, reproducible from the seed, and with the right sampling law."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, stats

from rclicks.registry import build_clicker
from rclicks.types import Click, Sample


def _sample():
    gt = np.zeros((30, 40), bool)
    gt[5:25, 5:20] = True
    ignore = np.zeros_like(gt)
    ignore[0:3, :] = True
    return Sample(np.zeros((30, 40, 3), np.uint8), gt, "s", "t", ignore=ignore)


@pytest.mark.parametrize(
    "name",
    ["random", "fr_random", "lfr_random", "fr_dist", "fr_dist_aware", "random_excl", "fr_random_excl", "lfr_random_typed", "fr_dist_excl", "fr_dist_border"],
)
def test_reproducible_and_valid(name):
    s = _sample()
    pred = np.zeros_like(s.mask)
    pred[10:28, 15:35] = True
    fn, fp = s.mask & ~pred & ~s.ignore, pred & ~s.mask & ~s.ignore
    clicker = build_clicker(name)
    a = [clicker.next_click(s, pred, [], np.random.default_rng(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(1)
    for _ in range(200):
        c = clicker.next_click(s, pred, [], rng)
        assert not s.ignore[c.y, c.x]
        assert c.positive == bool(s.mask[c.y, c.x])
        if not name.startswith("random"):
            assert fn[c.y, c.x] or fp[c.y, c.x]


def test_lfr_random_stays_in_largest_region():
    s = _sample()
    pred = s.mask.copy()
    pred[5:8, 5:8] = False  # small FN (9 px)
    pred[26:30, 0:40] = True  # large FP (160 px)
    rng = np.random.default_rng(3)
    for _ in range(100):
        c = build_clicker("lfr_random").next_click(s, pred, [], rng)
        assert not c.positive and c.y >= 26


def test_fr_dist_frequencies_follow_distance_transform():
    gt = np.zeros((9, 9), bool)
    gt[1:8, 1:8] = True
    s = Sample(np.zeros((9, 9, 3), np.uint8), gt, "s", "t")
    pred = np.zeros_like(gt)
    expected = ndimage.distance_transform_edt(np.pad(gt, 1))[1:-1, 1:-1].ravel()
    expected = expected / expected.sum()
    rng = np.random.default_rng(0)
    counts = np.zeros(81)
    n = 20000
    clicker = build_clicker("fr_dist")
    for _ in range(n):
        c = clicker.next_click(s, pred, [], rng)
        counts[c.y * 9 + c.x] += 1
    keep = expected > 0
    assert counts[~keep].sum() == 0
    chi2, p = stats.chisquare(counts[keep], expected[keep] * n)
    assert p > 0.001


def test_fr_dist_border_avoids_previous_click():
    gt = np.zeros((21, 21), bool)
    gt[1:20, 1:20] = True
    s = Sample(np.zeros((21, 21, 3), np.uint8), gt, "s", "t")
    history = [Click(10, 10, True)]
    rng = np.random.default_rng(0)
    near = 0
    for _ in range(2000):
        c = build_clicker("fr_dist_border").next_click(s, np.zeros_like(gt), history, rng)
        assert (c.x, c.y) != (10, 10)
        near += abs(c.x - 10) + abs(c.y - 10) <= 1
    plain_near = 0
    for _ in range(2000):
        c = build_clicker("fr_dist").next_click(s, np.zeros_like(gt), history, rng)
        plain_near += abs(c.x - 10) + abs(c.y - 10) <= 1
    assert near < plain_near
