"""Shared vocabulary: clicks, samples, predictions and trajectories.

Conventions (see DESIGN.md): images are ``uint8`` RGB ``H×W×3``; masks are ``bool``
``H×W``; probabilities are ``float32`` ``H×W`` in [0, 1]; a click's ``x`` is the pixel
column and ``y`` the pixel row in original-image coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Click:
    """One click: pixel column ``x``, pixel row ``y``, and whether it marks the object."""

    x: int
    y: int
    positive: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", int(self.x))
        object.__setattr__(self, "y", int(self.y))
        object.__setattr__(self, "positive", bool(self.positive))


def instance_key(name: str, instance_id: int = 0) -> str:
    """A unique key of an instance within its dataset: ``name`` or ``name#id`` (``id`` ≠ 0)."""
    return name if instance_id == 0 else f"{name}#{instance_id}"


@dataclass
class Sample:
    """One object instance to segment.

    ``image``: ``uint8`` ``H×W×3`` RGB. ``mask``: ``bool`` ``H×W`` object mask.
    ``ignore``: optional ``bool`` ``H×W``, True where pixels are excluded from every
    metric and every click (e.g. GrabCut's uncertain band).
    """

    image: np.ndarray
    mask: np.ndarray
    name: str
    dataset: str
    instance_id: int = 0
    ignore: np.ndarray | None = None

    @property
    def instance(self) -> str:
        """A unique key of the instance within its dataset: ``name`` or ``name#id``."""
        return instance_key(self.name, self.instance_id)

    @property
    def valid(self) -> np.ndarray:
        """``bool`` ``H×W``: pixels that count (not in the ignore region)."""
        if self.ignore is None:
            return np.ones(self.mask.shape, dtype=bool)
        return ~self.ignore


@dataclass
class Prediction:
    """A model's answer to a set of clicks.

    ``prob``: ``float32`` ``H×W`` foreground probability of the selected mask.
    ``candidates``: optional ``float32`` ``K×H×W`` probabilities of candidate masks
    (multi-mask models), with ``scores`` (``K``, the model's own quality estimate).
    ``state``: model-specific data fed back on the next click (e.g. SAM low-res logits).
    ``threshold``: the mask is ``prob > threshold``.
    ``proposed``: clicks the model proposes to add next (models declaring
    ``proposes_clicks``; PseudoClick). The runner feeds them back and records them with
    ``source = model``; they do not count as human clicks.
    """

    prob: np.ndarray
    candidates: np.ndarray | None = None
    scores: np.ndarray | None = None
    state: Any = None
    threshold: float = 0.5
    proposed: list[Click] | None = None

    @property
    def mask(self) -> np.ndarray:
        """``bool`` ``H×W`` binary mask ``prob > threshold``."""
        return self.prob > self.threshold


@dataclass
class Trajectory:
    """The record of one interactive session on one sample.

    Per click ``k`` (0-based list index, click number ``k + 1``): the click, the IoU and
    Boundary IoU of the resulting mask, its confusion counts ``(tp, fp, fn, tn)`` over
    valid pixels, the seconds the model took, the best IoU among the model's candidate
    masks and the kept one (NaN without candidates), who made the click (``human`` or
    ``model``), and optionally the mask run-length encoded (see ``rclicks.metrics.rle``).
    """

    dataset: str
    instance: str
    clicks: list[Click] = field(default_factory=list)
    ious: list[float] = field(default_factory=list)
    bious: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    masks_rle: list[dict] | None = None
    counts: list[tuple[int, int, int, int]] = field(default_factory=list)
    best_ious: list[float] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    #: attacks only: seconds spent searching for each click, apart from ``times`` (the model's time for the kept click)
    search_times: list[float] | None = None
    #: with ``keep_masks``: the first click's candidate masks, run-length encoded (None without candidates)
    candidates_rle: list[dict] | None = None

    def __len__(self) -> int:
        return len(self.clicks)
