"""IPOL robots against a literal re-computation of ``franchesoni/iislib``'s rules (robots.py, utils.py, gto99's interaction.py).

Random robots are compared by their exact probability map, deterministic ones click for click,
on crafted ties (equal FN/FP areas, touching FN and FP, repeated clicks) and real bundled masks.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage

from rclicks.registry import build_clicker
from rclicks.clickers.baseline import baseline_click, gto99_click
from rclicks.clickers.ipol import PROBABILITY_MAPS, fr_dist_map, fr_random_map, lfr_random_map, random_map
from rclicks.data import load_dataset
from rclicks.types import Click, Sample


def exact_distance(mask: np.ndarray) -> np.ndarray:
    """Padded L2 distance transform (``float64``, C order): SciPy's values are square roots of exact integers."""
    return np.ascontiguousarray(ndimage.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1])


def ref_false_mask(gt, pred):
    return np.logical_xor(pred, gt)


def ref_robot_01(gt, pred):
    return np.full(gt.shape, 1 / gt.size)


def ref_robot_02(gt, pred):
    false = ref_false_mask(gt, pred)
    return false / false.sum()


def ref_robot_03(gt, pred):
    false = ref_false_mask(gt, pred)
    labels, _ = ndimage.label(false)  # 4-connected (skimage's connectivity=1), numbered in row-major order
    values, counts = np.unique(labels[labels != 0], return_counts=True)
    largest = 1 * (labels == values[np.argmax(counts)])
    return largest / largest.sum()


def ref_robot_04(gt, pred, distance=exact_distance):
    dt = distance(ref_false_mask(gt, pred))
    inner = dt / dt.max()
    return inner / max(inner.sum(), 1e-6)


def cv2_distance(mask):
    return cv2.distanceTransform(np.pad(mask, 1).astype(np.uint8), cv2.DIST_L2, 0)[1:-1, 1:-1]


def ref_gto99(gt, pred) -> Click:
    largest = []
    for val in (0, 1):
        incorrect = (gt == val) & (pred != val)
        _, labels = cv2.connectedComponents(incorrect.astype(np.uint8) * 255)
        values, counts = np.unique(labels[labels != 0], return_counts=True)
        largest.append(labels == values[np.argmax(counts)] if counts.size else np.zeros_like(incorrect))
    cat = int(np.argmax([np.count_nonzero(x) for x in largest]))
    dist = exact_distance(largest[cat])
    y, x = np.unravel_index(dist.argmax(), dist.shape)
    return Click(x=int(x), y=int(y), positive=bool(gt[y, x]))


def rescaled_sum(p: np.ndarray) -> np.ndarray:
    """The reference's final normalisation applied to our map (same operands and order)."""
    inner = p / p.max()
    return inner / max(inner.sum(), 1e-6)


def assert_same_law(gt, pred, history=()):
    assert np.array_equal(random_map(gt, pred, None, history), ref_robot_01(gt, pred))
    assert np.array_equal(fr_random_map(gt, pred, None, history), ref_robot_02(gt, pred))
    assert np.array_equal(lfr_random_map(gt, pred, None, history), ref_robot_03(gt, pred))
    ours = fr_dist_map(gt, pred, None, history)
    assert np.array_equal(ours, exact_distance(ref_false_mask(gt, pred)) / exact_distance(ref_false_mask(gt, pred)).sum())
    assert np.array_equal(ours > 0, ref_robot_04(gt, pred) > 0)
    np.testing.assert_allclose(rescaled_sum(ours), ref_robot_04(gt, pred, cv2_distance), rtol=1e-6, atol=1e-12)
    assert PROBABILITY_MAPS["fr_dist_aware"][0] is PROBABILITY_MAPS["fr_dist"][0]
    assert gto99_click(gt, pred, None, history) == ref_gto99(gt, pred)


def test_equal_fn_fp_areas_gto99_clicks_fp():
    gt = np.zeros((20, 30), bool)
    gt[3:9, 3:9] = True
    pred = np.zeros_like(gt)
    pred[10:16, 20:26] = True  # 36 px FN, 36 px FP
    assert gto99_click(gt, pred) == ref_gto99(gt, pred) == Click(x=22, y=12, positive=False)
    assert_same_law(gt, pred)


def test_pure_shift_gives_equal_areas():
    gt = np.zeros((30, 40), bool)
    gt[8:22, 10:25] = True
    pred = np.roll(gt, 4, axis=1)
    click = gto99_click(gt, pred)
    assert not click.positive and click == ref_gto99(gt, pred)
    assert_same_law(gt, pred)


