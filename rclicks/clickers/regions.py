"""Error regions and their exact distance transforms, computed on bounding-box crops for speed.

Distances are integer squared Euclidean distances (``int64``), so every comparison and
every first row-major argmax is exact, whatever OpenCV's thread count or crop.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from rclicks.types import Click, Sample

_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], np.uint8)
_SCREEN_REL, _SCREEN_ABS = 1e-4, 1e-3


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


def not_clicked(shape: tuple[int, int], history: Sequence[Click]) -> np.ndarray:
    """``bool`` map, False at the (y, x) of every earlier click."""
    m = np.ones(shape, dtype=bool)
    for c in history:
        m[c.y, c.x] = False
    return m


def bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(row0, row1, col0, col1)`` inclusive bounds of the True pixels, or None if there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def _padded_crop(region: np.ndarray) -> tuple[np.ndarray, tuple[int, int]] | None:
    """``uint8`` bounding-box crop of ``region`` with a one-pixel ring of background, and the box's (row0, col0).

    Exact for distances: every pixel beyond the ring is farther than its projection onto the ring.
    """
    box = bbox(region)
    if box is None:
        return None
    r0, r1, c0, c1 = box
    crop = cv2.copyMakeBorder(region[r0 : r1 + 1, c0 : c1 + 1].view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    return crop, (r0, c0)


def squared_distance(region: np.ndarray) -> np.ndarray:
    """Exact squared L2 distance (``int64`` ``H×W``) of each region pixel to the nearest non-region pixel.

    The image border counts as outside (RITM's one-pixel padding). Built from SciPy's
    feature transform, whose nearest-background indices are exact integers.
    """
    out = np.zeros(region.shape, dtype=np.int64)
    found = _padded_crop(np.ascontiguousarray(region, dtype=bool))
    if found is None:
        return out
    crop, (r0, c0) = found
    ft = ndimage.distance_transform_edt(crop, return_distances=False, return_indices=True).astype(np.int64)
    rows, cols = np.indices(crop.shape)
    d2 = (ft[0] - rows) ** 2 + (ft[1] - cols) ** 2
    out[r0 : r0 + crop.shape[0] - 2, c0 : c0 + crop.shape[1] - 2] = d2[1:-1, 1:-1]
    return out


def _squared_distance_at(crop: np.ndarray, rows: np.ndarray, cols: np.ndarray, reach: int) -> np.ndarray:
    """Exact squared distance (``int64``) from padded-crop pixels (rows, cols) to the nearest background pixel.

    Only background pixels 4-adjacent to the region (the nearest one always is) and within
    ``reach`` rows and columns of some pixel are tried; ``reach`` must bound the distances.
    The k-d tree compares squared integer offsets, exact in float64.
    """
    r0, c0 = max(int(rows.min()) - reach, 0), max(int(cols.min()) - reach, 0)
    win = crop[r0 : int(rows.max()) + reach + 1, c0 : int(cols.max()) + reach + 1]
    border = np.flip(cv2.findNonZero((cv2.dilate(win, _CROSS) > win).view(np.uint8)).reshape(-1, 2), axis=1) + (r0, c0)
    points = np.stack([rows, cols], axis=1)
    _, nearest = cKDTree(border).query(points)
    offset = points - border[nearest]
    return np.einsum("ij,ij->i", offset, offset)


def _screen(d: float) -> float:
    """Lower bound of OpenCV's float32 distance at a pixel whose true distance is at least ``d``."""
    return d * (1 - _SCREEN_REL) - _SCREEN_ABS


def farthest_pixel(region: np.ndarray, history: Sequence[Click] = ()) -> tuple[int, tuple[int, int]]:
    """Exact max squared distance over ``region`` minus clicked pixels, and its first row-major (row, col).

    ``(0, (0, 0))`` when nothing is left, like RITM's argmax of an all-zero map. OpenCV's
    float32 transform only screens candidates and bounds the search: OpenCV reports the
    distance to a real background pixel up to float32 rounding, so any pixel whose true
    distance reaches the best exact value found scores above ``_screen`` of it, and no
    true distance exceeds ``top`` by more than that margin; the candidates' squared
    distances are then computed exactly.
    """
    found = _padded_crop(np.ascontiguousarray(region, dtype=bool))
    if found is None:
        return 0, (0, 0)
    crop, (r0, c0) = found
    dt = cv2.distanceTransform(crop, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    for c in history:
        r, col = c.y - r0 + 1, c.x - c0 + 1
        if 0 <= r < dt.shape[0] and 0 <= col < dt.shape[1]:
            dt[r, col] = 0.0
    top = cv2.minMaxLoc(dt)[1]
    if top <= 0:
        return 0, (0, 0)
    threshold, reach = _screen(top), int(np.ceil(top / (1 - _SCREEN_REL))) + 1
    while True:
        cols, rows = cv2.findNonZero((dt >= threshold).view(np.uint8)).reshape(-1, 2).T
        d2 = _squared_distance_at(crop, rows, cols, reach)
        best = int(d2.max())
        lower = _screen(float(np.sqrt(best)))
        if lower >= threshold:
            break
        threshold = lower
    tied = d2 == best
    first = int(np.min(rows[tied].astype(np.int64) * dt.shape[1] + cols[tied]))
    r, c = divmod(first, dt.shape[1])
    return best, (r0 + r - 1, c0 + c - 1)


def sample_map(prob: np.ndarray, rng: np.random.Generator) -> tuple[int, int]:
    """Draw one ``(row, col)`` from a non-negative ``H×W`` map with a positive sum, with probability ∝ its value."""
    flat = prob.ravel()
    cum = np.cumsum(flat, dtype=np.float64)
    idx = min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), flat.size - 1)
    while flat[idx] <= 0:
        idx -= 1
    return divmod(idx, prob.shape[1])


def normalised(weights: np.ndarray) -> np.ndarray | None:
    """``float64`` copy of non-negative ``weights`` scaled to sum 1, or None when they are all zero."""
    w = weights.astype(np.float64)
    total = w.sum()
    return w / total if total > 0 else None
