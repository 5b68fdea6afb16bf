"""Error regions and their distance transforms, computed on bounding-box crops for speed."""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from rclicks.types import Click, Sample


def error_regions(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """False-negative and false-positive regions (``bool`` ``H×W``), ignored pixels excluded."""
    fn = gt & ~pred
    fp = pred & ~gt
    if valid is not None:
        fn &= valid
        fp &= valid
    return fn, fp


def valid_or_none(sample: Sample) -> np.ndarray | None:
    """The sample's valid-pixel mask, or None when it has no ignore region (saves work)."""
    return None if sample.ignore is None else ~sample.ignore


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(row0, row1, col0, col1)`` inclusive bounds of the True pixels, or None if there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def padded_distance(region: np.ndarray) -> np.ndarray:
    """Exact L2 distance of each region pixel to the nearest non-region pixel, the image border counting as outside.

    ``float32`` ``h×w``; the same values as RITM's ``cv2.distanceTransform`` on the
    one-pixel-padded mask (``DIST_L2``, precise mask).
    """
    padded = cv2.copyMakeBorder(region.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


def cropped_distance(
    region: np.ndarray, history: Sequence[Click] = (), clicks_as_border: bool = False
) -> tuple[np.ndarray, tuple[int, int]] | None:
    """Padded distance transform of ``region`` on its bounding box, with clicked pixels zeroed.

    Returns ``(dt, (row0, col0))`` where ``dt`` covers the bounding box, or None when the
    region is empty. Cropping is exact: the one-pixel ring around the box is outside
    the region, so no nearer border pixel lies beyond it. With ``clicks_as_border`` the
    clicked pixels are removed from the region before the transform (distance grows
    away from earlier clicks as well as from the region's border).
    """
    box = bbox(region)
    if box is None:
        return None
    r0, r1, c0, c1 = box
    crop = region[r0 : r1 + 1, c0 : c1 + 1]
    inside = [(c.y - r0, c.x - c0) for c in history if r0 <= c.y <= r1 and c0 <= c.x <= c1]
    if clicks_as_border and inside:
        crop = crop.copy()
        for r, c in inside:
            crop[r, c] = False
    dt = padded_distance(crop)
    for r, c in inside:
        dt[r, c] = 0.0
    return dt, (r0, c0)


def sample_weighted(weights: np.ndarray, rng: np.random.Generator) -> tuple[int, int] | None:
    """Draw one ``(row, col)`` with probability proportional to non-negative ``weights``; None if all zero."""
    flat = weights.ravel()
    cum = np.cumsum(flat, dtype=np.float64)
    total = cum[-1] if cum.size else 0.0
    if not total > 0:
        return None
    idx = int(np.searchsorted(cum, rng.random() * total, side="right"))
    idx = min(idx, flat.size - 1)
    while flat[idx] <= 0:  # guard against landing on a zero-weight cell at a float boundary
        idx -= 1
    return divmod(idx, weights.shape[1])
