"""Weight-free classical models seeded from clicks: OpenCV GrabCut and scikit-image random walker.

Each click is a disk of radius ``radius`` pixels (definite foreground for a positive
click, definite background for a negative one). Both work on a copy of the image whose
longest side is at most ``max_side`` pixels (for speed) and return a probability map at
the original size.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from rclicks.errors import RClicksError
from rclicks.models.base import check_clicks, check_image
from rclicks.types import Click, Prediction


class _ClickSeeded:
    differentiable = False
    multimask = False
    weights_sha256 = "weight-free"

    def __init__(self, radius: int = 5, max_side: int = 512) -> None:
        if radius < 1 or max_side < 16:
            raise RClicksError(f"radius must be ≥ 1 and max_side ≥ 16 (got {radius}, {max_side})")
        self.radius, self.max_side = radius, max_side
        self._image: np.ndarray | None = None
        self._small: np.ndarray | None = None
        self._scale = 1.0

    def set_image(self, image: np.ndarray) -> None:
        """Keep the image (and a downscaled copy when it is larger than ``max_side``)."""
        self._image = check_image(image)
        h, w = image.shape[:2]
        self._scale = min(1.0, self.max_side / max(h, w))
        if self._scale < 1.0:
            size = (max(1, round(w * self._scale)), max(1, round(h * self._scale)))
            self._small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        else:
            self._small = image

    def _seeds(self, clicks: Sequence[Click]) -> tuple[np.ndarray, np.ndarray]:
        """Disks of the positive and negative clicks on the working image, as ``bool`` masks."""
        h, w = self._small.shape[:2]
        pos = np.zeros((h, w), np.uint8)
        neg = np.zeros((h, w), np.uint8)
        r = max(1, round(self.radius * self._scale))
        for c in clicks:
            cx = min(w - 1, int(c.x * self._scale))
            cy = min(h - 1, int(c.y * self._scale))
            cv2.circle(pos if c.positive else neg, (cx, cy), r, 1, thickness=-1)
        pos_b = pos.astype(bool)
        return pos_b, neg.astype(bool) & ~pos_b

    def _upscale(self, prob: np.ndarray) -> np.ndarray:
        h, w = self._image.shape[:2]
        if prob.shape != (h, w):
            prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
        return np.clip(prob, 0.0, 1.0).astype(np.float32)

    def _ready(self, clicks: Sequence[Click]) -> None:
        if self._image is None:
            raise RClicksError("call set_image(image) before predict()")
        check_clicks(clicks, self._image.shape[:2])


class GrabCutModel(_ClickSeeded):
    """OpenCV GrabCut: click disks are definite labels; a box around the positive clicks
    (grown by ``box_margin`` × the longest side) is probable foreground, the rest probable
    background. ``iterations`` GrabCut rounds per prediction."""

    name = "grabcut"

    def __init__(self, radius: int = 5, max_side: int = 512, iterations: int = 5, box_margin: float = 0.15) -> None:
        super().__init__(radius, max_side)
        self.iterations, self.box_margin = iterations, box_margin

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False) -> Prediction:
        """Binary probability (1 inside the GrabCut foreground); ``prev`` is not used."""
        self._ready(clicks)
        pos, neg = self._seeds(clicks)
        h, w = pos.shape
        if not pos.any():
            return Prediction(prob=np.zeros(self._image.shape[:2], np.float32))
        gc = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
        ys, xs = np.nonzero(pos)
        m = int(round(self.box_margin * max(h, w)))
        gc[max(0, ys.min() - m) : ys.max() + m + 1, max(0, xs.min() - m) : xs.max() + m + 1] = cv2.GC_PR_FGD
        gc[pos], gc[neg] = cv2.GC_FGD, cv2.GC_BGD
        bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
        small_bgr = cv2.cvtColor(self._small, cv2.COLOR_RGB2BGR)
        cv2.setRNGSeed(0)  # GrabCut's GMM initialisation draws from OpenCV's global RNG
        try:
            cv2.grabCut(small_bgr, gc, None, bgd, fgd, self.iterations, cv2.GC_INIT_WITH_MASK)
            fg = (gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)
        except cv2.error:  # e.g. no background sample at all: fall back to the seeds
            fg = pos
        return Prediction(prob=self._upscale(fg.astype(np.float32)))


class RandomWalkerModel(_ClickSeeded):
    """scikit-image random walker (Grady 2006) seeded with click disks. Without negative
    clicks, the image's outer one-pixel frame seeds the background."""

    name = "random_walker"

    def __init__(self, radius: int = 5, max_side: int = 256, beta: float = 130.0) -> None:
        super().__init__(radius, max_side)
        self.beta = beta

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False) -> Prediction:
        """Probability that a random walker first reaches a foreground seed; ``prev`` is not used."""
        from skimage.segmentation import random_walker

        self._ready(clicks)
        pos, neg = self._seeds(clicks)
        if not pos.any():
            return Prediction(prob=np.zeros(self._image.shape[:2], np.float32))
        labels = np.zeros(pos.shape, np.int32)
        if not neg.any():
            labels[0, :] = labels[-1, :] = labels[:, 0] = labels[:, -1] = 2
        labels[neg] = 2
        labels[pos] = 1
        data = self._small.astype(np.float64) / 255.0
        # The direct sparse solver ("bf") is 10-40× faster than conjugate gradients at this size.
        prob = random_walker(data, labels, beta=self.beta, mode="bf", channel_axis=-1, return_full_prob=True)[0]
        return Prediction(prob=self._upscale(prob.astype(np.float32)))
