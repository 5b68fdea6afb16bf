"""Mask metrics: IoU, Boundary IoU, Dice, precision, recall, accuracy.

Every function takes ``gt`` and ``pred`` as ``bool`` ``H×W`` and an optional ``valid``
``bool`` ``H×W`` (False = ignore region, excluded from every count). Empty unions are
defined as a perfect score (1.0): both masks agree that there is nothing.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from rclicks.errors import RClicksError


def _check(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    gt = np.asarray(gt, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    if gt.shape != pred.shape or gt.ndim != 2:
        raise RClicksError(f"mask shapes differ or are not 2-D: gt {gt.shape}, prediction {pred.shape}")
    if valid is not None:
        valid = np.asarray(valid, dtype=bool)
        if valid.shape != gt.shape:
            raise RClicksError(f"ignore/valid mask shape {valid.shape} differs from gt {gt.shape}")
    return gt, pred, valid


def _ratio(num: int, den: int) -> float:
    return 1.0 if den == 0 else num / den


def confusion(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> tuple[int, int, int, int]:
    """Counts ``(tp, fp, fn, tn)`` over valid pixels."""
    gt, pred, valid = _check(gt, pred, valid)
    if valid is not None:
        gt, pred = gt[valid], pred[valid]
    tp = int(np.count_nonzero(gt & pred))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(np.count_nonzero(gt)) - tp
    tn = gt.size - tp - fp - fn
    return tp, fp, fn, tn


def confusion_batch(gt: np.ndarray, masks: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """:func:`confusion` of each of ``B`` masks at once: ``tp, fp, fn, tn`` (``B×4`` int64) of ``masks`` (``B×H×W`` bool)
    against ``gt`` (``H×W`` bool) over valid pixels."""
    g = gt if valid is None else gt & valid
    m = masks if valid is None else masks & valid
    tp = (m & g).sum(axis=(1, 2))
    fp = m.sum(axis=(1, 2)) - tp
    fn = int(g.sum()) - tp
    tn = (g.size if valid is None else int(valid.sum())) - tp - fp - fn
    return np.stack([tp, fp, fn, tn], axis=1).astype(np.int64)


def iou_from_counts(tp: int, fp: int, fn: int, tn: int = 0) -> float:
    """IoU ``tp / (tp + fp + fn)`` from confusion counts; 1.0 when the union is empty."""
    return _ratio(tp, tp + fp + fn)


def iou(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Intersection over union ``|G∩P| / |G∪P|`` over valid pixels (RITM's ``get_iou``)."""
    return iou_from_counts(*confusion(gt, pred, valid))


def dice(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Dice coefficient ``2|G∩P| / (|G| + |P|)`` over valid pixels."""
    tp, fp, fn, _ = confusion(gt, pred, valid)
    return _ratio(2 * tp, 2 * tp + fp + fn)


def precision(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Precision ``|G∩P| / |P|`` over valid pixels."""
    tp, fp, _, _ = confusion(gt, pred, valid)
    return _ratio(tp, tp + fp)


def recall(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Recall ``|G∩P| / |G|`` over valid pixels."""
    tp, _, fn, _ = confusion(gt, pred, valid)
    return _ratio(tp, tp + fn)


def accuracy(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None) -> float:
    """Pixel accuracy over valid pixels."""
    tp, fp, fn, tn = confusion(gt, pred, valid)
    return _ratio(tp + tn, tp + fp + fn + tn)


def boundary_width(shape: tuple[int, int], ratio: float = 0.02) -> int:
    """Erosion iterations for the boundary band: ``round(ratio × image diagonal)``, at least 1."""
    h, w = shape
    return max(1, int(round(ratio * math.sqrt(h * h + w * w))))


def boundary(mask: np.ndarray, width: int) -> np.ndarray:
    """``bool`` band of ``mask``: the mask minus its erosion by ``width`` iterations of a 3×3 kernel.

    The image is padded by one pixel of background first, so the image border counts as
    object border (Cheng et al., "Boundary IoU", CVPR 2021; the definition RClicks uses).
    """
    m = np.asarray(mask, dtype=np.uint8)
    padded = cv2.copyMakeBorder(m, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=width)[1:-1, 1:-1]
    return (m - eroded).astype(bool)


def boundary_iou(gt: np.ndarray, pred: np.ndarray, valid: np.ndarray | None = None, ratio: float = 0.02) -> float:
    """Boundary IoU: IoU of the boundary bands (width ``round(ratio × diagonal)``) of gt and prediction.

    Bands are computed on the full masks (the ignore region counts as background for
    the gt band); ignored pixels are then excluded from intersection and union.
    """
    gt, pred, valid = _check(gt, pred, valid)
    width = boundary_width(gt.shape, ratio)
    return iou(boundary(gt, width), boundary(pred, width), valid)


def _safe_ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.ones_like(num), where=den != 0)


#: Per-click metrics derived from confusion counts ``(tp, fp, fn, tn)`` over valid pixels
#: (the IPOL 2024 demo's metrics). An empty denominator scores 1.0, as for IoU.
COUNT_METRICS: dict[str, str] = {
    "iou": "tp / (tp + fp + fn)",
    "dice": "2 tp / (2 tp + fp + fn)",
    "precision": "tp / (tp + fp)",
    "recall": "tp / (tp + fn)",
    "accuracy": "(tp + tn) / (tp + fp + fn + tn)",
    "fscore": "F1 = 2 P R / (P + R), equal to Dice on binary masks",
}


def metric_from_counts(name: str, tp, fp, fn, tn) -> np.ndarray:
    """A :data:`COUNT_METRICS` metric, vectorised over arrays of confusion counts; ``float64``."""
    tp, fp, fn, tn = (np.asarray(v, dtype=np.float64) for v in (tp, fp, fn, tn))
    if name == "iou":
        return _safe_ratio(tp, tp + fp + fn)
    if name == "dice":
        return _safe_ratio(2 * tp, 2 * tp + fp + fn)
    if name == "precision":
        return _safe_ratio(tp, tp + fp)
    if name == "recall":
        return _safe_ratio(tp, tp + fn)
    if name == "accuracy":
        return _safe_ratio(tp + tn, tp + fp + fn + tn)
    if name == "fscore":
        p, r = _safe_ratio(tp, tp + fp), _safe_ratio(tp, tp + fn)
        return np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) != 0)
    raise RClicksError(f"unknown count metric {name!r}; known: {', '.join(COUNT_METRICS)}")
