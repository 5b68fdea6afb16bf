"""Fit the ``learned`` clickability network (``TinyClickNet``) on a clicks table, on CPU (needs torch).

Training data: the table's ``first`` clicks (error region = the object mask), grouped by
instance; ``fn``/``fp`` rows need the previous masks, which the table does not carry, and
are skipped (counted). Target per instance (RClicks ``render_gaze_map`` + ``ClickMaps``):
the instance's clicks rasterised at ``S×S``, Gaussian-blurred with
``σ = 120 · diag(S, S) / diag(1920, 1080)``, times the error mask blurred with
``blur_sigma(S, S)``, normalised to sum 1. Loss: cross-entropy between this density and the
softmax of the net's ``S×S`` log-density. Seeded (``torch.manual_seed`` + numpy generator).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
import pandas as pd

from rclicks.clickmaps.base import blur_sigma, gaussian_blur
from rclicks.clickmaps.learned import build_tiny_net, network_inputs, save_checkpoint
from rclicks.errors import RClicksError
from rclicks.types import Sample


def click_density(xs: np.ndarray, ys: np.ndarray, error_mask: np.ndarray) -> np.ndarray:
    """``float32`` ``H×W`` target density of clicks (x = column, y = row) on one instance, summing to 1."""
    h, w = error_mask.shape
    acc = np.zeros((h, w), np.float32)
    np.add.at(acc, (np.clip(ys, 0, h - 1), np.clip(xs, 0, w - 1)), 1.0)
    sigma = 120.0 * math.hypot(h, w) / math.hypot(1920, 1080)
    dens = gaussian_blur(acc, sigma) * gaussian_blur(error_mask.astype(np.float32), blur_sigma(h, w))
    total = float(dens.sum())
    if total <= 0:  # clicks far outside the region: fall back to the plain click raster
        dens, total = acc, float(acc.sum())
    return (dens / total).astype(np.float32)


@dataclass
class TrainItem:
    """One instance, already at the net's input size: image ``[3,S,S]``, masks ``[2,S,S]``, target ``[S,S]``."""

    key: str
    image: np.ndarray
    masks: np.ndarray
    target: np.ndarray


@dataclass
class TrainResult:
    """What ``train`` returns: the net, per-step losses, the items used, rows skipped."""

    net: object
    losses: list[float] = field(default_factory=list)
    items: int = 0
    skipped_rows: int = 0
    path: Path | None = None


def training_items(table: pd.DataFrame, samples: Sequence[Sample], size: int) -> tuple[list[TrainItem], int]:
    """Pair each sample with its ``first`` clicks (rescaled) and build inputs/targets at ``size``; also the skipped-row count."""
    from rclicks.clicks import clicks_for_sample

    skipped = int((table["click_type"] != "first").sum())
    items = []
    for s in samples:
        xs, ys = clicks_for_sample(table, s, "first")
        if xs.size == 0:
            continue
        h, w = s.mask.shape
        region = s.mask & s.valid
        x, m = network_inputs(s.image, s.mask, region, size)
        sx = np.clip((xs * size) // w, 0, size - 1)
        sy = np.clip((ys * size) // h, 0, size - 1)
        small_region = cv2.resize(region.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST).astype(bool)
        items.append(TrainItem(s.instance, x[0], m[0], click_density(sx, sy, small_region)))
    if not items:
        raise RClicksError("clicks table: no 'first' clicks match the dataset's instances (check dataset / image_stem / object_stem)")
    return items, skipped


def train(
    table: pd.DataFrame,
    samples: Sequence[Sample],
    *,
    steps: int = 200,
    size: int = 128,
    width: int = 16,
    batch: int = 4,
    lr: float = 2e-3,
    seed: int = 0,
    out: str | os.PathLike | None = None,
) -> TrainResult:
    """Train ``TinyClickNet`` for ``steps`` Adam steps on CPU; save a safetensors checkpoint to ``out`` if given."""
    import torch

    items, skipped = training_items(table, samples, size)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = build_tiny_net(width)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    images = torch.from_numpy(np.stack([i.image for i in items]))
    masks = torch.from_numpy(np.stack([i.masks for i in items]))
    targets = torch.from_numpy(np.stack([i.target for i in items])).flatten(1)
    losses = []
    net.train()
    for _ in range(steps):
        idx = torch.from_numpy(rng.choice(len(items), size=min(batch, len(items)), replace=False))
        logits = net(images[idx], masks[idx]).flatten(1)
        loss = -(targets[idx] * torch.log_softmax(logits, dim=1)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    net.eval()
    result = TrainResult(net=net, losses=losses, items=len(items), skipped_rows=skipped)
    if out is not None:
        result.path = save_checkpoint(net, out, size, width, {"steps": steps, "seed": seed, "items": len(items)})
    return result


def export_onnx(net, path: str | os.PathLike, size: int) -> Path:
    """Export a trained net to ONNX with the contract's input names (``image``, ``masks``) and static ``S``."""
    import torch

    path = Path(path)
    x = torch.zeros(1, 3, size, size)
    m = torch.zeros(1, 2, size, size)
    tmp = path.with_name(path.name + ".tmp")
    import warnings

    try:
        with warnings.catch_warnings():  # the TorchScript exporter is deprecated but needs no onnxscript
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(net, (x, m), str(tmp), input_names=["image", "masks"], output_names=["logdensity"], dynamo=False)
    except Exception as exc:  # exporter failures come in many types
        if tmp.exists():
            tmp.unlink()
        raise RClicksError(f"ONNX export to {path} failed ({exc})") from exc
    os.replace(tmp, path)
    return path
