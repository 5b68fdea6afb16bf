"""UD: the uniform clickability model — every error pixel equally likely."""

from __future__ import annotations

import numpy as np

from rclicks.clickmaps.base import check_inputs


class UniformClickMap:
    """Constant 1 on the error region, 0 elsewhere (RClicks' ``uniform_model``)."""

    name = "uniform"

    def click_map(self, image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
        """``float32`` ``H×W``: 1 inside ``error_mask``, 0 outside."""
        check_inputs(image, gt_mask, error_mask)
        return error_mask.astype(np.float32)
