"""The scripted clicker (replay, start-then-robot) and model-querying clickers, run by the one runner, on real models."""

from __future__ import annotations

import numpy as np
import pytest

from rclicks.clickers.adversarial import AdversarialClicker, ring_candidates, valid_region
from rclicks.clickers.baseline import BaselineClicker, baseline_click
from rclicks.clickers.scripted import ScriptedClicker, start_then
from rclicks.data import load_dataset
from rclicks.errors import RClicksError
from rclicks.metrics.mask import iou
from rclicks.registry import build_model
from rclicks.runner import run_trajectory
from rclicks.types import Click


@pytest.fixture(scope="module")
def sample():
    return load_dataset("grabcut")[0]


@pytest.fixture(scope="module")
def walker():
    return build_model("random_walker", max_side=96)  # deterministic, weight-free


def test_start_then_robot_plays_the_start_then_the_ritm_click(sample, walker):
    start = Click(int(np.argwhere(sample.mask)[0][1]), int(np.argwhere(sample.mask)[0][0]), True)
    traj = run_trajectory(walker, sample, start_then(start, BaselineClicker()), max_clicks=3)
    again = run_trajectory(walker, sample, start_then(start, BaselineClicker()), max_clicks=3)
    assert traj.clicks == again.clicks and traj.ious == again.ious
    assert traj.clicks[0] == start
    # independently: the robot's click after the start, from the model's own mask for the start
    walker.set_image(sample.image)
    first = walker.predict([start]).mask
    valid = None if sample.valid.all() else sample.valid
    assert traj.clicks[1] == baseline_click(sample.mask, first, valid, [start])
    assert traj.ious[0] == pytest.approx(iou(sample.mask, first, sample.valid), abs=1e-12)


def test_a_script_without_a_follower_refuses_to_run_past_its_clicks(sample, walker):
    clicker = ScriptedClicker([Click(10, 10, True)], name="replay")
    assert len(run_trajectory(walker, sample, clicker, max_clicks=1).clicks) == 1
    with pytest.raises(RClicksError, match="1 scripted click"):
        run_trajectory(walker, sample, clicker, max_clicks=2)


class Counting:
    """Forwards to a model and counts its ``predict`` calls."""

    def __init__(self, model):
        self.model, self.calls = model, 0

    def set_image(self, image):
        self.model.set_image(image)

    def predict(self, clicks, prev=None, **kwargs):
        self.calls += 1
        return self.model.predict(clicks, prev, **kwargs)


def test_the_attack_clicker_kept_click_costs_no_second_model_call(sample, walker):
    """One black-box click scores the start plus each valid ring candidate once; the runner reuses the kept one."""
    model = Counting(walker)
    h, w = sample.mask.shape
    search = max(6.0, 0.02 * np.hypot(h, w))
    traj = run_trajectory(model, sample, AdversarialClicker("min", "blackbox"), max_clicks=1)
    start = baseline_click(sample.mask, np.zeros((h, w), bool), None if sample.valid.all() else sample.valid, [])
    region = valid_region(sample, np.zeros((h, w), bool), True)
    scored = [(x, y) for x, y in ring_candidates(start, search) if (x, y) == (start.x, start.y)
              or (0 <= x < w and 0 <= y < h and region[y, x])]
    assert model.calls == len(scored)
    assert len(traj.search_times) == 1 and traj.search_times[0] >= 0 and traj.times[0] > 0
    # the kept click is the scored candidate of lowest IoU (first on ties), recomputed here
    walker.set_image(sample.image)
    values = [iou(sample.mask, walker.predict([Click(x, y, True)]).mask, sample.valid) for x, y in scored]
    assert (traj.clicks[0].x, traj.clicks[0].y) == scored[int(np.argmin(values))]
    assert traj.ious[0] == pytest.approx(min(values), abs=1e-12)


def test_the_attack_clicker_needs_the_runner(sample):
    with pytest.raises(RClicksError, match="run_trajectory"):
        AdversarialClicker("max").next_click(sample, np.zeros(sample.mask.shape, bool), [], np.random.default_rng(0))
    with pytest.raises(RClicksError, match="direction"):
        AdversarialClicker("sideways")


def test_the_runners_one_click_batch_equals_one_click_trajectories(sample, walker):
    """``one_click_scores`` (the heatmap's grid) gives, per point, the IoU and counts of a one-click trajectory."""
    from rclicks.metrics.mask import confusion
    from rclicks.runner import one_click_scores

    ys, xs = np.nonzero(sample.mask)
    pick = np.random.default_rng(0).choice(xs.size, 3, replace=False)
    walker.set_image(sample.image)
    values, counts, seconds = one_click_scores(walker, sample, xs[pick], ys[pick])
    valid = None if sample.valid.all() else sample.valid
    for k, i in enumerate(pick):
        traj = run_trajectory(walker, sample, ScriptedClicker([Click(int(xs[i]), int(ys[i]), True)]), max_clicks=1)
        assert values[k] == pytest.approx(traj.ious[0], abs=1e-12) and tuple(counts[k]) == traj.counts[0]
        walker.set_image(sample.image)
        assert tuple(counts[k]) == confusion(sample.mask, walker.predict([Click(int(xs[i]), int(ys[i]), True)]).mask, valid)
    assert (seconds > 0).all()
