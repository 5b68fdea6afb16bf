"""A clicker that plays given clicks first, then hands over to another clicker.

Real-click replay (a user's recorded first click), "start at the heatmap's worst position,
then the robot" and any scripted start are this one clicker, so they run through
``rclicks.runner.run_trajectory`` like every other click source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rclicks.clickers.base import Clicker
from rclicks.errors import RClicksError
from rclicks.types import Click, Sample


@dataclass
class ScriptedClicker:
    """Click ``clicks`` in order (click *k* of the trajectory is ``clicks[k - 1]``), then ask ``then`` (default: none).

    ``clicks``: (x = column, y = row) image positions with their polarity. With ``then=None``
    the trajectory must stop after the script (``max_clicks ≤ len(clicks)``).
    """

    clicks: Sequence[Click]
    then: Clicker | None = None
    name: str = "scripted"

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator) -> Click:
        """The next scripted click while any is left, then ``then``'s click."""
        k = len(history)
        if k < len(self.clicks):
            return self.clicks[k]
        if self.then is None:
            raise RClicksError(f"clicker {self.name!r} has {len(self.clicks)} scripted click(s) and nothing after them; "
                               f"run at most {len(self.clicks)} click(s) or give then=<clicker>")
        return self.then.next_click(sample, pred_mask, history, rng)


def start_then(start: Click, then: Clicker, name: str | None = None) -> ScriptedClicker:
    """``start`` as the first click, then ``then`` (e.g. the baseline robot) for every later click."""
    return ScriptedClicker([start], then, name or f"start-then-{getattr(then, 'name', 'clicker')}")
