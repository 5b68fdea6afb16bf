"""The clicker protocol (the registry of clickers is ``rclicks.registry``).

A clicker decides where the next click goes::

    click = clicker.next_click(sample, pred_mask, history, rng)

``pred_mask`` is the current ``bool`` ``H×W`` prediction (all False before the first
click), ``history`` the clicks made so far, ``rng`` a ``numpy.random.Generator``: every
random choice flows from it, so a run is reproducible from its seed.
"""

from __future__ import annotations

from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from rclicks.types import Click, Sample


@runtime_checkable
class Clicker(Protocol):
    """Chooses the next click from the ground truth, the prediction and the history."""

    name: str

    def next_click(
        self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator
    ) -> Click:
        """Return the next click in (x = column, y = row) image coordinates."""
