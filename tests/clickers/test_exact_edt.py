"""Exact integer distances: brute force, RITM's rule in exact arithmetic, OpenCV thread counts, RITM's own Clicker."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage

from rclicks.clickers.baseline import baseline_click
from rclicks.clickers.regions import farthest_pixel, squared_distance
from rclicks.data import load_dataset
from rclicks.types import Click


@pytest.fixture(params=[1, None], ids=["cv2-1-thread", "cv2-default"])
def cv2_threads(request):
    before = cv2.getNumThreads()
    if request.param is not None:
        cv2.setNumThreads(request.param)
    yield
    cv2.setNumThreads(before)


def brute_squared_distance(region: np.ndarray) -> np.ndarray:
    """Min over every background pixel of the one-pixel-padded image of the integer squared offset."""
    padded = np.pad(region, 1)
    br, bc = np.nonzero(~padded)
    out = np.zeros(region.shape, np.int64)
    for r, c in zip(*np.nonzero(region)):
        out[r, c] = ((br - r - 1) ** 2 + (bc - c - 1) ** 2).min()
    return out


def exact_squared_distance(region: np.ndarray) -> np.ndarray:
    """SciPy's float64 EDT of the padded region squared back to integers (sqrt of exact integers)."""
    return np.rint(ndimage.distance_transform_edt(np.pad(region, 1))[1:-1, 1:-1] ** 2).astype(np.int64)


def ritm_rule(gt, pred, valid, history, distance=brute_squared_distance) -> Click:
    """RITM's _get_next_click with exact integer squared distances."""
    keep = np.ones(gt.shape, bool)
    for c in history:
        keep[c.y, c.x] = False
    fn = distance(gt & ~pred & valid) * keep
    fp = distance(~gt & pred & valid) * keep
    positive = fn.max() > fp.max()
    dt = fn if positive else fp
    ys, xs = np.where(dt == dt.max())
    return Click(x=int(xs[0]), y=int(ys[0]), positive=bool(positive))


def tie_heavy_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Union of integer rectangles and discs: many pixels share the exact maximum distance."""
    m = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 5)):
        r, c = rng.integers(0, h), rng.integers(0, w)
        if rng.random() < 0.5:
            m[r : r + rng.integers(2, h + 2), c : c + rng.integers(2, w + 2)] = 1
        else:
            cv2.circle(m, (int(c), int(r)), int(rng.integers(1, max(h, w) // 2 + 2)), 1, -1)
    return m.astype(bool)


def random_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Tie-heavy shapes half the time, opened noise otherwise."""
    if rng.random() < 0.5:
        return tie_heavy_mask(rng, h, w)
    return ndimage.binary_opening(rng.random((h, w)) > rng.uniform(0.3, 0.6))


@pytest.mark.parametrize("seed", range(40))
def test_squared_distance_is_brute_force(seed):
    rng = np.random.default_rng(seed)
    region = random_mask(rng, *rng.integers(1, 40, size=2))
    assert np.array_equal(squared_distance(region), brute_squared_distance(region))


@pytest.mark.parametrize("seed", range(40))
def test_farthest_pixel_is_first_row_major_exact_max(seed, cv2_threads):
    rng = np.random.default_rng(seed)
    region = random_mask(rng, *rng.integers(1, 50, size=2))
    history = [Click(int(x), int(y), True) for y, x in zip(rng.integers(0, region.shape[0], 5), rng.integers(0, region.shape[1], 5))]
    d2 = brute_squared_distance(region)
    for c in history:
        d2[c.y, c.x] = 0
    r, c = divmod(int(np.argmax(d2)), d2.shape[1])
    assert farthest_pixel(region, history) == ((int(d2.max()), (r, c)) if d2.max() > 0 else (0, (0, 0)))


def test_farthest_pixel_does_not_depend_on_the_frame(cv2_threads):
    rng = np.random.default_rng(0)
    for _ in range(30):
        region = tie_heavy_mask(rng, 60, 80)
        big = np.zeros((300, 500), bool)
        big[123:183, 201:281] = region
        d2, (r, c) = farthest_pixel(region)
        assert farthest_pixel(big) == (d2, (r + 123, c + 201)) or d2 == 0


@pytest.mark.parametrize("seed", range(30))
def test_baseline_is_ritm_rule_in_exact_arithmetic(seed, cv2_threads):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(8, 48, size=2)
    gt = random_mask(rng, h, w)
    pred = np.roll(gt, rng.integers(-3, 4, size=2), axis=(0, 1)) if rng.random() < 0.5 else random_mask(rng, h, w)
    valid = rng.random((h, w)) > 0.05
    history = []
    for _ in range(8):
        ours = baseline_click(gt, pred, valid, history)
        assert ours == ritm_rule(gt, pred, valid, history)
        history.append(ours)
        pred = pred.copy()
        pred[ours.y, ours.x] = ours.positive


def _shifted_pairs():
    """Real DAVIS and GrabCut masks against their shifts (equal-width FN/FP slivers: exact ties everywhere)."""
    davis, grabcut = load_dataset("davis"), load_dataset("grabcut")
    for sample in [davis[i] for i in (0, 40, 120, 300)] + [grabcut[i] for i in (0, 7, 21, 44)]:
        for dy, dx in ((0, 9), (5, 0), (-4, 4)):
            yield sample.mask, np.roll(sample.mask, (dy, dx), axis=(0, 1))


def test_baseline_on_real_shifted_masks(cv2_threads):
    for gt, pred in _shifted_pairs():
        valid = np.ones_like(gt)
        history = []
        for _ in range(4):
            ours = baseline_click(gt, pred, valid, history)
            assert ours == ritm_rule(gt, pred, valid, history, distance=exact_squared_distance)
            history.append(ours)


def test_ritm_annotation_clicker_differs_only_at_exact_ties(cv2_threads):
    clicker_module = pytest.importorskip("ritm_annotation.inference.clicker")
    compared = differ = 0
    for gt, pred in _shifted_pairs():
        ritm = clicker_module.Clicker(gt_mask=gt.astype(np.int32))
        history = []
        for _ in range(4):
            ours = baseline_click(gt, pred, None, history)
            ritm.make_next_click(pred)
            theirs = ritm.get_clicks()[-1]
            (ty, tx), compared = theirs.coords, compared + 1
            if (ours.y, ours.x, ours.positive) != (ty, tx, theirs.is_positive):
                differ += 1
                region = (gt & ~pred) if ours.positive else (pred & ~gt)
                d2 = exact_squared_distance(region)
                assert theirs.is_positive == ours.positive and d2[ty, tx] == d2[ours.y, ours.x]
                assert ours.y * gt.shape[1] + ours.x < ty * gt.shape[1] + tx
            history.append(ours)
    assert compared == 96 and differ <= compared // 10
