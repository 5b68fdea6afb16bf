"""The TETRIS adversarial clicker (Moskalenko et al., AAAI 2024): each click moved to lower or raise the IoU.

Greedy protocol, shared by both attacks: click ``k`` starts from the baseline (RITM)
click given the current mask and earlier clicks; its polarity is the baseline's; it is
moved to lower (``direction="min"``) or raise (``"max"``) the IoU after the click,
earlier clicks fixed. A click is *valid* when it lies in the current error region of
its polarity (FN for a positive click, FP for a negative one), on a valid pixel, and
not on an earlier click. Coordinates: x = column, y = row.

* ``whitebox``: models exposing :class:`TorchClickModel` (``torch_logits``). The click's
  continuous coordinates are optimised by Adam (≤ ``steps`` steps, LR = 5·√(H²+W²)/(400·√2))
  on ``±Dice + 1000 × location loss``; a step is accepted only if the rounded click is
  valid, the true IoU moves the wanted way and the location loss grows ≤ 5 %.
* ``blackbox``: any model. Candidates on a ring/grid around the baseline click (the
  baseline position included), restricted to valid positions, scored by the model.

:class:`AdversarialClicker` is a clicker that queries the model (``queries_model``): the
runner (``rclicks.runner.run_trajectory``) hands it a :class:`rclicks.runner.ModelQueries`
through which it scores candidates, and keeps the prediction of the click it returns, so
the kept click costs no second model call. ``rclicks.attacks.adversarial`` runs it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from rclicks.clickers.baseline import baseline_click
from rclicks.clickers.regions import error_regions, valid_or_none
from rclicks.errors import RClicksError
from rclicks.metrics.mask import iou
from rclicks.types import Click, Prediction, Sample

Direction = Literal["min", "max"]


@runtime_checkable
class TorchClickModel(Protocol):
    """What a white-box attack needs: differentiable logits for continuous click coordinates.

    ``torch_logits(coords, labels, mask_input)``: ``coords`` torch float ``N×2`` (x, y in
    pixels of the image given to ``set_image``), ``labels`` torch ``N`` (1 positive,
    0 negative), ``mask_input`` the previous prediction's model feedback
    (``Prediction.state["low_res"]``) or None → logits torch ``H×W`` (``> 0`` = object),
    differentiable w.r.t. ``coords``.
    """

    def set_image(self, image: np.ndarray) -> None: ...

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None) -> Prediction: ...

    def torch_logits(self, coords: Any, labels: Any, mask_input: Any = None) -> Any: ...


def learning_rate(shape: tuple[int, int]) -> float:
    """TETRIS Adam learning rate in pixels: ``5·√(H²+W²) / (400·√2)``."""
    h, w = shape
    return 5.0 * math.hypot(h, w) / (400.0 * math.sqrt(2.0))


def valid_region(sample: Sample, pred_mask: np.ndarray, positive: bool) -> np.ndarray:
    """Where a click of this polarity is valid given the current mask: FN region (positive) or FP region (negative), ``bool`` ``H×W``."""
    fn, fp = error_regions(sample.mask, pred_mask, valid_or_none(sample))
    return fn if positive else fp


def is_valid(click: Click, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click] = ()) -> bool:
    """True when ``click`` lies in its polarity's error region of ``pred_mask`` and not on an earlier click."""
    return _in_region(click, valid_region(sample, pred_mask, click.positive), history)


def _in_region(click: Click, region: np.ndarray, history: Sequence[Click]) -> bool:
    h, w = region.shape
    if not (0 <= click.x < w and 0 <= click.y < h) or not region[click.y, click.x]:
        return False
    return all((c.x, c.y) != (click.x, click.y) for c in history)


def _better(a: float, b: float, direction: Direction) -> bool:
    return a < b if direction == "min" else a > b


def _feedback(prev: Prediction | None) -> Any:
    if prev is not None and isinstance(prev.state, dict):
        return prev.state.get("low_res")
    return None


def location_penalty(region: np.ndarray) -> np.ndarray:
    """Per-pixel location cost: distance (px) to the nearest pixel of ``region``, 0 inside it (``float32`` ``H×W``)."""
    import cv2

    if not region.any():
        return np.zeros(region.shape, np.float32)
    return cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE).astype(np.float32)


def disk_location_loss(penalty: np.ndarray, x: float, y: float, radius: float) -> float:
    """Location loss of a click at (x, y): mean ``penalty`` over the in-image pixels within ``radius`` (hard disk)."""
    h, w = penalty.shape
    r = math.ceil(radius) + 1
    y0, y1 = max(0, round(y) - r), min(h, round(y) + r + 1)
    x0, x1 = max(0, round(x) - r), min(w, round(x) + r + 1)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    inside = (xx - x) ** 2 + (yy - y) ** 2 <= radius**2
    return float(penalty[y0:y1, x0:x1][inside].mean()) if inside.any() else 0.0


