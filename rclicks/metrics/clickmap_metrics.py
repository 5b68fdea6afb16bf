"""Click-map metrics: how well a clickability map predicts real clicks on one instance (RClicks, NeurIPS 2024).

Conventions follow RClicks' ``scripts/evaluate_click_models.py``: the map is normalised to
sum 1; clicks are ``xs`` (columns) and ``ys`` (rows) in map pixels; sampled click sets
have as many clicks as there are real ones and are drawn ``draws`` (= 100) times from
the map with a ``numpy.random.Generator``; ``w, h`` is the size of the instance's
bounding box (``instance_size``), used to make distances scale-free.

* NSS: mean of the z-scored map at the real clicks (Peters et al. 2005).
* PDE: mean probability (normalised map value) at the real clicks.
* PL1: mean over draws of the mean over all (real, sampled) pairs of ``|Δx|/w + |Δy|/h``.
* WD: mean over draws of the 2-D Wasserstein-1 distance between the real and the sampled
  set (Euclidean ground cost, equal weights; an optimal assignment since sizes are
  equal) divided by the bbox diagonal ``sqrt(w² + h²)``.
* KS: fraction of draws in which the 2-D two-sample Kolmogorov–Smirnov test of Fasano &
  Franceschini (1987), with the analytic p-value of Press et al. (Numerical Recipes §14.8)
  as in ``ndtest.ks2d2s``, does not reject at p = 0.05. Higher is better.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.stats import kstwobign

from rclicks.errors import RClicksError

EPS = 1e-9
DRAWS = 100


def _clicks(cmap: np.ndarray, xs, ys) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.asarray(xs, dtype=np.int64).ravel(), np.asarray(ys, dtype=np.int64).ravel()
    if xs.size == 0 or xs.shape != ys.shape:
        raise RClicksError(f"real clicks: need the same non-zero number of xs and ys, got {xs.size} and {ys.size}")
    h, w = cmap.shape
    return np.clip(xs, 0, w - 1), np.clip(ys, 0, h - 1)


def normalised(cmap: np.ndarray) -> np.ndarray:
    """``float64`` map divided by its sum; raises RClicksError for empty, negative or non-finite maps."""
    m = np.asarray(cmap, dtype=np.float64)
    if m.ndim != 2:
        raise RClicksError(f"click map must be 2-D H×W, got shape {m.shape}")
    total = m.sum()
    if not np.isfinite(total) or total <= 0 or (m < 0).any():
        raise RClicksError("click map must be non-negative and finite with a positive sum")
    return m / total


def nss(cmap: np.ndarray, xs, ys) -> float:
    """Normalised scanpath saliency: mean of ``(p − mean(p)) / (std(p) + 1e-9)`` at the clicks (p = map / sum)."""
    p = normalised(cmap)
    xs, ys = _clicks(p, xs, ys)
    z = (p - p.mean()) / (p.std() + EPS)
    return float(z[ys, xs].mean())


def pde(cmap: np.ndarray, xs, ys) -> float:
    """Probability density estimate: mean of the normalised map (sum 1) at the clicks."""
    p = normalised(cmap)
    xs, ys = _clicks(p, xs, ys)
    return float(p[ys, xs].mean())


def sample_clicks(cmap: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` clicks drawn i.i.d. ∝ the map: ``(xs, ys)`` int64 arrays (x = column, y = row)."""
    p = normalised(cmap)
    cum = np.cumsum(p.ravel())
    idx = np.searchsorted(cum, rng.random(n) * cum[-1], side="right")
    idx = np.minimum(idx, cum.size - 1)
    ys, xs = np.divmod(idx, p.shape[1])
    return xs.astype(np.int64), ys.astype(np.int64)


def instance_size(gt_mask: np.ndarray) -> tuple[int, int]:
    """``(w, h)`` of the bounding box of the ``bool`` ``H×W`` mask (RClicks ``get_height_width``); (0, 0) if empty."""
    rows = np.flatnonzero(np.asarray(gt_mask).any(axis=1))
    if rows.size == 0:
        return 0, 0
    cols = np.flatnonzero(np.asarray(gt_mask).any(axis=0))
    return int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def pl1(real: np.ndarray, sampled: np.ndarray, w: float, h: float) -> float:
    """Mean over draws and over all (real, sampled) pairs of ``|Δx|/w + |Δy|/h``.

    ``real``: ``n×2`` (x, y); ``sampled``: ``B×m×2`` (x, y).
    """
    real = np.asarray(real, dtype=np.float64)
    s = np.asarray(sampled, dtype=np.float64)
    d = np.abs(real[None, :, None, :] - s[:, None, :, :]) / np.array([w, h], dtype=np.float64)
    return float(d.sum(axis=-1).mean())


def wasserstein_equal(a: np.ndarray, b: np.ndarray) -> float:
    """Wasserstein-1 distance between two equal-size point sets (``n×2``) with equal weights: mean optimal-assignment cost."""
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    r, c = linear_sum_assignment(cost)
    return float(cost[r, c].mean())


def wd(real: np.ndarray, sampled: np.ndarray, w: float, h: float) -> float:
    """Mean over draws of the Wasserstein-1 distance between ``real`` (``n×2``) and each draw (``B×n×2``) / ``sqrt(w²+h²)``."""
    real = np.asarray(real, dtype=np.float64)
    diag = float(np.hypot(w, h))
    return float(np.mean([wasserstein_equal(real, np.asarray(s, dtype=np.float64)) for s in sampled]) / diag)


