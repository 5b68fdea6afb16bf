"""Run-length encoding of binary masks (column-major counts, COCO-style, uncompressed)."""

from __future__ import annotations

import numpy as np

from rclicks.errors import RClicksError


def rle_encode(mask: np.ndarray) -> dict:
    """Encode a ``bool`` ``H×W`` mask as ``{"size": [H, W], "counts": [...]}``.

    Counts alternate runs of 0 and 1 in column-major (Fortran) order, starting with 0s.
    """
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def rle_decode(rle: dict) -> np.ndarray:
    """Decode ``rle_encode``'s output back to a ``bool`` ``H×W`` mask."""
    try:
        h, w = (int(v) for v in rle["size"])
        counts = np.asarray(rle["counts"], dtype=np.int64)
    except (KeyError, TypeError, ValueError) as exc:
        raise RClicksError(f"not a run-length encoded mask: {exc}") from exc
    if counts.sum() != h * w or (counts < 0).any():
        raise RClicksError(f"run-length counts sum to {counts.sum()}, expected {h}×{w} = {h * w}")
    values = np.arange(counts.size) % 2 == 1
    return np.repeat(values, counts).reshape((h, w), order="F")