def ring_candidates(center: Click, radius: float, rings: int = 3, per_ring: int = 12) -> list[tuple[int, int]]:
    """``(x, y)`` candidates: the centre plus ``rings`` rings of ``per_ring`` points up to ``radius`` pixels away."""
    out = [(center.x, center.y)]
    for r in range(1, rings + 1):
        rad = radius * r / rings
        for k in range(per_ring):
            a = 2 * math.pi * (k + 0.5 * (r % 2)) / per_ring
            out.append((round(center.x + rad * math.cos(a)), round(center.y + rad * math.sin(a))))
    return list(dict.fromkeys(out))


def _blackbox_step(
    queries, sample: Sample, history: Sequence[Click], start: Click, region: np.ndarray,
    direction: Direction, radius: float = 5.0, search: float = 12.0, rings: int = 3, per_ring: int = 12,
    keep_location: bool = False,
) -> tuple[Click, float, Prediction]:
    """Best valid candidate around ``start`` (``start`` included): (click, its IoU, its prediction).

    A candidate is valid when it lies in ``region`` and is not an earlier click; with
    ``keep_location`` its location loss (:func:`disk_location_loss`, disk of ``radius``)
    must also stay within 5 % of the start's, as in the white-box attack.
    """
    valid = valid_or_none(sample)
    penalty = location_penalty(region) if keep_location else None
    loc0 = disk_location_loss(penalty, start.x, start.y, radius) if keep_location else 0.0
    best: tuple[Click, float, Prediction] | None = None
    for x, y in ring_candidates(start, search, rings, per_ring):
        cand = Click(x, y, start.positive)
        moved = (x, y) != (start.x, start.y)
        if moved and not _in_region(cand, region, history):
            continue
        if moved and penalty is not None and disk_location_loss(penalty, x, y, radius) > 1.05 * loc0 + 1e-9:
            continue
        pred = queries.predict([*history, cand])
        value = iou(sample.mask, pred.mask, valid)
        if best is None or _better(value, best[1], direction):
            best = (cand, value, pred)
    assert best is not None  # the start is always scored
    return best


def soft_disk(coord, shape: tuple[int, int], radius: float, softness: float = 0.5):
    """Differentiable disk ``H×W`` (torch, values in (0, 1)) of ``radius`` px around ``coord`` (torch ``2``, x/y)."""
    import torch

    h, w = shape
    ys = torch.arange(h, dtype=torch.float32)[:, None]
    xs = torch.arange(w, dtype=torch.float32)[None, :]
    dist = torch.sqrt((xs - coord[0]) ** 2 + (ys - coord[1]) ** 2 + 1e-6)
    return torch.sigmoid((radius - dist) / softness)


def location_loss(coord, penalty, radius: float):
    """Differentiable location loss: mean ``penalty`` (torch ``H×W``) under the click's soft disk."""
    disk = soft_disk(coord, tuple(penalty.shape), radius)
    return (disk * penalty).sum() / disk.sum().clamp_min(1e-6)


def dice_loss(logits, gt, weight=None):
    """Soft Dice loss ``1 − 2|P∩G| / (|P| + |G|)`` of ``sigmoid(logits)`` against ``gt`` (torch ``H×W``), over ``weight`` pixels."""
    p = logits.sigmoid()
    if weight is not None:
        p = p * weight
    return 1 - 2 * (p * gt).sum() / (p.sum() + gt.sum()).clamp_min(1e-6)


