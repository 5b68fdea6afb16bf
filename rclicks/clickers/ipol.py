"""The stochastic clicking robots of "Comparing interactive image segmentation models under
different clicking procedures" (IPOL 2024).

All draw from the ``numpy.random.Generator`` they are given. When there is no false
region left, each falls back to the baseline click (documented in docs/protocol.md).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from rclicks.clickers.base import ClickerSpec, register_clicker
from rclicks.clickers.baseline import baseline_click, largest_error_component
from rclicks.clickers.regions import cropped_distance, error_regions, sample_weighted, valid_or_none
from rclicks.types import Click, Sample


def _not_clicked(shape: tuple[int, int], history: Sequence[Click]) -> np.ndarray:
    m = np.ones(shape, dtype=bool)
    for c in history:
        m[c.y, c.x] = False
    return m


def _uniform_click(region: np.ndarray, gt: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click | None:
    """A pixel drawn uniformly from ``region`` minus earlier clicks, labelled by the gt."""
    candidates = np.flatnonzero(region & _not_clicked(region.shape, history))
    if candidates.size == 0:
        return None
    r, c = divmod(int(candidates[rng.integers(candidates.size)]), region.shape[1])
    return Click(x=c, y=r, positive=bool(gt[r, c]))


class RandomClicker:
    """``random``: uniform over the (valid) image; the label comes from the gt."""

    name = "random"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """Uniform draw over valid, not-yet-clicked pixels."""
        click = _uniform_click(sample.valid, sample.mask, history, rng)
        return click or baseline_click(sample.mask, pred_mask, valid_or_none(sample), history)


class FalseRegionRandomClicker:
    """``fr_random``: uniform over the whole false region (FN ∪ FP)."""

    name = "fr_random"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """Uniform draw over error pixels; positive where the pixel is a false negative."""
        fn, fp = error_regions(sample.mask, pred_mask, valid_or_none(sample))
        click = _uniform_click(fn | fp, sample.mask, history, rng)
        return click or baseline_click(sample.mask, pred_mask, valid_or_none(sample), history)


class LargestFalseRegionRandomClicker:
    """``lfr_random``: uniform over the largest connected false region."""

    name = "lfr_random"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """Uniform draw over the largest 8-connected error component."""
        valid = valid_or_none(sample)
        found = largest_error_component(sample.mask, pred_mask, valid)
        click = _uniform_click(found[0], sample.mask, history, rng) if found else None
        return click or baseline_click(sample.mask, pred_mask, valid, history)


class FalseRegionDistanceClicker:
    """``fr_dist``: drawn with probability proportional to the padded distance transform of the false region.

    With ``clicks_as_border`` (``fr_dist_aware``) earlier clicks count as border, so new
    clicks keep away from them as well as from the region's edge.
    """

    def __init__(self, clicks_as_border: bool = False) -> None:
        self.clicks_as_border = clicks_as_border
        self.name = "fr_dist_aware" if clicks_as_border else "fr_dist"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """FN and FP distance maps together form one distribution over pixels."""
        valid = valid_or_none(sample)
        fn, fp = error_regions(sample.mask, pred_mask, valid)
        # FN and FP regions are disjoint and never adjacent-as-one-region for the transform,
        # so their union's transform is the elementwise max of the two.
        weights = np.zeros(sample.mask.shape, dtype=np.float64)
        for region in (fn, fp):
            res = cropped_distance(region, history, self.clicks_as_border)
            if res is not None:
                dt, (r0, c0) = res
                view = weights[r0 : r0 + dt.shape[0], c0 : c0 + dt.shape[1]]
                np.maximum(view, dt, out=view)
        picked = sample_weighted(weights, rng)
        if picked is None:
            return baseline_click(sample.mask, pred_mask, valid, history)
        r, c = picked
        return Click(x=c, y=r, positive=bool(fn[r, c]))


register_clicker(ClickerSpec("random", RandomClicker, "uniform over the image, label from gt (IPOL 2024)", stochastic=True))
register_clicker(ClickerSpec("fr_random", FalseRegionRandomClicker, "uniform over the false region (IPOL 2024)", stochastic=True))
register_clicker(
    ClickerSpec("lfr_random", LargestFalseRegionRandomClicker, "uniform over the largest false region (IPOL 2024)", stochastic=True)
)
register_clicker(
    ClickerSpec("fr_dist", FalseRegionDistanceClicker, "proportional to the false region's distance transform (IPOL 2024)", stochastic=True)
)
register_clicker(
    ClickerSpec(
        "fr_dist_aware",
        lambda: FalseRegionDistanceClicker(clicks_as_border=True),
        "click-aware: distance transform treating earlier clicks as border (IPOL 2024)",
        stochastic=True,
    )
)
