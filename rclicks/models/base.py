"""The interactive-segmentation model protocol and the input checks every adapter shares.

Every adapter follows the same two-call protocol::

    model.set_image(image)                 # uint8 H×W×3 RGB; expensive work (embeddings) here
    pred = model.predict(clicks, prev, multimask=False)  # all clicks so far, previous Prediction or None

Clicks are ``Click(x, y, positive)`` in original-image pixel coordinates (x = column).
Capabilities are declared as class attributes, never guessed: ``differentiable`` (the
adapter exposes a torch path for white-box attacks), ``multimask`` (it can return
several candidate masks with scores). Which models exist, what they need and what they
can do is declared once, in ``rclicks.registry``; this module imports no adapter.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from rclicks.errors import RClicksError
from rclicks.types import Click, Prediction


@runtime_checkable
class ISModel(Protocol):
    """What the runner, the attacks and the app need from a model."""

    name: str
    differentiable: bool
    multimask: bool
    weights_sha256: str

    def set_image(self, image: np.ndarray) -> None:
        """Prepare for a new ``uint8`` ``H×W×3`` RGB image."""

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False) -> Prediction:
        """Segment the current image given all clicks so far (and the previous prediction).

        ``multimask=True`` asks multi-mask models for all candidates (``Prediction.candidates``).
        """


def check_image(image: np.ndarray, what: str = "image") -> np.ndarray:
    """Validate an ``H×W×3`` ``uint8`` image and return it contiguous, or raise RClicksError."""
    if not isinstance(image, np.ndarray):
        raise RClicksError(f"{what}: expected a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise RClicksError(f"{what}: expected shape H×W×3 (RGB), got {image.shape}")
    if image.dtype != np.uint8:
        raise RClicksError(f"{what}: expected dtype uint8, got {image.dtype}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise RClicksError(f"{what}: image of size {image.shape[1]}×{image.shape[0]} is too small")
    return np.ascontiguousarray(image)


def check_clicks(clicks: Sequence[Click], shape: tuple[int, int]) -> None:
    """Raise RClicksError if there are no clicks or a click lies outside an image of ``shape`` (H, W)."""
    if len(clicks) == 0:
        raise RClicksError("predict() needs at least one click")
    h, w = shape
    for c in clicks:
        if not (0 <= c.x < w and 0 <= c.y < h):
            raise RClicksError(f"click ({c.x}, {c.y}) lies outside the {w}×{h} image (x is the column, y the row)")