def test_touching_fn_and_fp_form_one_region():
    gt = np.zeros((12, 20), bool)
    gt[2:10, 2:8] = True  # FN block ...
    pred = np.zeros_like(gt)
    pred[2:10, 8:14] = True  # ... touching an FP block of the same size
    union = lfr_random_map(gt, pred)
    assert np.count_nonzero(union) == 96 and np.allclose(union[union > 0], 1 / 96)
    union_law, typed_law = fr_dist_map(gt, pred), PROBABILITY_MAPS["fr_dist_excl"][0](gt, pred)
    assert union_law.argmax() == np.ravel_multi_index((5, 5), gt.shape)  # 4 deep only in the union, on the FN side
    assert union_law[5, 7] == union_law[5, 5] and typed_law[5, 7] < typed_law[5, 5]  # the FN/FP contact is not a border
    assert_same_law(gt, pred)


def test_diagonal_contact_is_not_4_connected():
    gt = np.zeros((10, 10), bool)
    gt[1:4, 1:4] = True
    pred = np.zeros_like(gt)
    pred[4:8, 4:8] = True  # touches the FN only at a corner
    assert np.count_nonzero(lfr_random_map(gt, pred)) == 16
    assert_same_law(gt, pred)


def test_earlier_clicks_are_not_read():
    gt = np.zeros((15, 15), bool)
    gt[2:13, 2:13] = True
    pred = np.zeros_like(gt)
    first = gto99_click(gt, pred)
    history = [first, Click(3, 3, True)]
    assert gto99_click(gt, pred, None, history) == first
    for name in ("random", "fr_random", "lfr_random", "fr_dist", "fr_dist_aware"):
        prob_map = PROBABILITY_MAPS[name][0]
        assert np.array_equal(prob_map(gt, pred, None, history), prob_map(gt, pred, None, []))
        assert prob_map(gt, pred, None, history)[first.y, first.x] > 0
    assert_same_law(gt, pred, history)


def test_variants_exclude_earlier_clicks():
    gt = np.zeros((15, 15), bool)
    gt[2:13, 2:13] = True
    pred = np.zeros_like(gt)
    history = [Click(7, 7, True), Click(3, 3, True)]
    for name in ("random_excl", "fr_random_excl", "lfr_random_typed", "fr_dist_excl", "fr_dist_border"):
        prob = PROBABILITY_MAPS[name][0](gt, pred, None, history)
        assert prob[7, 7] == 0 and prob[3, 3] == 0 and prob.sum() == pytest.approx(1)


def test_no_error_left_falls_back_to_baseline():
    gt = np.zeros((10, 10), bool)
    gt[2:6, 2:6] = True
    s = Sample(np.zeros((10, 10, 3), np.uint8), gt, "s", "t")
    assert np.array_equal(random_map(gt, gt), ref_robot_01(gt, gt))
    for name in ("fr_random", "lfr_random", "fr_dist", "fr_dist_aware", "gto99"):
        assert build_clicker(name).next_click(s, gt.copy(), [], np.random.default_rng(0)) == baseline_click(gt, gt) == Click(0, 0, False)


def test_clicks_are_draws_from_the_map():
    gt = np.zeros((12, 16), bool)
    gt[2:10, 2:9] = True
    pred = np.zeros_like(gt)
    pred[4:11, 7:15] = True
    s = Sample(np.zeros((12, 16, 3), np.uint8), gt, "s", "t")
    for name in ("random", "fr_random", "lfr_random", "fr_dist"):
        prob = PROBABILITY_MAPS[name][0](gt, pred, None, [])
        assert prob.dtype == np.float64 and prob.shape == gt.shape and prob.sum() == pytest.approx(1, abs=1e-12)
        rng = np.random.default_rng(5)
        clicker = build_clicker(name)
        for _ in range(300):
            c = clicker.next_click(s, pred, [], rng)
            assert prob[c.y, c.x] > 0 and c.positive == gt[c.y, c.x]


def _perturbations(gt: np.ndarray, rng: np.random.Generator):
    """Shifted, eroded, dilated, holed and blob-added predictions of a real mask."""
    yield np.roll(gt, tuple(rng.integers(-12, 13, size=2)), axis=(0, 1))
    yield ndimage.binary_erosion(gt, iterations=int(rng.integers(1, 6)))
    yield ndimage.binary_dilation(gt, iterations=int(rng.integers(1, 6)))
    holed = gt.astype(np.uint8)
    ys, xs = np.nonzero(gt)
    cv2.circle(holed, (int(xs.mean()), int(ys.mean())), int(rng.integers(3, 30)), 0, -1)
    cv2.circle(holed, (int(rng.integers(0, gt.shape[1])), int(rng.integers(0, gt.shape[0]))), int(rng.integers(3, 30)), 1, -1)
    yield holed.astype(bool)
    yield np.roll(holed.astype(bool), (0, int(rng.integers(1, 8))), axis=(0, 1))


@pytest.mark.parametrize("dataset", ["grabcut", "davis"])
def test_real_perturbed_pairs(dataset):
    samples = load_dataset(dataset)
    rng = np.random.default_rng(0)
    compared = 0
    for i in range(0, len(samples), max(1, len(samples) // 6)):
        gt = samples[i].mask  # the GrabCut 128 band is False here: the reference would count it as object
        for pred in _perturbations(gt, rng):
            assert_same_law(gt, pred)
            compared += 1
    assert compared >= 30