def _maxdist(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Fasano–Franceschini one-sided statistic per draw. ``p1``: ``B×n1×2``, ``p2``: ``B×n2×2`` → ``B``.

    Quadrant fractions around every point of ``p1`` for both samples, vectorised over draws,
    with ``ndtest.maxdist``'s handling of the point itself (−1/n1 on the lower-left
    quadrant, +1/n1 on the maximum).
    """
    n1 = p1.shape[1]
    x, y = p1[:, :, None, 0], p1[:, :, None, 1]

    def quad(pp: np.ndarray) -> np.ndarray:
        lx = pp[:, None, :, 0] <= x  # B×n1×n
        ly = pp[:, None, :, 1] <= y
        n = pp.shape[1]
        a = (lx & ly).sum(-1) / n
        b = (lx & ~ly).sum(-1) / n
        c = (~lx & ly).sum(-1) / n
        return np.stack([a, b, c, 1 - a - b - c], axis=-1)  # B×n1×4

    d = quad(p1) - quad(p2)
    d[:, :, 0] -= 1.0 / n1
    dmin = -d.min(axis=(1, 2))
    dmax = d.max(axis=(1, 2)) + 1.0 / n1
    return np.maximum(dmin, dmax)


def _pearson(p: np.ndarray) -> np.ndarray:
    """Pearson correlation of x and y per draw (``B×n×2`` → ``B``); 0 where a coordinate is constant."""
    c = p - p.mean(axis=1, keepdims=True)
    sxy = (c[..., 0] * c[..., 1]).sum(1)
    sxx, syy = (c[..., 0] ** 2).sum(1), (c[..., 1] ** 2).sum(1)
    den = np.sqrt(sxx * syy)
    return np.divide(sxy, den, out=np.zeros_like(sxy), where=den > 0)


def ks2d_pvalues(p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2-D two-sample KS (Fasano–Franceschini) per draw: ``(p_values, D)`` for ``B×n1×2`` vs ``B×n2×2`` (or ``n×2``).

    ``D = (maxdist(1, 2) + maxdist(2, 1)) / 2``; ``p = Q_KS(D·√N / (1 + r(0.25 − 0.75/√N)))``
    with ``N = n1·n2/(n1+n2)`` and ``r = sqrt(1 − (r1² + r2²)/2)`` from the samples'
    Pearson correlations (0 for a constant coordinate, where ndtest would give NaN).
    """
    p1 = np.asarray(p1, dtype=np.float64)
    p2 = np.asarray(p2, dtype=np.float64)
    if p1.ndim == 2:
        p1 = p1[None]
    if p2.ndim == 2:
        p2 = p2[None]
    b = max(p1.shape[0], p2.shape[0])
    p1 = np.broadcast_to(p1, (b,) + p1.shape[1:])
    p2 = np.broadcast_to(p2, (b,) + p2.shape[1:])
    n1, n2 = p1.shape[1], p2.shape[1]
    D = (_maxdist(p1, p2) + _maxdist(p2, p1)) / 2
    sqen = np.sqrt(n1 * n2 / (n1 + n2))
    r1, r2 = _pearson(p1), _pearson(p2)
    r = np.sqrt(1 - 0.5 * (r1**2 + r2**2))
    d = D * sqen / (1 + r * (0.25 - 0.75 / sqen))
    return kstwobign.sf(d), D


def ks_pass_rate(real: np.ndarray, sampled: np.ndarray, alpha: float = 0.05) -> float:
    """Fraction of draws (``sampled``: ``B×n×2``) whose 2-D KS p-value against ``real`` (``n×2``) exceeds ``alpha``."""
    p, _ = ks2d_pvalues(real, sampled)
    return float(np.mean(p > alpha))


def clickmap_scores(
    cmap: np.ndarray,
    xs,
    ys,
    size: tuple[float, float],
    rng: np.random.Generator,
    draws: int = DRAWS,
) -> dict[str, float]:
    """All five metrics of one instance: ``{"nss", "pde", "pl1", "wd", "ks"}``.

    ``cmap``: non-negative ``H×W`` map; ``xs``/``ys``: real clicks in map pixels;
    ``size``: ``(w, h)`` of the instance bbox (``instance_size``); ``rng`` seeds the draws
    (``draws × n`` clicks sampled at once, so results depend only on the seed).
    """
    w, h = size
    if w <= 0 or h <= 0:
        raise RClicksError(f"instance size must be positive, got w={w}, h={h} (empty gt mask?)")
    xs, ys = _clicks(np.asarray(cmap), xs, ys)
    n = xs.size
    sx, sy = sample_clicks(cmap, n * draws, rng)
    real = np.stack([xs, ys], axis=1)
    sampled = np.stack([sx.reshape(draws, n), sy.reshape(draws, n)], axis=-1)
    return {
        "nss": nss(cmap, xs, ys),
        "pde": pde(cmap, xs, ys),
        "pl1": pl1(real, sampled, w, h),
        "wd": wd(real, sampled, w, h),
        "ks": ks_pass_rate(real, sampled),
    }
