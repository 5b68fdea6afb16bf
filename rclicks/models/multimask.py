"""Multi-mask policies: which of a model's candidate masks becomes the prediction.

- ``single``: multimask output off on every click; the model's one mask (SAM's
  ``multimask_output=False``: token 0).
- ``score``: multimask on every click; the candidate with the highest predicted IoU
  (RClicks' ``is_sam_model`` choice).
- ``oracle``: multimask on every click; the candidate with the best IoU against the gt —
  an upper bound, reported separately and never mixed into the main leaderboard.
- ``sam``: SAM's own rule (its ONNX export's ``select_masks``): multimask with score
  selection on the first click only (ambiguity), then single.
- ``first_oracle``: DISNet's first-click intentional ambiguity: oracle selection among
  the candidates on click 1 only, then single-mask refinement from the kept mask. An
  oracle policy: ranked apart, like ``oracle``.
- ``first_score``: the same with score selection on click 1 — by definition the ``sam``
  rule, kept under DISNet's name so the two protocols can be compared side by side.

The low-res logits of the candidate actually kept are fed back on the next click.
Models without candidates (``multimask = False``) are unaffected by the policy.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from rclicks.errors import RClicksError
from rclicks.metrics.mask import iou
from rclicks.types import Prediction

POLICIES = ("single", "score", "oracle", "sam", "first_oracle", "first_score")
#: Policies that look at the ground truth: an upper bound, never ranked with the others.
ORACLE_POLICIES = ("oracle", "first_oracle")


def is_oracle(policy: str) -> bool:
    """Whether ``policy`` selects candidates with the ground truth (kept out of the main leaderboard)."""
    return policy in ORACLE_POLICIES


def check_policy(policy: str) -> str:
    """Return ``policy`` or raise RClicksError listing the valid ones."""
    if policy not in POLICIES:
        raise RClicksError(f"unknown multimask policy {policy!r}; choose one of {', '.join(POLICIES)}")
    return policy


def wants_multimask(policy: str, n_clicks: int) -> bool:
    """Whether the model should be asked for several candidates on a prompt of ``n_clicks`` clicks."""
    check_policy(policy)
    return policy in ("score", "oracle") or (policy in ("sam", "first_oracle", "first_score") and n_clicks == 1)


def candidate_ious(pred: Prediction, gt: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    """IoU against ``gt`` of each of ``pred``'s candidate masks (``float64`` ``K``; empty without candidates)."""
    if pred.candidates is None:
        return np.zeros(0)
    return np.array([iou(gt, c > pred.threshold, valid) for c in pred.candidates])


def apply_policy(pred: Prediction, policy: str, gt: np.ndarray, valid: np.ndarray | None, n_clicks: int) -> Prediction:
    """Select one candidate of ``pred`` by ``policy``; the chosen candidate's low-res logits become the feedback state.

    ``pred.state`` may be ``{"low_res": K×1×h×w}`` holding one low-res logit map per candidate.
    """
    if pred.candidates is None or len(pred.candidates) <= 1 or not wants_multimask(policy, n_clicks):
        return pred
    if is_oracle(policy):
        k = int(np.argmax(candidate_ious(pred, gt, valid)))
    else:
        if pred.scores is None:
            raise RClicksError("model returned candidate masks without scores; cannot apply the 'score' policy")
        k = int(np.argmax(pred.scores))
    state = pred.state
    if isinstance(state, dict) and "low_res" in state and len(state["low_res"]) == len(pred.candidates):
        state = {**state, "low_res": state["low_res"][k : k + 1]}
    return replace(pred, prob=pred.candidates[k], state=state)
