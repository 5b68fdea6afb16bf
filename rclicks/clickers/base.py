"""The clicker protocol and the clicker registry.

A clicker decides where the next click goes::

    click = clicker.next_click(sample, pred_mask, history, rng)

``pred_mask`` is the current ``bool`` ``H×W`` prediction (all False before the first
click), ``history`` the clicks made so far, ``rng`` a ``numpy.random.Generator``: every
random choice flows from it, so a run is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from rclicks.errors import RClicksError
from rclicks.types import Click, Sample


@runtime_checkable
class Clicker(Protocol):
    """Chooses the next click from the ground truth, the prediction and the history."""

    name: str

    def next_click(
        self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator
    ) -> Click:
        """Return the next click in (x = column, y = row) image coordinates."""


@dataclass
class ClickerSpec:
    """Registry entry: factory plus a one-line description."""

    name: str
    factory: Callable[..., Clicker]
    description: str
    stochastic: bool = False


CLICKERS: dict[str, ClickerSpec] = {}


def register_clicker(spec: ClickerSpec) -> ClickerSpec:
    """Add a clicker to the registry."""
    CLICKERS[spec.name] = spec
    return spec


def _load_builtin_clickers() -> None:
    from rclicks.clickers import baseline, ipol  # noqa: F401

    try:
        from rclicks.clickers import clickability  # noqa: F401
    except ImportError:
        pass


def available_clickers() -> dict[str, ClickerSpec]:
    """All registered clickers by name."""
    _load_builtin_clickers()
    return CLICKERS


def build_clicker(name: str, **kwargs) -> Clicker:
    """Build a clicker by registry name."""
    clickers = available_clickers()
    if name not in clickers:
        raise RClicksError(f"unknown clicker {name!r}; known clickers: {', '.join(sorted(clickers))}")
    return clickers[name].factory(**kwargs)
