"""Weight-free click maps, the RClicks blur, the cache and the registry."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import gaussian_filter

from rclicks.clickmaps import blur_sigma, blurred
from rclicks.registry import CLICKMAPS, build_clickmap
from rclicks.clickmaps.distance import distance_map
from rclicks.errors import RClicksError


def _brute_distance(region: np.ndarray) -> np.ndarray:
    """Min Euclidean distance from each region pixel to a non-region pixel of the image (naive O(n²))."""
    out = np.zeros(region.shape)
    bg = np.argwhere(~region)
    for r, c in np.argwhere(region):
        out[r, c] = np.sqrt(((bg - (r, c)) ** 2).sum(1)).min()
    return out


def _img(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_uniform_is_the_error_region():
    err = np.zeros((6, 7), bool)
    err[1:4, 2:6] = True
    m = build_clickmap("uniform").click_map(_img(6, 7), err, err)
    assert m.dtype == np.float32
    np.testing.assert_array_equal(m, err.astype(np.float32))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distance_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    region = rng.random((14, 17)) > 0.35
    region[0, :] = True  # touches the image border: the border is not "outside" (RClicks, no padding)
    got = distance_map(region)
    np.testing.assert_allclose(got, _brute_distance(region), atol=1e-4)
    m = build_clickmap("distance").click_map(_img(14, 17), region, region)
    assert (m[~region] == 0).all() and (m[region] > 0).all()


def test_distance_of_empty_region_is_zero():
    assert not distance_map(np.zeros((5, 5), bool)).any()


def test_blur_sigma_and_recipe_match_scipy():
    assert blur_sigma(500, 500) == 5  # 5·√2·500 / (500·√2)
    assert blur_sigma(1080, 1920) == int(5 * np.hypot(1080, 1920) / (500 * np.sqrt(2)))  # 15
    assert blur_sigma(100, 100) == 1 and blur_sigma(50, 60) == 0
    err = np.zeros((300, 420), bool)
    err[40:250, 60:300] = True
    cmap = distance_map(err)
    sigma = blur_sigma(300, 420)
    expect = gaussian_filter(err.astype(np.float64), sigma=sigma) * cmap
    np.testing.assert_allclose(blurred(cmap, err), expect, atol=1e-4)
    m = build_clickmap("distance", blur=True)
    assert m.name == "distance+blur"
    np.testing.assert_allclose(m.click_map(_img(300, 420), err, err), expect, atol=1e-4)


def test_cache_returns_same_map_once_per_input():
    err = np.zeros((40, 40), bool)
    err[5:30, 5:30] = True
    m = build_clickmap("distance", cache_size=2)
    a = m.click_map(_img(40, 40), err, err)
    b = m.click_map(_img(40, 40), err, err)
    assert a is b and m.hits == 1 and m.misses == 1
    err2 = err.copy()
    err2[5, 5] = False
    c = m.click_map(_img(40, 40), err, err2)
    assert m.misses == 2 and c[5, 5] == 0
    with pytest.raises(ValueError):
        a[0, 0] = 1  # cached maps are read-only


def test_registry_and_input_errors():
    assert {"uniform", "distance", "saliency", "learned"} <= set(CLICKMAPS)
    with pytest.raises(RClicksError, match="unknown click map"):
        build_clickmap("nope")
    with pytest.raises(RClicksError, match="error_mask"):
        build_clickmap("uniform").click_map(_img(5, 5), np.zeros((5, 5), bool), np.zeros((4, 5), bool))
    with pytest.raises(RClicksError, match="image"):
        build_clickmap("uniform").click_map(np.zeros((5, 5)), np.zeros((5, 5), bool), np.zeros((5, 5), bool))
    with pytest.raises(RClicksError, match="checkpoint"):
        build_clickmap("learned")
