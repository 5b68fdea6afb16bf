"""The stochastic clicking robots of "Comparing interactive image segmentation models under
different clicking procedures" (IPOL 2024), as written in ``franchesoni/iislib``.

Each robot is a probability map over pixels (``float64`` ``H×W``, sum 1) and one draw from
it with the given ``numpy.random.Generator``; the click's label comes from the gt. The
paper's robots do not read earlier clicks (with one click per step, ``fr_dist_aware`` is
``fr_dist``). The ``*_excl``, ``*_typed`` and ``*_border`` variants do. When a map is empty
(no false region left) the robot falls back to the baseline click (docs/protocol.md).
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from skimage.measure import label

from rclicks.clickers.baseline import baseline_click, largest_error_component
from rclicks.clickers.regions import error_regions, normalised, not_clicked, sample_map, squared_distance, valid_or_none
from rclicks.types import Click, Sample

ProbabilityMap = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", Sequence[Click]], "np.ndarray | None"]


def _valid(gt: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """``bool`` ``H×W`` valid pixels, all True when there is no ignore region."""
    return np.ones(gt.shape, bool) if valid is None else valid


def random_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """``random`` (robot 1): uniform over the valid pixels."""
    return normalised(_valid(gt, valid))


def fr_random_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """``fr_random`` (robot 2): uniform over FN ∪ FP."""
    fn, fp = error_regions(gt, pred, valid)
    return normalised(fn | fp)


def largest_false_region(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """``bool`` ``H×W`` largest 4-connected component of FN ∪ FP (ties: first in row-major order); all False if none."""
    fn, fp = error_regions(gt, pred, valid)
    labels = label(fn | fp, connectivity=1)
    counts = np.bincount(labels.ravel())
    if counts.size < 2:
        return np.zeros(gt.shape, bool)
    return labels == int(np.argmax(counts[1:])) + 1


def lfr_random_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """``lfr_random`` (robot 3): uniform over the largest 4-connected component of FN ∪ FP."""
    return normalised(largest_false_region(gt, pred, valid))


def fr_dist_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """``fr_dist`` and ``fr_dist_aware`` (robots 4, 5): ∝ the exact padded L2 distance transform of FN ∪ FP."""
    fn, fp = error_regions(gt, pred, valid)
    return normalised(np.sqrt(squared_distance(fn | fp)))


def random_excl_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """Uniform over the valid pixels not clicked before."""
    return normalised(_valid(gt, valid) & not_clicked(gt.shape, history))


def fr_random_excl_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """Uniform over FN ∪ FP minus earlier clicks."""
    fn, fp = error_regions(gt, pred, valid)
    return normalised((fn | fp) & not_clicked(gt.shape, history))


def lfr_random_typed_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """Uniform over gto99's region (largest 8-connected FN or FP component) minus earlier clicks."""
    found = largest_error_component(gt, pred, valid)
    return None if found is None else normalised(found[0] & not_clicked(gt.shape, history))


def _typed_distance(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None, history: Sequence[Click], clicks_as_border: bool) -> np.ndarray | None:
    """∝ the FN and FP regions' own distance transforms, zero at earlier clicks (which may also count as border)."""
    keep = not_clicked(gt.shape, history)
    fn, fp = error_regions(gt, pred, valid)
    if clicks_as_border:
        fn, fp = fn & keep, fp & keep
    return normalised(np.sqrt(squared_distance(fn) + squared_distance(fp)) * keep)


def fr_dist_excl_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """∝ the FN and FP regions' own distance transforms, earlier clicks excluded."""
    return _typed_distance(gt, pred, valid, history, clicks_as_border=False)


def fr_dist_border_map(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, history: Sequence[Click] = ()) -> np.ndarray | None:
    """As ``fr_dist_excl_map``, with earlier clicks counted as border."""
    return _typed_distance(gt, pred, valid, history, clicks_as_border=True)


class MapClicker:
    """A robot that draws its click from a probability map; the label comes from the gt."""

    def __init__(self, name: str, prob_map: ProbabilityMap) -> None:
        self.name = name
        self.prob_map = prob_map

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """One draw from the map; the baseline click when the map is empty."""
        valid = valid_or_none(sample)
        prob = self.prob_map(sample.mask, pred_mask, valid, history)
        if prob is None:
            return baseline_click(sample.mask, pred_mask, valid, history)
        r, c = sample_map(prob, rng)
        return Click(x=c, y=r, positive=bool(sample.mask[r, c]))


PROBABILITY_MAPS: dict[str, tuple[ProbabilityMap, str]] = {
    "random": (random_map, "uniform over the image, label from gt (IPOL 2024)"),
    "fr_random": (fr_random_map, "uniform over the false region FN ∪ FP (IPOL 2024)"),
    "lfr_random": (lfr_random_map, "uniform over the largest 4-connected component of FN ∪ FP (IPOL 2024)"),
    "fr_dist": (fr_dist_map, "∝ the distance transform of FN ∪ FP (IPOL 2024)"),
    "fr_dist_aware": (fr_dist_map, "click-aware fr_dist; with one click per step the same law as fr_dist (IPOL 2024)"),
    "random_excl": (random_excl_map, "random, never on an earlier click"),
    "fr_random_excl": (fr_random_excl_map, "fr_random, never on an earlier click"),
    "lfr_random_typed": (lfr_random_typed_map, "uniform over the largest 8-connected FN or FP region, never on an earlier click"),
    "fr_dist_excl": (fr_dist_excl_map, "∝ the FN and FP regions' own distance transforms, never on an earlier click"),
    "fr_dist_border": (fr_dist_border_map, "fr_dist_excl with earlier clicks counted as border"),
}
