"""The RITM baseline robot and the gto99 robot.

``baseline`` reproduces ``isegm/inference/clicker.py`` of RITM (Sofiiuk et al., 2022),
the field's reference protocol: FN and FP regions (ignore excluded), each padded by one
pixel of background, L2 distance transform, multiplied by a "not yet clicked" map;
positive at the first row-major argmax of the FN distance if its maximum is strictly
larger than the FP maximum, else negative at the FP argmax. Distances are compared as
exact integer squares, so exact ties go to the true first row-major pixel. When there is
no error at all RITM clicks negative at pixel (0, 0); we keep that so click sequences
match exactly.

``gto99`` reproduces the robot of "Getting to 99% accuracy in interactive segmentation"
as used by IPOL 2024 (``franchesoni/iislib``, gto99's ``interaction.py``).
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from rclicks.clickers.regions import error_regions, farthest_pixel, valid_or_none
from rclicks.types import Click, Sample


def baseline_click(
    gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()
) -> Click:
    """RITM's next click for ``bool`` ``H×W`` gt and prediction, given earlier clicks."""
    fn, fp = error_regions(gt, pred, valid)
    fn_max, (fr, fc) = farthest_pixel(fn, history)
    fp_max, (pr, pc) = farthest_pixel(fp, history)
    if fn_max > fp_max:
        return Click(x=fc, y=fr, positive=True)
    return Click(x=pc, y=pr, positive=False)


class BaselineClicker:
    """RITM-protocol robot: click the centre of the error region farthest from its border."""

    name = "baseline"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """Deterministic; ``rng`` is unused."""
        return baseline_click(sample.mask, pred_mask, valid_or_none(sample), history)


def largest_component(region: np.ndarray, connectivity: int = 8) -> np.ndarray | None:
    """``bool`` ``H×W`` largest connected component of ``region`` (ties: OpenCV's lowest label), or None if empty."""
    n, labels = cv2.connectedComponents(region.view(np.uint8), connectivity=connectivity)
    if n < 2:
        return None
    return labels == int(np.argmax(np.bincount(labels.ravel())[1:])) + 1


def largest_error_component(
    gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None
) -> tuple[np.ndarray, bool] | None:
    """The largest 8-connected FP or FN component (``bool`` ``H×W``) and whether it is a false negative.

    As gto99: the largest component of each type, and the false positive one unless the
    false negative one is strictly larger; None when there is no error.
    """
    fn, fp = (largest_component(np.ascontiguousarray(r)) for r in error_regions(gt, pred, valid))
    if fp is None and fn is None:
        return None
    if fp is None or (fn is not None and np.count_nonzero(fn) > np.count_nonzero(fp)):
        return fn, True
    return fp, False


def gto99_click(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> Click:
    """gto99's click: first row-major farthest pixel of the largest error component; earlier clicks are not read.

    With no error left (where gto99 returns the sentinel (-1, -1)) it falls back to the baseline click.
    """
    found = largest_error_component(gt, pred, valid)
    if found is None:
        return baseline_click(gt, pred, valid, history)
    region, positive = found
    _, (r, c) = farthest_pixel(region)
    return Click(x=c, y=r, positive=positive)


class Gto99Clicker:
    """gto99 robot: the centre (farthest-from-border pixel) of the largest connected false region."""

    name = "gto99"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """Deterministic; ``rng`` is unused."""
        return gto99_click(sample.mask, pred_mask, valid_or_none(sample), history)
