"""DT: the distance-transform clickability model — users click away from the error border."""

from __future__ import annotations

import cv2
import numpy as np

from rclicks.clickmaps.base import check_inputs


def distance_map(error_mask: np.ndarray) -> np.ndarray:
    """``float32`` ``H×W`` exact L2 distance of each error pixel to the nearest non-error pixel.

    As RClicks' ``distance_transform_model`` (``cv2.distanceTransform(DIST_L2, precise)``
    on the unpadded mask): the image border does not count as outside. Computed on the
    region's bounding box plus a one-pixel ring, which is exact.
    """
    out = np.zeros(error_mask.shape, dtype=np.float32)
    rows = np.flatnonzero(error_mask.any(axis=1))
    if rows.size == 0:
        return out
    cols = np.flatnonzero(error_mask[rows[0] : rows[-1] + 1].any(axis=0))
    h, w = error_mask.shape
    r0, r1 = max(rows[0] - 1, 0), min(rows[-1] + 2, h)
    c0, c1 = max(cols[0] - 1, 0), min(cols[-1] + 2, w)
    crop = error_mask[r0:r1, c0:c1].astype(np.uint8)
    if crop.all():
        # No background pixel at all: OpenCV then returns a large constant; keep uniform
        # (every pixel equally far from a missing border) so the map stays meaningful.
        out[r0:r1, c0:c1] = 1.0
        return out
    out[r0:r1, c0:c1] = cv2.distanceTransform(crop, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return out


class DistanceClickMap:
    """L2 distance transform of the error region (zero outside it)."""

    name = "distance"

    def click_map(self, image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
        """``float32`` ``H×W``: distance to the error region's border, 0 outside the region."""
        check_inputs(image, gt_mask, error_mask)
        return distance_map(error_mask.astype(bool))
