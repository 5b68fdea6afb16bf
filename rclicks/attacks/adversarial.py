"""TETRIS adversarial click trajectories (Moskalenko et al., AAAI 2024): IoU-Min / IoU-Max.

The attack is a clicker (:class:`rclicks.clickers.adversarial.AdversarialClicker`, the
protocol and both methods are described there) run by the one runner,
``rclicks.runner.run_trajectory``; this module runs it per sample and direction, adds the
baseline trajectories, and writes results rows. Their summary (IoU-Min/Max/D) is the
metrics layer's ``rclicks.metrics.robustness.attack_summary``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rclicks.clickers.adversarial import (  # noqa: F401  (TorchClickModel, is_valid, valid_region: the attack's public API)
    AdversarialClicker,
    Direction,
    TorchClickModel,
    _better,
    is_valid,
    learning_rate,
    pick_method,
    valid_region,
)
from rclicks.errors import RClicksError
from rclicks.metrics.robustness import attack_summary  # noqa: F401  (re-exported: ``rclicks attack`` prints it)
from rclicks.types import Sample, Trajectory


def attack_trajectory(
    model, sample: Sample, direction: Direction = "min", max_clicks: int = 10, *, method: str = "auto",
    steps: int = 10, radius: float = 5.0, search: float | None = None, keep_location: bool = False,
    keep_baseline: bool = True, set_image: bool = True,
) -> tuple[Trajectory, str]:
    """Greedy adversarial trajectory of ``max_clicks`` clicks; returns it and the attack used ("whitebox"/"blackbox").

    ``method="auto"`` picks white-box for differentiable models implementing
    :class:`TorchClickModel`. ``radius``: the click's disk for the location loss (px);
    ``search``: black-box search radius (px, default 2 % of the image diagonal, ≥ 6);
    ``keep_location``: the black-box attack also applies the white-box 5 % location rule.
    ``keep_baseline``: the baseline trajectory is one the greedy search passes through (its
    start clicks are always candidates), so when the greedy trajectory ends up with a worse
    IoU-AuC@``max_clicks`` (in the wanted direction) than the baseline's, the baseline
    trajectory is returned: greedy clicks can leave easier errors for later clicks.
    """
    from rclicks.clickers.baseline import BaselineClicker
    from rclicks.metrics.curves import iou_auc
    from rclicks.runner import run_trajectory

    if max_clicks < 1:
        raise RClicksError(f"max_clicks must be at least 1, got {max_clicks}")
    used = pick_method(model, method)
    clicker = AdversarialClicker(direction, used, steps=steps, radius=radius, search=search, keep_location=keep_location)
    traj = run_trajectory(model, sample, clicker, max_clicks=max_clicks, set_image=set_image)
    if keep_baseline:
        base = run_trajectory(model, sample, BaselineClicker(), max_clicks=max_clicks, set_image=False)
        if _better(iou_auc(base.ious, max_clicks), iou_auc(traj.ious, max_clicks), direction):
            # the model's times are the baseline run's own; the whole greedy search was paid for on top
            base.search_times = [a + b for a, b in zip(traj.times, traj.search_times)]
            return base, used
    return traj, used


def attack_rows(
    model, samples: Sequence[Sample], max_clicks: int = 10, *, method: str = "auto", const: dict | None = None,
    progress: bool = False, **kwargs: Any,
) -> list[dict]:
    """Long-form rows (results schema) of ``adv_min``, ``adv_max`` (``attack`` column set) and ``baseline`` trajectories per sample."""
    from rclicks.clickers.baseline import BaselineClicker
    from rclicks.runner import run_trajectory, trajectory_rows

    const = {"target_iou": float("nan"), "protocol": "attack", "clickmap": "", "group": 0, **dict(const or {}),
             "max_clicks": int(max_clicks)}
    rows: list[dict] = []
    it = samples
    if progress:
        from tqdm import tqdm

        it = tqdm(samples, desc="attack", unit="instance")
    for sample in it:
        model.set_image(sample.image)
        for direction in ("min", "max"):
            traj, used = attack_trajectory(model, sample, direction, max_clicks, method=method, set_image=False, **kwargs)
            rows += trajectory_rows(traj, clicker=f"adv_{direction}", attack=used, **const)
        base = run_trajectory(model, sample, BaselineClicker(), max_clicks=max_clicks, set_image=False)
        rows += trajectory_rows(base, clicker="baseline", attack=None, **const)
    return rows
