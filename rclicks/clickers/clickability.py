"""Clicking groups G1..G10 (RClicks, Antonov et al., NeurIPS 2024): sample clicks from mass slices of a click map.

For a click map restricted to the current error region and to not-yet-clicked pixels,
sort the values ascending and take the cumulative sum ``C``. With ``T = C[-1]``, the
slice ``[low, high]`` keeps the pixels whose value ``v`` satisfies ``v_low ≤ v ≤ v_high``:

* ``v_low``  = the value at the first sorted index with ``C ≥ low · T``  (``-inf`` when ``low = 0``),
* ``v_high`` = the value at the first sorted index with ``C > high · T`` (the maximum when there is none),

exactly the rule of RClicks' ``isegm/inference/clicker.py`` (``searchsorted`` left for the
low edge, right for the high edge), so ties at a threshold are all kept. One pixel is then
drawn with probability proportional to its value. Group ``Gi`` uses ``[(i-1)/10, i/10]``:
G1 = the least likely 10 % of the mass, G10 = the most likely.

The thresholds are found by value-histogram selection (O(n), no full sort); see
``mass_thresholds``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Sequence

import numpy as np

from rclicks.clickers.baseline import baseline_click
from rclicks.clickers.regions import error_regions, valid_or_none
from rclicks.errors import RClicksError
from rclicks.types import Click, Sample

#: Default click map of the groups: weight-free and deterministic (see docs/realistic-clicks.md).
DEFAULT_CLICKMAP = "distance"
GROUP_NAMES = tuple(f"g{i}" for i in range(1, 11))

_BINS = 1024
_SMALL = 4096


def _first_value_reaching(vals: np.ndarray, target: float, strict: bool, offset: float = 0.0) -> float | None:
    """Smallest ``v`` in ``vals`` with ``offset + M(≤v) ≥ target`` (``>`` if ``strict``); None if no value reaches.

    ``M(≤v)`` is the sum of the values ``≤ v``. ``vals``: 1-D, positive. Value-histogram
    selection: each round keeps only the bin that holds the answer, so the cost is O(n).
    """
    side = "right" if strict else "left"
    cur = vals
    while True:
        if cur.size == 0:
            return None
        if cur.size <= _SMALL:
            s = np.sort(cur).astype(np.float64)
            c = offset + np.cumsum(s)
            i = int(np.searchsorted(c, target, side=side))
            return float(s[i]) if i < s.size else None
        hist = _Histogram(cur)
        if hist.tied:  # all equal: the answer is that value iff the whole block reaches the target
            total = offset + hist.lo * cur.size
            return hist.lo if (total > target if strict else total >= target) else None
        cm = offset + hist.cum
        j = int(np.searchsorted(cm, target, side=side))
        if j >= _BINS:
            return None
        offset = float(cm[j - 1]) if j > 0 else offset
        cur = cur[hist.bins == j]


class _Histogram:
    """Value histogram of positive ``vals`` over ``_BINS`` equal-width bins: bin of each value, mass per bin."""

    def __init__(self, vals: np.ndarray):
        self.lo, self.hi = float(vals.min()), float(vals.max())
        self.tied = self.lo == self.hi
        self._members: dict[int, np.ndarray] = {}
        if self.tied:
            self.total = self.lo * vals.size
            return
        t = vals - vals.dtype.type(self.lo)
        t *= np.asarray(_BINS / (self.hi - self.lo), dtype=vals.dtype)
        b = t.astype(np.intp)
        np.minimum(b, _BINS - 1, out=b)
        self.bins = b
        self.mass = np.bincount(b, weights=vals, minlength=_BINS)
        self.cum = np.cumsum(self.mass)
        self.total = float(self.cum[-1])

    def members(self, j: int) -> np.ndarray:
        """Indices (into ``vals``) of the values in bin ``j`` (cached)."""
        m = self._members.get(j)
        if m is None:
            m = self._members[j] = np.flatnonzero(self.bins == j)
        return m

    def locate(self, vals: np.ndarray, target: float, strict: bool) -> tuple[float, int]:
        """``(v, j)``: the smallest value whose cumulative mass reaches ``target`` (``>`` if strict), and its bin."""
        j = min(int(np.searchsorted(self.cum, target, side="right" if strict else "left")), _BINS - 1)
        inside = vals[self.members(j)]
        offset = float(self.cum[j - 1]) if j > 0 else 0.0
        v = _first_value_reaching(inside, target, strict, offset)
        # float round-off between the bin sums and the in-bin cumsum: the bin's largest value
        return (float(inside.max()) if v is None else v), j


def _slice(vals: np.ndarray, low: float, high: float):
    """``(v_low, v_high, hist, jl, jh)`` for positive 1-D ``vals``; ``hist`` is None for small or tied inputs."""
    hist = _Histogram(vals) if vals.size > _SMALL else None
    if hist is not None and not hist.tied:
        v_low, jl = (-np.inf, 0) if low <= 0 else hist.locate(vals, low * hist.total, False)
        v_high, jh = (hist.hi, _BINS - 1) if high >= 1 else hist.locate(vals, high * hist.total, True)
        return v_low, v_high, hist, jl, jh
    total = float(vals.sum(dtype=np.float64))
    vmax = float(vals.max())
    v_low = -np.inf if low <= 0 else _first_value_reaching(vals, low * total, False)
    v_high = vmax if high >= 1 else _first_value_reaching(vals, high * total, True)
    return (vmax if v_low is None else v_low), (vmax if v_high is None else v_high), None, 0, 0


def mass_thresholds(vals: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """``(v_low, v_high)`` of the mass slice ``[low, high]`` of positive values ``vals`` (1-D), RClicks' rule.

    ``v_low = -inf`` when ``low ≤ 0``; ``v_high = max(vals)`` when ``high ≥ 1`` or no value
    exceeds ``high · T``. Zero-valued pixels carry no mass and never change the result.
    """
    vals = np.asarray(vals)
    if vals.dtype not in (np.float32, np.float64):
        vals = vals.astype(np.float64)
    if vals.size == 0:
        raise RClicksError("mass_thresholds: no positive values (empty click map)")
    v_low, v_high, *_ = _slice(vals, low, high)
    return float(v_low), float(v_high)


def group_mask(cmap: np.ndarray, low: float, high: float) -> np.ndarray:
    """``bool`` ``H×W``: pixels of the non-negative ``cmap`` kept by the mass slice ``[low, high]`` (value > 0)."""
    cmap = np.asarray(cmap)
    pos = cmap > 0
    if not pos.any():
        return pos
    v_low, v_high = mass_thresholds(cmap[pos], low, high)
    return pos & (cmap >= v_low) & (cmap <= v_high)


def _draw(w: np.ndarray, u: float) -> int:
    """Index ``k`` of the first cumulative weight exceeding ``u`` (clamped to a positive-weight index)."""
    cum = np.cumsum(w, dtype=np.float64)
    k = min(int(np.searchsorted(cum, u, side="right")), w.size - 1)
    while k > 0 and w[k] <= 0:  # a float boundary can land on a dropped pixel; step back to a kept one
        k -= 1
    return k


def group_click(cmap: np.ndarray, low: float, high: float, rng: np.random.Generator) -> tuple[int, int] | None:
    """Draw one ``(row, col)`` from the mass slice ``[low, high]`` of ``cmap`` ∝ its values; None if empty/NaN.

    ``cmap``: non-negative ``H×W`` float map; pixels ≤ 0 are never drawn. Exactly one
    ``rng.random()`` is consumed per draw. Large maps: the first-level value histogram
    that locates the thresholds also picks the bin of the click (by kept mass), so only
    that bin's pixels are scanned for the final draw.
    """
    if not (0.0 <= low <= high <= 1.0):
        raise RClicksError(f"clicking group bounds must satisfy 0 ≤ low ≤ high ≤ 1, got low={low}, high={high}")
    cmap = np.asarray(cmap)
    if cmap.ndim != 2:
        raise RClicksError(f"click map must be a 2-D H×W array, got shape {cmap.shape}")
    if cmap.dtype not in (np.float32, np.float64):
        cmap = cmap.astype(np.float64)
    flat = cmap.ravel()
    top = flat.max()  # NaN propagates through max
    if not np.isfinite(top) or top <= 0:
        return None
    idx = np.flatnonzero(flat > 0)
    vals = flat[idx]
    v_low, v_high, hist, jl, jh = _slice(vals, low, high)
    u = rng.random()
    if hist is None:
        w = np.where((vals >= v_low) & (vals <= v_high), vals, 0).astype(np.float64)
        k = _draw(w, u * float(w.sum()))
    elif hist.tied:
        k = min(int(u * vals.size), vals.size - 1)  # all values equal: every pixel kept
    else:
        kept = np.zeros(_BINS, dtype=np.float64)
        kept[jl : jh + 1] = hist.mass[jl : jh + 1]
        # edge bins may hold values outside [v_low, v_high]: their kept mass is summed exactly
        for j, partial in ((jl, v_low != -np.inf), (jh, v_high != hist.hi)):
            if partial or jl == jh:
                v = vals[hist.members(j)]
                kept[j] = float(v[(v >= v_low) & (v <= v_high)].sum(dtype=np.float64))
        ck = np.cumsum(kept)
        if not ck[-1] > 0:
            return None
        target = u * ck[-1]
        j = _draw(kept, target)
        m = hist.members(j)
        v = vals[m]
        w = np.where((v >= v_low) & (v <= v_high), v, 0).astype(np.float64)
        before = float(ck[j - 1]) if j > 0 else 0.0
        k = int(m[_draw(w, (target - before) / kept[j] * float(w.sum()))])
    return divmod(int(idx[k]), cmap.shape[1])


_SHARED: dict[tuple, object] = {}
_FIRST: OrderedDict[tuple, np.ndarray] = OrderedDict()
_FIRST_SIZE = 8
FIRST_MAP_STATS = {"hits": 0, "misses": 0}


#: Builds a click map by name: ``build_map(name, blur=..., cache_size=..., **kwargs)`` (the registry's ``build_clickmap``).
BuildMap = Callable[..., Any]


def shared_clickmap(name: str, blur: bool = False, *, build_map: BuildMap, **kwargs):
    """``(model, key)``: one click-map instance per configuration in this process, shared by all clickers.

    Sharing lets the ten groups of an instance reuse one first-click map (see
    ``ClickabilityClicker``) and one saliency network with its per-crop cache.
    ``build_map`` builds a missing one (``rclicks.registry.build_clickmap``).
    """
    key = (name, bool(blur), tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    if key not in _SHARED:
        _SHARED[key] = build_map(name, blur=blur, cache_size=0, **kwargs)
    return _SHARED[key], key


class ClickabilityClicker:
    """Samples each click from a mass slice ``[low, high]`` of a click map over the current error region.

    The side (positive click in the FN region, negative in the FP region) is the
    baseline's choice (``baseline_click``); the map is computed for that region, zeroed
    at earlier clicks, and a pixel drawn from the slice. Falls back to the baseline click
    when the region or the map is empty or NaN. ``build_map`` builds the click map named
    ``clickmap`` (``rclicks.registry.build_clickmap``; the registry passes it).
    """

    def __init__(
        self,
        clickmap: str = DEFAULT_CLICKMAP,
        low: float = 0.0,
        high: float = 1.0,
        *,
        blur: bool = False,
        name: str | None = None,
        group: int = 0,
        build_map: BuildMap,
        **clickmap_kwargs,
    ):
        if not (0.0 <= low <= high <= 1.0):
            raise RClicksError(f"clicking group bounds must satisfy 0 ≤ low ≤ high ≤ 1, got low={low}, high={high}")
        self.low, self.high = float(low), float(high)
        self.clickmap_name = clickmap + ("+blur" if blur else "")
        #: the click map with its parameters, as recorded in the results' ``clickmap`` column
        self.clickmap_label = self.clickmap_name + (
            "(" + ",".join(f"{k}={v!r}" for k, v in sorted(clickmap_kwargs.items())) + ")" if clickmap_kwargs else ""
        )
        #: clicking group 1..10 (0 when the clicker is not one of the RClicks groups)
        self.group = int(group)
        self.clickmap, self._key = shared_clickmap(clickmap, blur, build_map=build_map, **clickmap_kwargs)
        base = name or f"slice[{low:g},{high:g}]"
        self.name = base if self.clickmap_name == DEFAULT_CLICKMAP else f"{base}@{self.clickmap_name}"
        self.fallbacks = 0

    def next_click(
        self, sample: Sample, pred_mask: np.ndarray, history: Sequence[Click], rng: np.random.Generator
    ) -> Click:
        """Next click in (x = column, y = row); random draws come from ``rng`` only."""
        valid = valid_or_none(sample)
        base = baseline_click(sample.mask, pred_mask, valid, history)
        fn, fp = error_regions(sample.mask, pred_mask, valid)
        region = fn if base.positive else fp
        if not region.any():
            self.fallbacks += 1
            return base
        cmap = np.array(self._map(sample, region, first=not history), dtype=np.float32)
        cmap[~region] = 0.0
        h, w = cmap.shape
        for c in history:
            if 0 <= c.y < h and 0 <= c.x < w:
                cmap[c.y, c.x] = 0.0
        rc = group_click(cmap, self.low, self.high, rng)
        if rc is None:
            self.fallbacks += 1
            return base
        return Click(x=rc[1], y=rc[0], positive=base.positive)

    def _map(self, sample: Sample, region: np.ndarray, first: bool) -> np.ndarray:
        """The click map of ``region``; first-click maps are memoised per (map config, inputs) across clickers.

        Only the first click's map repeats (every group starts from the same empty
        prediction), so later clicks are computed directly instead of filling a cache.
        """
        if not first:
            return self.clickmap.click_map(sample.image, sample.mask, region)
        from rclicks.clickmaps.base import content_key

        key = (self._key, content_key(sample.image, sample.mask, region))
        out = _FIRST.get(key)
        if out is not None:
            _FIRST.move_to_end(key)
            FIRST_MAP_STATS["hits"] += 1
            return out
        FIRST_MAP_STATS["misses"] += 1
        out = self.clickmap.click_map(sample.image, sample.mask, region)
        out.setflags(write=False)
        _FIRST[key] = out
        while len(_FIRST) > _FIRST_SIZE:
            _FIRST.popitem(last=False)
        return out


def group_factory(i: int, build_map: BuildMap) -> Callable[..., ClickabilityClicker]:
    """The factory of clicking group ``g{i}``: mass slice ``[(i-1)/10, i/10]`` of the click map."""
    def factory(clickmap: str = DEFAULT_CLICKMAP, blur: bool = False, clickmap_kwargs: dict | None = None) -> ClickabilityClicker:
        return ClickabilityClicker(clickmap, (i - 1) / 10, i / 10, blur=blur, name=f"g{i}", group=i, build_map=build_map,
                                   **(clickmap_kwargs or {}))

    factory.__doc__ = f"Clicking group G{i}: mass slice [{(i - 1) / 10:.1f}, {i / 10:.1f}] of the click map."
    return factory


def whole_map_factory(build_map: BuildMap) -> Callable[..., ClickabilityClicker]:
    """The factory of ``clickability``: a click drawn from the whole click map of the error region."""
    def factory(clickmap: str = DEFAULT_CLICKMAP, blur: bool = False, clickmap_kwargs: dict | None = None) -> ClickabilityClicker:
        return ClickabilityClicker(clickmap, 0.0, 1.0, blur=blur, name="clickability", build_map=build_map,
                                   **(clickmap_kwargs or {}))

    return factory
