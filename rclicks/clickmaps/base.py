"""The click-map protocol, input checks, the RClicks blur and a small cache (the registry is ``rclicks.registry``)."""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from rclicks.errors import RClicksError


@runtime_checkable
class ClickMap(Protocol):
    """A clickability model: per-pixel likelihood that a real user clicks there."""

    name: str

    def click_map(self, image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
        """``float32`` ``H×W`` non-negative map, zero outside ``error_mask`` (not necessarily normalised).

        ``image``: ``uint8`` ``H×W×3`` RGB; ``gt_mask``/``error_mask``: ``bool`` ``H×W``.
        """


def check_inputs(image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> tuple[int, int]:
    """Validate the three click-map inputs and return ``(H, W)``; raise RClicksError naming the bad one."""
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        got = getattr(image, "shape", type(image).__name__), getattr(image, "dtype", "")
        raise RClicksError(f"click map image: expected uint8 H×W×3 RGB, got {got}")
    h, w = image.shape[:2]
    for what, m in (("gt_mask", gt_mask), ("error_mask", error_mask)):
        if not isinstance(m, np.ndarray) or m.shape != (h, w):
            raise RClicksError(f"click map {what}: expected a {h}×{w} (H×W) mask, got {getattr(m, 'shape', None)}")
    return h, w


def blur_sigma(height: int, width: int) -> int:
    """RClicks' blur σ in pixels: ``int(5 · sqrt(H² + W²) / (500 · √2))`` (truncated, as RClicks does)."""
    return int(5 * math.sqrt(height**2 + width**2) / (500 * math.sqrt(2)))


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """``scipy.ndimage.gaussian_filter(x, sigma)`` (reflect border, truncate 4σ) computed with OpenCV, float32."""
    x = np.asarray(x, dtype=np.float32)
    if sigma <= 0:
        return x.copy()
    radius = int(4.0 * sigma + 0.5)
    k = 2 * radius + 1
    return cv2.GaussianBlur(x, (k, k), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REFLECT)


def blurred(cmap: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
    """The RClicks blur: ``gaussian_filter(error_mask, σ) · cmap`` with ``σ = blur_sigma(H, W)``, float32.

    Softens the map near the error border (users rarely click right on it). Zero stays
    zero outside the error region because ``cmap`` is zero there.
    """
    h, w = error_mask.shape
    return (gaussian_blur(error_mask.astype(np.float32), blur_sigma(h, w)) * cmap).astype(np.float32)


class BlurredClickMap:
    """Wraps a click map with the RClicks blur (``blurred``)."""

    def __init__(self, inner: ClickMap):
        self.inner = inner
        self.name = f"{inner.name}+blur"

    def click_map(self, image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
        """The inner map times the Gaussian-blurred error mask."""
        return blurred(self.inner.click_map(image, gt_mask, error_mask), error_mask)


def content_key(*arrays: np.ndarray) -> str:
    """A digest of the arrays' bytes, shapes and dtypes (cache key)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


class CachedClickMap:
    """LRU cache in front of a click map, keyed by the content of its three inputs."""

    def __init__(self, inner: ClickMap, size: int = 8):
        self.inner = inner
        self.name = inner.name
        self.size = size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def click_map(self, image: np.ndarray, gt_mask: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
        """The inner map, computed once per distinct input (returned read-only)."""
        key = content_key(image, gt_mask, error_mask)
        if key in self._cache:
            self._cache.move_to_end(key)
            self.hits += 1
            return self._cache[key]
        self.misses += 1
        out = self.inner.click_map(image, gt_mask, error_mask)
        out.setflags(write=False)
        self._cache[key] = out
        while len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return out
