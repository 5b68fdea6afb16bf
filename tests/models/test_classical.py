"""Weight-free models on a real bundled image."""

from __future__ import annotations

import numpy as np
import pytest

from rclicks.clickers.baseline import baseline_click
from rclicks.metrics.mask import iou
from rclicks.registry import build_model
from rclicks.types import Click


@pytest.mark.parametrize("name,min_iou", [("grabcut", 0.8), ("random_walker", 0.3)])
def test_clicks_improve_segmentation(grabcut, name, min_iou):
    s = grabcut[1]
    m = build_model(name)
    m.set_image(s.image)
    clicks = [baseline_click(s.mask, np.zeros_like(s.mask), s.valid)]
    pred = m.predict(clicks)
    assert pred.prob.shape == s.mask.shape and pred.prob.dtype == np.float32
    assert 0.0 <= pred.prob.min() and pred.prob.max() <= 1.0
    for _ in range(3):
        clicks.append(baseline_click(s.mask, pred.mask, s.valid, clicks))
        pred = m.predict(clicks, pred)
    assert iou(s.mask, pred.mask, s.valid) > min_iou


def test_grabcut_honours_definite_labels():
    img = np.zeros((40, 40, 3), np.uint8)
    img[10:30, 10:30] = 255
    m = build_model("grabcut", radius=2)
    m.set_image(img)
    p = m.predict([Click(20, 20, True), Click(12, 12, False)])
    assert p.mask[20, 20] and not p.mask[12, 12]
