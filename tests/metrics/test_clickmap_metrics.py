"""Click-map metrics against hand-made maps, scipy, and a naive port of ndtest's 2-D KS."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kstwobign, pearsonr, wasserstein_distance_nd

from rclicks.errors import RClicksError
from rclicks.metrics.clickmap_metrics import (
    clickmap_scores,
    instance_size,
    ks2d_pvalues,
    ks_pass_rate,
    nss,
    pde,
    pl1,
    wd,
)


def test_nss_by_hand():
    m = np.array([[1.0, 0.0], [0.0, 1.0]])  # p = .5 0 0 .5 → mean .25, std .25 → z = ±1
    assert nss(m, [0], [0]) == pytest.approx(1.0, abs=1e-6)
    assert nss(m, [1], [0]) == pytest.approx(-1.0, abs=1e-6)
    assert nss(m, [0, 1], [0, 0]) == pytest.approx(0.0, abs=1e-6)
    assert nss(3 * m, [0], [0]) == pytest.approx(1.0, abs=1e-6)  # scale-free


def test_pde_by_hand():
    m = np.array([[3.0, 1.0], [0.0, 0.0]])  # p = .75 .25 0 0
    assert pde(m, [0, 1], [0, 0]) == pytest.approx(0.5)
    assert pde(m, [0], [1]) == 0.0
    with pytest.raises(RClicksError):
        pde(np.zeros((2, 2)), [0], [0])


def test_pl1_and_wd_on_a_point_map_by_hand():
    m = np.zeros((10, 10))
    m[4, 2] = 1.0  # every sampled click is (x=2, y=4)
    s = clickmap_scores(m, [0, 0], [0, 0], size=(4, 8), rng=np.random.default_rng(0), draws=5)
    assert s["pl1"] == pytest.approx(2 / 4 + 4 / 8)
    assert s["wd"] == pytest.approx(np.hypot(2, 4) / np.hypot(4, 8))
    assert s["pde"] == 0.0


def test_pl1_all_pairs():
    real = np.array([[0, 0], [4, 0]])
    sampled = np.array([[[2, 0], [2, 2]]])
    # pairs: (0,0)-(2,0): .5 ; (0,0)-(2,2): .5+.5 ; (4,0)-(2,0): .5 ; (4,0)-(2,2): 1 → mean 3/4
    assert pl1(real, sampled, 4, 4) == pytest.approx(0.75)


def test_wd_matches_scipy():
    rng = np.random.default_rng(1)
    real = rng.integers(0, 50, (12, 2)).astype(float)
    sampled = rng.integers(0, 50, (3, 12, 2)).astype(float)
    expect = np.mean([wasserstein_distance_nd(real, s) for s in sampled]) / np.hypot(30, 40)
    assert wd(real, sampled, 30, 40) == pytest.approx(expect, rel=1e-9)


def _naive_ks(x1, y1, x2, y2):
    """Loop port of ndtest.ks2d2s (analytic p-value), as used by RClicks."""

    def quadct(x, y, xx, yy):
        n = len(xx)
        ix1, ix2 = xx <= x, yy <= y
        a = np.sum(ix1 & ix2) / n
        b = np.sum(ix1 & ~ix2) / n
        c = np.sum(~ix1 & ix2) / n
        return a, b, c, 1 - a - b - c

    def maxdist(x1, y1, x2, y2):
        n1 = len(x1)
        d1 = np.empty((n1, 4))
        for i in range(n1):
            a1, b1, c1, e1 = quadct(x1[i], y1[i], x1, y1)
            a2, b2, c2, e2 = quadct(x1[i], y1[i], x2, y2)
            d1[i] = [a1 - a2, b1 - b2, c1 - c2, e1 - e2]
        d1[:, 0] -= 1 / n1
        return max(-d1.min(), d1.max() + 1 / n1)

    n1, n2 = len(x1), len(x2)
    D = (maxdist(x1, y1, x2, y2) + maxdist(x2, y2, x1, y1)) / 2
    sqen = np.sqrt(n1 * n2 / (n1 + n2))
    r1, r2 = pearsonr(x1, y1)[0], pearsonr(x2, y2)[0]
    r = np.sqrt(1 - 0.5 * (r1**2 + r2**2))
    return kstwobign.sf(D * sqen / (1 + r * (0.25 - 0.75 / sqen))), D


def test_ks_matches_naive_port():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(25, 2))
    draws = rng.normal(0.3, 1.2, size=(6, 30, 2))
    p, D = ks2d_pvalues(real, draws)
    for b in range(6):
        pn, dn = _naive_ks(real[:, 0], real[:, 1], draws[b, :, 0], draws[b, :, 1])
        assert D[b] == pytest.approx(dn) and p[b] == pytest.approx(pn)


def test_ks_identical_vs_disjoint():
    rng = np.random.default_rng(3)
    pts = rng.integers(0, 100, (30, 2)).astype(float)
    p_same, d_same = ks2d_pvalues(pts, pts)
    assert d_same[0] == pytest.approx(1 / 30)  # only the self-point correction remains
    assert p_same[0] > 0.99
    p_far, d_far = ks2d_pvalues(pts, pts + 1000)
    assert d_far[0] > 0.9 and p_far[0] < 1e-6
    assert ks_pass_rate(pts, np.stack([pts] * 4)) == 1.0
    assert ks_pass_rate(pts, np.stack([pts + 1000] * 4)) == 0.0


def test_ks_metric_on_maps_direction():
    rng = np.random.default_rng(4)
    real_x, real_y = rng.integers(10, 40, 30), rng.integers(10, 40, 30)
    same = np.zeros((100, 100))
    np.add.at(same, (real_y, real_x), 1.0)  # the empirical distribution of the real clicks
    far = np.zeros((100, 100))
    far[70:95, 60:95] = 1.0
    size = (40, 40)
    # resampling the real clicks themselves: the test (α = 0.05) rarely rejects
    assert clickmap_scores(same, real_x, real_y, size, np.random.default_rng(0))["ks"] >= 0.95
    assert clickmap_scores(far, real_x, real_y, size, np.random.default_rng(0))["ks"] == 0.0
    good = clickmap_scores(same, real_x, real_y, size, np.random.default_rng(0))
    bad = clickmap_scores(far, real_x, real_y, size, np.random.default_rng(0))
    assert good["pl1"] < bad["pl1"] and good["wd"] < bad["wd"] and good["nss"] > bad["nss"] and good["pde"] > bad["pde"]


def test_scores_are_seeded():
    m = np.random.default_rng(5).random((40, 50))
    xs, ys = [3, 10, 20, 33], [5, 6, 30, 12]
    a = clickmap_scores(m, xs, ys, (50, 40), np.random.default_rng(9))
    b = clickmap_scores(m, xs, ys, (50, 40), np.random.default_rng(9))
    assert a == b


def test_instance_size():
    m = np.zeros((20, 30), bool)
    m[3:8, 10:25] = True
    assert instance_size(m) == (15, 5)
    assert instance_size(np.zeros((4, 4), bool)) == (0, 0)
