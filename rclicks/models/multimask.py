"""Multi-mask policies: which of a model's candidate masks becomes the prediction.

- ``single``: multimask output off; the model's one mask.
- ``score``: multimask on; the candidate with the highest predicted IoU (RClicks' choice).
- ``oracle``: multimask on; the candidate with the best IoU against the gt — an upper
  bound, reported separately and never mixed into the main leaderboard.
- ``sam``: SAM's own rule: multimask for the first click only (ambiguity), then single.

Models without candidates (``multimask = False``) are unaffected by the policy.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rclicks.errors import RClicksError
from rclicks.metrics.mask import iou
from rclicks.types import Prediction

POLICIES = ("single", "score", "oracle", "sam")


def check_policy(policy: str) -> str:
    """Return ``policy`` or raise RClicksError listing the valid ones."""
    if policy not in POLICIES:
        raise RClicksError(f"unknown multimask policy {policy!r}; choose one of {', '.join(POLICIES)}")
    return policy


def wants_multimask(policy: str, n_clicks: int) -> bool:
    """Whether the model should be asked for several candidates on a prompt of ``n_clicks`` clicks."""
    check_policy(policy)
    return policy in ("score", "oracle") or (policy == "sam" and n_clicks == 1)


def apply_policy(pred: Prediction, policy: str, gt: np.ndarray, valid: np.ndarray | None, n_clicks: int) -> Prediction:
    """Select one candidate of ``pred`` by ``policy``; the chosen candidate's low-res logits become the feedback state.

    ``pred.state`` may be ``{"low_res": K×1×h×w}`` holding one low-res logit map per candidate.
    """
    if pred.candidates is None or len(pred.candidates) <= 1 or not wants_multimask(policy, n_clicks):
        return pred
    if policy == "oracle":
        k = int(np.argmax([iou(gt, c > pred.threshold, valid) for c in pred.candidates]))
    else:
        if pred.scores is None:
            raise RClicksError("model returned candidate masks without scores; cannot apply the 'score' policy")
        k = int(np.argmax(pred.scores))
    state = pred.state
    if isinstance(state, dict) and "low_res" in state and len(state["low_res"]) == len(pred.candidates):
        state = {**state, "low_res": state["low_res"][k : k + 1]}
    return replace(pred, prob=pred.candidates[k], state=state)
