"""The RITM baseline robot and the gto99 robot.

``baseline`` reproduces ``isegm/inference/clicker.py`` of RITM (Sofiiuk et al., 2022),
the field's reference protocol: FN and FP regions (ignore excluded), each padded by one
pixel of background, exact L2 distance transform, multiplied by a "not yet clicked" map;
positive at the first row-major argmax of the FN distance if its maximum is strictly
larger than the FP maximum, else negative at the FP argmax. When there is no error at
all RITM clicks negative at pixel (0, 0); we keep that so click sequences match exactly.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from rclicks.clickers.base import ClickerSpec, register_clicker
from rclicks.clickers.regions import cropped_distance, error_regions, padded_distance, valid_or_none
from rclicks.types import Click, Sample


def _region_max(region: np.ndarray, history: Sequence[Click]) -> tuple[float, tuple[int, int]]:
    """Max of the padded, not-clicked distance map and its first row-major (row, col)."""
    res = cropped_distance(region, history)
    if res is None:
        return 0.0, (0, 0)
    dt, (r0, c0) = res
    idx = int(np.argmax(dt))
    r, c = divmod(idx, dt.shape[1])
    best = float(dt[r, c])
    return (best, (r0 + r, c0 + c)) if best > 0 else (0.0, (0, 0))


def baseline_click(
    gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()
) -> Click:
    """RITM's next click for ``bool`` ``H×W`` gt and prediction, given earlier clicks."""
    fn, fp = error_regions(gt, pred, valid)
    fn_max, (fr, fc) = _region_max(fn, history)
    fp_max, (pr, pc) = _region_max(fp, history)
    if fn_max > fp_max:
        return Click(x=fc, y=fr, positive=True)
    return Click(x=pc, y=pr, positive=False)


class BaselineClicker:
    """RITM-protocol robot: click the centre of the error region farthest from its border."""

    name = "baseline"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """Deterministic; ``rng`` is unused."""
        return baseline_click(sample.mask, pred_mask, valid_or_none(sample), history)


def largest_error_component(
    gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None
) -> tuple[np.ndarray, bool] | None:
    """The largest 8-connected false region (``bool`` ``H×W``) and whether it is a false negative.

    Ties in area go to the false-negative side, then to the component found first.
    """
    best: tuple[int, np.ndarray, bool] | None = None
    for region, positive in zip(error_regions(gt, pred, valid), (True, False)):
        if not region.any():
            continue
        n, labels, stats, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), connectivity=8)
        areas = stats[1:, cv2.CC_STAT_AREA]
        k = int(np.argmax(areas))
        if best is None or areas[k] > best[0]:
            best = (int(areas[k]), labels == k + 1, positive)
    return None if best is None else (best[1], best[2])


class Gto99Clicker:
    """gto99 robot: the centre (farthest-from-border pixel) of the largest connected false region."""

    name = "gto99"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """Deterministic; falls back to the baseline click when there is no error."""
        valid = valid_or_none(sample)
        found = largest_error_component(sample.mask, pred_mask, valid)
        if found is None:
            return baseline_click(sample.mask, pred_mask, valid, history)
        region, positive = found
        dt = padded_distance(region)
        r, c = divmod(int(np.argmax(dt)), dt.shape[1])
        return Click(x=c, y=r, positive=positive)


register_clicker(ClickerSpec("baseline", BaselineClicker, "RITM robot: farthest point from the error border (the field's reference)"))
register_clicker(ClickerSpec("gto99", Gto99Clicker, "centre of the largest connected false region (IPOL 2024)"))
