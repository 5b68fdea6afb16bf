"""Adaptive single-click IoU heatmaps: full resolution for a fraction of the model calls (quadtree refinement).

A brute-force heatmap clicks at every point of a stride-``s`` lattice inside the object
(TETRIS reports 4 h on a V100 for every pixel of a 1024² image). Here the lattice is
covered by cells of ``coarse`` pixels; the model is called at the cells' corners only,
and a cell is

* **uniform** — all four corners inside the object, their IoUs within ``tol`` of each
  other, and (``probe``, the default) the cell's centre — evaluated once the corners agree —
  within ``probe_tol`` (default ``tol``) of the corners' bilinear value and within ``tol``
  of them: the points inside it are bilinearly interpolated from the corners;
* **on the boundary** — some corners outside the object: subdivided down to
  ``edge`` pixels, then its inside points are interpolated from its inside corners
  (weights renormalised over them) if those (and the centre, when inside) agree;
* otherwise subdivided into four, down to cells of ``stride`` pixels, whose corners are
  every lattice point (exact) — or, with ``finest``, down to cells of ``finest`` pixels,
  whose points then take their nearest inside corner's value (a budget, not exact).

So every model call is at a lattice point, the map is exact wherever the IoU changes
faster than ``tol`` per cell, and each call is reported (``calls``). The centre probe
is what catches a dip or peak inside a cell whose corners happen to agree; it costs one
call per accepted cell and none for a split one (the centre is a corner of its children).
Brute force is the same routine with ``tol = -1`` (nothing is uniform): every inside
lattice point once. ``benchmarks/heatmap.py`` measures the agreement; ``docs/robustness.md``
states it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rclicks.attacks.heatmap import HeatmapResult
from rclicks.runner import one_click_scores
from rclicks.clickers.regions import valid_or_none
from rclicks.errors import RClicksError
from rclicks.types import Click, Sample

#: Defaults: IoU tolerance of a uniform cell, coarse cell size, boundary cell size (pixels).
TOLERANCE, COARSE, EDGE = 0.02, 32, 4
#: Cells of at least this many lattice steps are probed at their centre (a 1-step cell has no inner point).
PROBE_MIN = 2


def adaptive_heatmap(
    model,
    sample: Sample,
    stride: int = 1,
    tol: float = TOLERANCE,
    coarse: int = COARSE,
    edge: int = EDGE,
    first_click: Click | None = None,
    batch: int = 16,
    progress: Callable[[int, int], None] | None = None,
    *,
    probe: bool = True,
    probe_tol: float | None = None,
    finest: int | None = None,
) -> HeatmapResult:
    """IoU of a single positive click (after ``first_click`` if given) at every stride-``stride`` lattice point
    ``(x, y) = (i·stride, j·stride)`` inside the object, by adaptive refinement (module docstring).

    ``coarse / stride``, ``edge / stride`` and ``finest / stride`` must be powers of two (``edge``,
    ``finest`` ≤ ``coarse``). ``probe``: check each candidate uniform cell's centre (``probe_tol``,
    default ``tol``, against the bilinear value); ``finest``: stop splitting at cells of that many
    pixels and give their points the nearest inside corner's value (default: the stride, exact).
    ``progress(calls_done, calls_known)`` after each batch of model calls (the total grows
    as cells are subdivided). The result's ``xs, ys, values`` are the evaluated points;
    ``dense`` is the ``H×W`` map (each lattice value painted over its ``stride`` cell, NaN
    outside the object and on ignored pixels); ``calls``, ``tolerance`` record the cost.
    """
    k = coarse // stride if stride >= 1 else 0
    e = max(1, edge // stride) if stride >= 1 else 0
    if stride < 1 or k < 1 or coarse % stride or k & (k - 1) or e & (e - 1) or e > k:
        raise RClicksError(f"adaptive heatmap: coarse={coarse} and edge={edge} must be stride×2^n with edge ≤ coarse (stride {stride})")
    f = 1 if finest is None else finest // stride
    if f < 1 or f & (f - 1) or f > k or (finest or stride) % stride:
        raise RClicksError(f"adaptive heatmap: finest={finest} must be stride×2^n and at most coarse={coarse} (stride {stride})")
    valid = valid_or_none(sample)
    inside_px = sample.mask if valid is None else sample.mask & valid
    H, W = inside_px.shape
    ly, lx = np.arange(0, H, stride), np.arange(0, W, stride)
    h, w = ly.size, lx.size
    hp, wp = -(-(h - 1) // k) * k + 1, -(-(w - 1) // k) * k + 1  # lattice padded to whole coarse cells
    inside = np.zeros((hp, wp), bool)
    inside[:h, :w] = inside_px[np.ix_(ly, lx)]
    if not inside.any():
        raise RClicksError(f"{sample.dataset}/{sample.instance}: no lattice point of stride {stride} falls inside the object")
    sat = np.zeros((hp + 1, wp + 1), np.int64)  # summed-area table: inside points of any cell in O(1)
    sat[1:, 1:] = inside.cumsum(0).cumsum(1)
    value = np.full((hp, wp), np.nan)  # model IoU at evaluated points
    done = np.zeros((hp, wp), bool)
    filled = np.full((hp, wp), np.nan)  # interpolated values
    model.set_image(sample.image)
    prefix = [first_click] if first_click is not None else []
    calls = 0
    log: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (flat lattice index, counts, seconds) per evaluation

    def evaluate(ii: np.ndarray, jj: np.ndarray) -> None:
        nonlocal calls
        xs, ys = lx[jj], ly[ii]
        known = calls + ii.size

        def tick(n: int) -> None:
            if progress is not None:
                progress(calls + n, known)

        value[ii, jj], counts, seconds = one_click_scores(model, sample, xs, ys, prefix, batch, valid, tick)
        log.append((ii * wp + jj, counts, seconds))
        done[ii, jj] = True
        calls += ii.size

    ci, cj = np.meshgrid(np.arange(0, hp - 1, k), np.arange(0, wp - 1, k), indexing="ij")
    ci, cj, s = ci.ravel(), cj.ravel(), k
    ptol = tol if probe_tol is None else probe_tol
    while ci.size:
        corners = np.stack([np.stack([ci, ci, ci + s, ci + s]), np.stack([cj, cj + s, cj, cj + s])])  # 2 × 4 × n
        need = inside[corners[0], corners[1]] & ~done[corners[0], corners[1]]
        if need.any():
            flat = np.unique(corners[0][need] * wp + corners[1][need])
            evaluate(flat // wp, flat % wp)
        count = sat[ci + s + 1, cj + s + 1] - sat[ci, cj + s + 1] - sat[ci + s + 1, cj] + sat[ci, cj]
        keep = count > 0
        ci, cj, corners, count = ci[keep], cj[keep], corners[:, :, keep], count[keep]
        cv = np.where(inside[corners[0], corners[1]], value[corners[0], corners[1]], np.nan)  # 4 × n
        finite = np.isfinite(cv)
        lo = np.where(finite, cv, np.inf).min(axis=0)
        hi = np.where(finite, cv, -np.inf).max(axis=0)
        full = count == (s + 1) ** 2
        uniform = finite.any(axis=0) & (hi - lo <= tol) & (full | (s <= e)) & (s > 1)
        if probe and s >= PROBE_MIN and uniform.any():
            # the cell's centre is checked before the cell is declared uniform (it is a corner of the children if it is split)
            u = np.flatnonzero(uniform)
            pi, pj = ci[u] + s // 2, cj[u] + s // 2
            pin = inside[pi, pj]
            need = pin & ~done[pi, pj]
            if need.any():
                flat = np.unique(pi[need] * wp + pj[need])
                evaluate(flat // wp, flat % wp)
            pv = value[pi, pj]
            pred = np.nanmean(cv[:, u], axis=0)  # bilinear at the centre (renormalised over inside corners)
            ok = ~pin | ((np.abs(pv - pred) <= ptol) & (np.maximum(hi[u], pv) - np.minimum(lo[u], pv) <= tol))
            uniform[u[~ok]] = False
        if uniform.any():
            _interpolate(filled, done, inside, ci[uniform], cj[uniform], cv[:, uniform], s)
        stop = ~uniform & (s > 1) & (s <= f) & finite.any(axis=0)  # at the finest cell: nearest inside corner
        if stop.any():
            _nearest(filled, done, inside, ci[stop], cj[stop], cv[:, stop], s)
        split = ~uniform & ~stop & (s > 1)
        ci, cj, s = ci[split], cj[split], s // 2
        if ci.size:
            ci = np.concatenate([ci, ci, ci + s, ci + s])
            cj = np.concatenate([cj, cj + s, cj, cj + s])
    lattice = np.where(done, value, filled)[:h, :w]
    lattice[~inside[:h, :w]] = np.nan
    dense = lattice.astype(np.float32).repeat(stride, 0).repeat(stride, 1)[:H, :W]
    dense[~inside_px] = np.nan
    ii, jj = np.nonzero(done[:h, :w])
    flat = np.concatenate([f for f, _, _ in log])
    where = np.empty(hp * wp, np.int64)
    where[flat] = np.arange(flat.size)
    order = where[ii * wp + jj]
    counts = np.concatenate([c for _, c, _ in log])[order]
    seconds = np.concatenate([t for _, _, t in log])[order]
    return HeatmapResult(xs=lx[jj], ys=ly[ii], values=value[ii, jj], dense=dense, stride=stride, calls=calls, tolerance=tol,
                         method="adaptive", lattice=lattice, counts=counts, seconds=seconds)


def _interpolate(filled: np.ndarray, done: np.ndarray, inside: np.ndarray, ci: np.ndarray, cj: np.ndarray, cv: np.ndarray,
                 s: int) -> None:
    """Bilinear values inside cells of size ``s`` from their corners ``cv`` (4 × n, NaN = outside: weights renormalised)."""
    t = np.arange(s + 1) / s
    wy, wx = np.meshgrid(t, t, indexing="ij")
    weights = np.stack([(1 - wy) * (1 - wx), (1 - wy) * wx, wy * (1 - wx), wy * wx]).reshape(4, -1)  # 4 × (s+1)²
    finite = np.isfinite(cv)
    for start in range(0, ci.size, max(1, 2_000_000 // weights.shape[1])):  # bounded memory per chunk
        sl = slice(start, start + max(1, 2_000_000 // weights.shape[1]))
        c, f = np.nan_to_num(cv[:, sl]), finite[:, sl].astype(np.float64)
        num = c.T @ weights  # n × (s+1)²  (NaN corners contribute 0)
        den = f.T @ weights
        mean = (c * f).sum(axis=0) / np.maximum(f.sum(axis=0), 1)
        vals = np.where(den > 1e-12, num / np.maximum(den, 1e-12), mean[:, None])
        di, dj = np.meshgrid(np.arange(s + 1), np.arange(s + 1), indexing="ij")
        ii = ci[sl, None] + di.ravel()[None, :]
        jj = cj[sl, None] + dj.ravel()[None, :]
        put = inside[ii, jj] & ~done[ii, jj]
        filled[ii[put], jj[put]] = vals[put]


def _nearest(filled: np.ndarray, done: np.ndarray, inside: np.ndarray, ci: np.ndarray, cj: np.ndarray, cv: np.ndarray,
             s: int) -> None:
    """Each point of cells of size ``s`` takes the value of its nearest inside corner (``cv`` 4 × n, NaN = outside)."""
    di, dj = np.meshgrid(np.arange(s + 1), np.arange(s + 1), indexing="ij")
    di, dj = di.ravel(), dj.ravel()
    dist = np.stack([di**2 + dj**2, di**2 + (s - dj) ** 2, (s - di) ** 2 + dj**2, (s - di) ** 2 + (s - dj) ** 2]).astype(float)  # 4 × p
    for start in range(0, ci.size, max(1, 2_000_000 // di.size)):
        sl = slice(start, start + max(1, 2_000_000 // di.size))
        c = cv[:, sl]  # 4 × n
        d = np.where(np.isfinite(c)[:, :, None], dist[:, None, :], np.inf)  # 4 × n × p
        vals = np.take_along_axis(c[:, :, None], d.argmin(axis=0)[None], axis=0)[0]  # n × p
        ii, jj = ci[sl, None] + di[None, :], cj[sl, None] + dj[None, :]
        put = inside[ii, jj] & ~done[ii, jj]
        filled[ii[put], jj[put]] = vals[put]


def brute_force(model, sample: Sample, stride: int, first_click: Click | None = None, batch: int = 16,
                progress: Callable[[int, int], None] | None = None) -> HeatmapResult:
    """Every inside point of the stride-``stride`` lattice, one model call each (the adaptive routine with ``tol = -1``)."""
    return adaptive_heatmap(model, sample, stride=stride, tol=-1.0, coarse=stride, edge=stride, first_click=first_click, batch=batch,
                            progress=progress)


def agreement(adaptive: HeatmapResult, reference: HeatmapResult, within: float = 0.02) -> dict:
    """How close an adaptive map is to a brute-force one of the same stride: share of lattice points within
    ``within`` IoU, max and mean absolute error, and the model calls saved."""
    if adaptive.lattice is None or reference.lattice is None or adaptive.lattice.shape != reference.lattice.shape:
        raise RClicksError("agreement needs two lattice heatmaps of the same stride and image")
    both = np.isfinite(adaptive.lattice) & np.isfinite(reference.lattice)
    err = np.abs(adaptive.lattice[both] - reference.lattice[both])
    return {"points": int(both.sum()), f"share_within_{within:g}": float((err <= within).mean()), "max_error": float(err.max()),
            "mean_error": float(err.mean()), "calls": int(adaptive.calls), "brute_force_calls": int(reference.calls),
            "calls_saved": float(1 - adaptive.calls / reference.calls)}