def _whitebox_step(
    queries, sample: Sample, history: Sequence[Click], start: Click,
    region: np.ndarray, direction: Direction, steps: int = 10, radius: float = 5.0, lr: float | None = None,
) -> tuple[Click, float, Prediction]:
    """Optimise one click from ``start`` by Adam on ±Dice + 1000·location; (best accepted click, its IoU, its prediction).

    Each step's rounded click is scored by ``queries.predict`` (the model's true mask, with the
    trajectory's feedback); ``queries.model`` gives the logits the gradient flows through. It is
    accepted when it lies in ``region``, is not an earlier click, its location loss
    (:func:`disk_location_loss`) is ≤ 1.05 × the start's, and its IoU beats the best so far.
    """
    import torch

    valid = valid_or_none(sample)
    shape = sample.mask.shape
    pen_np = location_penalty(region)
    penalty = torch.from_numpy(pen_np)
    g = sample.mask if valid is None else sample.mask & valid
    gt = torch.from_numpy(g.astype(np.float32))
    weight = None if valid is None else torch.from_numpy(valid.astype(np.float32))
    fixed = torch.tensor([[float(c.x), float(c.y)] for c in history], dtype=torch.float32).reshape(-1, 2)
    labels = torch.tensor([1.0 if c.positive else 0.0 for c in [*history, start]])
    model: TorchClickModel = queries.model
    mask_input = _feedback(queries.prev)
    sign = -1.0 if direction == "max" else 1.0  # maximise IoU ⇔ minimise Dice loss; minimise IoU ⇔ maximise it

    pred0 = queries.predict([*history, start])
    best = (start, iou(sample.mask, pred0.mask, valid), pred0)
    loc0 = disk_location_loss(pen_np, start.x, start.y, radius)
    coord = torch.tensor([float(start.x), float(start.y)], requires_grad=True)
    opt = torch.optim.Adam([coord], lr=lr if lr is not None else learning_rate(shape))
    seen = {(start.x, start.y)}
    for _ in range(steps):
        opt.zero_grad()
        logits = model.torch_logits(torch.cat([fixed, coord[None]], 0), labels, mask_input)
        loss = -sign * dice_loss(logits, gt, weight) + 1000.0 * location_loss(coord, penalty, radius)
        loss.backward()
        opt.step()
        with torch.no_grad():
            coord[0].clamp_(0, shape[1] - 1)
            coord[1].clamp_(0, shape[0] - 1)
        cand = Click(round(float(coord[0].detach())), round(float(coord[1].detach())), start.positive)
        if (cand.x, cand.y) in seen:
            continue
        seen.add((cand.x, cand.y))
        if not _in_region(cand, region, history) or disk_location_loss(pen_np, cand.x, cand.y, radius) > 1.05 * loc0 + 1e-9:
            continue
        pred = queries.predict([*history, cand])
        value = iou(sample.mask, pred.mask, valid)
        if _better(value, best[1], direction):
            best = (cand, value, pred)
    return best


METHODS = ("auto", "whitebox", "blackbox")


def pick_method(model: Any, method: str) -> str:
    """``"whitebox"`` or ``"blackbox"`` for ``method`` (``"auto"``: white-box for differentiable models with ``torch_logits``)."""
    if method == "auto":
        method = "whitebox" if getattr(model, "differentiable", False) and isinstance(model, TorchClickModel) else "blackbox"
    if method not in ("whitebox", "blackbox"):
        raise RClicksError(f"attack method must be 'auto', 'whitebox' or 'blackbox', got {method!r}")
    if method == "whitebox" and not isinstance(model, TorchClickModel):
        raise RClicksError(f"model {getattr(model, 'name', model)!r} has no torch_logits(); use the black-box attack")
    return method


@dataclass
class AdversarialClicker:
    """Greedy IoU-minimising (``direction="min"``) or -maximising (``"max"``) clicks, one search per click (module docstring).

    ``radius``: the click's disk for the location loss (px); ``search``: black-box search radius
    (px, default 2 % of the image diagonal, ≥ 6); ``steps``: white-box Adam steps;
    ``keep_location``: the black-box attack also applies the white-box 5 % location rule.
    ``method`` is resolved against the model on the first click (``used`` records it).
    """

    direction: Direction = "min"
    method: str = "auto"
    steps: int = 10
    radius: float = 5.0
    search: float | None = None
    keep_location: bool = False
    name: str = ""
    #: the runner passes a ``ModelQueries`` to ``next_click`` (candidates are scored with the run's model)
    queries_model = True

    def __post_init__(self) -> None:
        if self.direction not in ("min", "max"):
            raise RClicksError(f"direction must be 'min' or 'max', got {self.direction!r}")
        if self.method not in METHODS:
            raise RClicksError(f"attack method must be 'auto', 'whitebox' or 'blackbox', got {self.method!r}")
        self.name = self.name or f"adv_{self.direction}"
        self.used: str | None = None

    def next_click(self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator,
                   *, queries: Any = None) -> Click:
        """The best valid click around the baseline robot's click, scored through ``queries`` (a ``ModelQueries``)."""
        if queries is None:
            raise RClicksError(f"clicker {self.name!r} scores candidates with the model; run it with rclicks.runner.run_trajectory")
        if self.used is None:
            self.used = pick_method(queries.model, self.method)
        valid = valid_or_none(sample)
        h, w = sample.mask.shape
        start = baseline_click(sample.mask, pred_mask, valid, history)
        region = valid_region(sample, pred_mask, start.positive)
        if self.used == "whitebox":
            click, _, _ = _whitebox_step(queries, sample, history, start, region, self.direction, steps=self.steps, radius=self.radius)
        else:
            search = self.search if self.search is not None else max(6.0, 0.02 * math.hypot(h, w))
            click, _, _ = _blackbox_step(queries, sample, history, start, region, self.direction, radius=self.radius,
                                         search=search, keep_location=self.keep_location)
        return click
