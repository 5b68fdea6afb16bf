"""TETRIS adversarial click trajectories (Moskalenko et al., AAAI 2024): IoU-Min / IoU-Max.

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
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from rclicks.clickers.baseline import baseline_click
from rclicks.clickers.regions import error_regions, valid_or_none
from rclicks.errors import RClicksError
from rclicks.metrics.mask import boundary_iou, confusion, iou, iou_from_counts
from rclicks.types import Click, Prediction, Sample, Trajectory

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
    model, sample: Sample, history: Sequence[Click], prev: Prediction | None, start: Click, region: np.ndarray,
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
        pred = model.predict([*history, cand], prev)
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
    model: TorchClickModel, sample: Sample, history: Sequence[Click], prev: Prediction | None, start: Click,
    region: np.ndarray, direction: Direction, steps: int = 10, radius: float = 5.0, lr: float | None = None,
) -> tuple[Click, float, Prediction]:
    """Optimise one click from ``start`` by Adam on ±Dice + 1000·location; (best accepted click, its IoU, its prediction).

    Each step's rounded click is scored by ``model.predict`` (the true mask); it is
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
    mask_input = _feedback(prev)
    sign = -1.0 if direction == "max" else 1.0  # maximise IoU ⇔ minimise Dice loss; minimise IoU ⇔ maximise it

    pred0 = model.predict([*history, start], prev)
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
        pred = model.predict([*history, cand], prev)
        value = iou(sample.mask, pred.mask, valid)
        if _better(value, best[1], direction):
            best = (cand, value, pred)
    return best


class _TimedModel:
    """Forwards to ``model``, recording the seconds of each ``predict`` by the id of the Prediction it returned,
    so an attack can report the model's time for the click it kept apart from its search."""

    def __init__(self, model) -> None:
        self._model = model
        self.seconds: dict[int, float] = {}

    def predict(self, *args, **kwargs):
        t0 = time.perf_counter()
        pred = self._model.predict(*args, **kwargs)
        self.seconds[id(pred)] = time.perf_counter() - t0
        return pred

    def __getattr__(self, name: str):
        return getattr(self._model, name)


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
    if direction not in ("min", "max"):
        raise RClicksError(f"direction must be 'min' or 'max', got {direction!r}")
    if max_clicks < 1:
        raise RClicksError(f"max_clicks must be at least 1, got {max_clicks}")
    if method == "auto":
        method = "whitebox" if getattr(model, "differentiable", False) and isinstance(model, TorchClickModel) else "blackbox"
    if method not in ("whitebox", "blackbox"):
        raise RClicksError(f"attack method must be 'auto', 'whitebox' or 'blackbox', got {method!r}")
    if method == "whitebox" and not isinstance(model, TorchClickModel):
        raise RClicksError(f"model {getattr(model, 'name', model)!r} has no torch_logits(); use the black-box attack")
    if set_image:
        model.set_image(sample.image)
    h, w = sample.mask.shape
    search = search if search is not None else max(6.0, 0.02 * math.hypot(h, w))
    valid = valid_or_none(sample)
    traj = Trajectory(dataset=sample.dataset, instance=sample.instance, search_times=[])
    prev: Prediction | None = None
    pred_mask = np.zeros(sample.mask.shape, bool)
    timed = _TimedModel(model)
    for _ in range(max_clicks):
        start = baseline_click(sample.mask, pred_mask, valid, traj.clicks)
        region = valid_region(sample, pred_mask, start.positive)
        timed.seconds.clear()
        t0 = time.perf_counter()
        if method == "whitebox":
            click, _, pred = _whitebox_step(timed, sample, traj.clicks, prev, start, region, direction, steps=steps, radius=radius)
        else:
            click, _, pred = _blackbox_step(timed, sample, traj.clicks, prev, start, region, direction, radius=radius, search=search,
                                            keep_location=keep_location)
        total = time.perf_counter() - t0
        # time_s: the model's time for the kept click (what s/click compares across clickers); the rest was search
        own = timed.seconds.get(id(pred), float("nan"))
        traj.times.append(own)
        traj.search_times.append(max(0.0, total - own) if own == own else total)
        traj.clicks.append(click)
        pred_mask = pred.mask
        counts = confusion(sample.mask, pred_mask, valid)
        traj.counts.append(counts)
        traj.ious.append(iou_from_counts(*counts))
        traj.bious.append(boundary_iou(sample.mask, pred_mask, valid))
        prev = pred
    if keep_baseline:
        from rclicks.clickers.baseline import BaselineClicker
        from rclicks.runner import run_trajectory
        from rclicks.metrics.curves import iou_auc

        base = run_trajectory(model, sample, BaselineClicker(), max_clicks=max_clicks, set_image=False)
        if _better(iou_auc(base.ious, max_clicks), iou_auc(traj.ious, max_clicks), direction):
            # the model's times are the baseline run's own; the whole greedy search was paid for on top
            base.search_times = [a + b for a, b in zip(traj.times, traj.search_times)]
            return base, method
    return traj, method


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


def attack_summary(df, max_clicks: int | None = None):
    """Per instance: IoU-Min, IoU-Max, IoU-D = Max − Min (IoU-AuC@k of ``adv_min``/``adv_max``), the same on Boundary IoU, and the baseline's AuCs.

    ``df``: long-form rows with clickers ``adv_min``, ``adv_max``, ``baseline``;
    ``k`` = ``max_clicks`` (default: the rows' recorded ``max_clicks``). Returns a pandas DataFrame.
    """
    import pandas as pd

    from rclicks.metrics.curves import iou_auc

    need = {"adv_min", "adv_max", "baseline"}
    missing = need - set(df["clicker"].unique())
    if missing:
        raise RClicksError(f"attack results lack clicker(s) {sorted(missing)}; run `rclicks attack` to produce them")
    if max_clicks is None and "max_clicks" not in df.columns:
        raise RClicksError("attack results lack the max_clicks column; pass max_clicks or regenerate them with `rclicks attack`")
    keys = [c for c in ("model", "dataset", "instance") if c in df.columns]
    out = []
    for key, g in df.groupby(keys, sort=True):
        auc = {}
        for clicker, t in g.groupby("clicker"):
            t = t.sort_values("click")
            run = int(t["max_clicks"].iloc[0]) if "max_clicks" in t else int(max_clicks)
            k = int(max_clicks or run)
            auc[clicker] = (iou_auc(t["iou"].tolist(), k, run), iou_auc(t["biou"].tolist(), k, run))
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row.update({
            "IoU-Min": auc["adv_min"][0], "IoU-Max": auc["adv_max"][0], "IoU-D": auc["adv_max"][0] - auc["adv_min"][0],
            "BIoU-Min": auc["adv_min"][1], "BIoU-Max": auc["adv_max"][1], "BIoU-D": auc["adv_max"][1] - auc["adv_min"][1],
            "Baseline IoU-AuC": auc["baseline"][0], "Baseline BIoU-AuC": auc["baseline"][1],
        })
        out.append(row)
    return pd.DataFrame(out)
