"""Single-click heatmap speed with miniSAM on a 1024×1024 image (target: stride 16 in ≤ 60 s on CPU), and the adaptive
map against brute force.

Reports the whole heatmap time (embedding included), points/s for batch sizes, and the
ratio against one decoder call per point (measured on a subset and extrapolated).

    python benchmarks/heatmap.py [--stride 16] [--batches 1,16,64] [--single 64]
    python benchmarks/heatmap.py --adaptive [--images 10 --stride 2 --scale 0.25 --reuse --tol 0.02 --coarse 32 --edge 4
                                             --full 0,5 --full-stride 1 --finest F --check 200 --threads 1 --batch 1]

``--adaptive``: ``rclicks.attacks.adaptive`` against brute force (every lattice point) on
the first ``--images`` bundled GrabCut images resized by ``--scale``: calls, time, share of
points within 0.02 IoU, max error, calls saved, per image and pooled (a markdown table).
``--reuse``: brute force calls the model only where the adaptive map did not (the model
is deterministic, so those values are the brute-force ones) and its time is the per-call
time of those calls × all its calls — half the wall time for the same comparison. Then
full-resolution adaptive maps (stride ``--full-stride``) of GrabCut images upscaled to
1024 px on the long side (the bundle has no 1024-px image), timed with the embedding, and
checked against the model at ``--check`` random pixels (95 % Wilson interval). Call counts
do not depend on the machine's load; times do.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from rclicks.attacks.heatmap import click_heatmap
from rclicks.data import load_dataset
from rclicks.models.minisam import MiniSAM
from rclicks.types import Sample


def sample_1024(index: int = 0) -> Sample:
    """A GrabCut sample resized to 1024×1024 (image bilinear, mask nearest)."""
    s = load_dataset("grabcut")[index]
    image = cv2.resize(s.image, (1024, 1024), interpolation=cv2.INTER_LINEAR)
    mask = cv2.resize(s.mask.astype(np.uint8), (1024, 1024), interpolation=cv2.INTER_NEAREST).astype(bool)
    return Sample(image=image, mask=mask, name=f"{s.name}@1024", dataset="grabcut")


def scaled(index: int, scale: float) -> Sample:
    """A bundled GrabCut sample resized by ``scale`` (image bilinear, mask and ignore band nearest)."""
    s = load_dataset("grabcut")[index]
    if scale == 1:
        return s
    h, w = s.mask.shape
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    near = lambda m: cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)  # noqa: E731
    return Sample(image=cv2.resize(s.image, size, interpolation=cv2.INTER_AREA), mask=near(s.mask), name=f"{s.name}@{scale:g}",
                  dataset="grabcut", ignore=near(s.ignore) if s.ignore is not None else None)


def upscaled(index: int, long: int = 1024) -> Sample:
    """A bundled GrabCut sample resized to ``long`` pixels on its long side, aspect kept (image bilinear, mask and
    ignore band nearest): the bundle's GrabCut images are at most 640 px, none is 1024 px."""
    s = load_dataset("grabcut")[index]
    h, w = s.mask.shape
    size = (round(w * long / max(h, w)), round(h * long / max(h, w)))
    near = lambda m: cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST).astype(bool)  # noqa: E731
    return Sample(image=cv2.resize(s.image, size, interpolation=cv2.INTER_LINEAR), mask=near(s.mask), name=f"{s.name}@{long}",
                  dataset="grabcut", ignore=near(s.ignore) if s.ignore is not None else None)


def _row(r: dict) -> str:
    return (f"| {r['image']} | {r['shape'][1]}×{r['shape'][0]} | {100 * r['object']:.1f} % | {r['calls']} / {r['brute_force_calls']} | "
            f"{100 * r['calls_saved']:.0f} % | {100 * r['share_within_0.02']:.2f} % of {r['points']} | {r['max_error']:.3f} | "
            f"{r['adaptive_s']:.1f} s / {r['brute_s']:.1f} s |")


def adaptive_main(args: argparse.Namespace) -> None:
    """Adaptive vs brute force on ``--images`` bundled images at ``--stride``, then full-resolution 1024-px timings
    with a sampled check against the model."""
    import os

    from rclicks.attacks.adaptive import adaptive_heatmap, agreement, brute_force
    from rclicks.attacks.heatmap import point_ious
    from rclicks.clickers.regions import valid_or_none

    started = time.perf_counter()
    model = MiniSAM(threads=args.threads)
    kw = {"tol": args.tol, "coarse": args.coarse, "edge": args.edge, "probe": not args.no_probe, "batch": args.batch}
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; miniSAM threads {args.threads or 'default'}, "
          f"batch {args.batch}")
    if args.images:
        print(f"adaptive (tol {args.tol}, coarse {args.coarse}, edge {args.edge}, probe {not args.no_probe}) vs brute force, "
              f"stride {args.stride}, images scaled by {args.scale}{', brute force reusing the adaptive calls' if args.reuse else ''}:",
              flush=True)
    rows = []
    for index in range(args.images):
        s = scaled(index, args.scale)
        model.set_image(s.image)  # embedding outside both timings: both pay it once
        t0 = time.perf_counter()
        a = adaptive_heatmap(model, s, stride=args.stride, **kw)
        ta = time.perf_counter() - t0
        t0 = time.perf_counter()
        if args.reuse:
            b, made = _brute_reusing(model, s, a, args.batch)
            tb = (time.perf_counter() - t0) * b.calls / max(made, 1)  # the per-call time of the calls made, times all of them
        else:
            b = brute_force(model, s, stride=args.stride, batch=args.batch)
            tb = time.perf_counter() - t0
        r = {**agreement(a, b), "adaptive_s": ta, "brute_s": tb, "image": s.name, "shape": s.mask.shape, "object": float(s.mask.mean())}
        rows.append(r)
        print(f"  {s.name:14s} {s.mask.shape[1]}×{s.mask.shape[0]} object {100 * r['object']:4.1f}%: calls {r['calls']:5d} vs "
              f"{r['brute_force_calls']:5d} ({100 * r['calls_saved']:.0f}% saved), {ta:6.1f} s vs {tb:6.1f} s; within 0.02: "
              f"{100 * r['share_within_0.02']:.2f}% of {r['points']} points, max error {r['max_error']:.3f}, mean {r['mean_error']:.4f}",
              flush=True)
    if rows:
        pts = sum(r["points"] for r in rows)
        within = sum(r["share_within_0.02"] * r["points"] for r in rows) / pts
        calls, brute = sum(r["calls"] for r in rows), sum(r["brute_force_calls"] for r in rows)
        print("\n| image | size | object | calls adaptive / brute force | saved | within 0.02 IoU | max error | time adaptive / brute |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(_row(r))
        print(f"| all {len(rows)} | | | {calls} / {brute} | {100 * (1 - calls / brute):.0f} % | {100 * within:.2f} % of {pts} | "
              f"{max(r['max_error'] for r in rows):.3f} | {sum(r['adaptive_s'] for r in rows):.0f} s / {sum(r['brute_s'] for r in rows):.0f} s |")
        print(f"worst image: {100 * min(r['share_within_0.02'] for r in rows):.2f}% within 0.02", flush=True)
    for index in args.full:
        s = upscaled(index, 1024)
        model._cache.clear()  # count the embedding in the full-resolution time
        t0 = time.perf_counter()
        a = adaptive_heatmap(model, s, stride=args.full_stride, finest=args.finest, **kw)
        dt = time.perf_counter() - t0
        inside = int(np.isfinite(a.lattice).sum())
        print(f"full resolution {s.mask.shape[1]}×{s.mask.shape[0]} (GrabCut {s.name} upscaled, stride {args.full_stride}, "
              f"finest cell {args.finest or args.full_stride} px), object "
              f"{100 * s.mask.mean():.1f}%: {a.calls} model calls for {inside} lattice points ({100 * a.calls / inside:.2f}%), {dt:.1f} s "
              f"(embedding included) → {a.calls / dt:.1f} calls/s; spread {a.summary['spread']:.3f}", flush=True)
        if args.check:
            # brute force on a uniform random sample of the map's pixels (evaluated pixels are exact: error 0, no call)
            rng = np.random.default_rng(index)
            ys, xs = np.nonzero(np.isfinite(a.lattice))
            pick = rng.choice(xs.size, size=min(args.check, xs.size), replace=False)
            px, py = xs[pick] * a.stride, ys[pick] * a.stride  # lattice → pixel
            exact = np.zeros(pick.size, bool)
            exact[np.isin(py * s.mask.shape[1] + px, a.ys * s.mask.shape[1] + a.xs)] = True
            mapped = a.lattice[ys[pick], xs[pick]]
            truth = mapped.copy()
            t0 = time.perf_counter()
            truth[~exact] = point_ious(model, s, px[~exact], py[~exact], (), args.batch, valid_or_none(s))
            err = np.abs(mapped - truth)
            k, n = int((err <= 0.02).sum()), err.size
            lo, hi = _wilson(k, n)
            print(f"  sampled check: {k}/{n} random pixels within 0.02 IoU ({100 * k / n:.1f}%, 95% CI {100 * lo:.1f}–{100 * hi:.1f}%), "
                  f"max error {err.max():.3f} ({(~exact).sum()} model calls, {time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}; wall time {time.perf_counter() - started:.0f} s")


def _brute_reusing(model, s: Sample, adaptive, batch: int):
    """Brute force on the adaptive map's lattice, calling the model only at the points the adaptive map did not evaluate
    (the model is deterministic: an evaluated point's value is the brute-force value). Returns (map, calls made)."""
    from rclicks.attacks.heatmap import HeatmapResult, point_ious
    from rclicks.clickers.regions import valid_or_none

    lat = adaptive.lattice
    st = adaptive.stride
    ys, xs = np.nonzero(np.isfinite(lat))
    known = np.full(lat.shape, np.nan)
    known[adaptive.ys // st, adaptive.xs // st] = adaptive.values
    todo = np.isnan(known[ys, xs])
    known[ys[todo], xs[todo]] = point_ious(model, s, xs[todo] * st, ys[todo] * st, (), batch, valid_or_none(s))
    return HeatmapResult(xs=xs * st, ys=ys * st, values=known[ys, xs], dense=np.zeros(0), stride=st, calls=int(xs.size),
                         method="brute", lattice=known), int(todo.sum())


def _wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson interval of a proportion ``k / n``."""
    p = k / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--adaptive", action="store_true", help="adaptive refinement vs brute force (rclicks.attacks.adaptive)")
    ap.add_argument("--images", type=int, default=10, help="--adaptive: bundled GrabCut images compared with brute force")
    ap.add_argument("--scale", type=float, default=1.0, help="--adaptive: resize the compared images by this factor")
    ap.add_argument("--tol", type=float, default=0.02)
    ap.add_argument("--coarse", type=int, default=32)
    ap.add_argument("--edge", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--full", type=lambda v: [int(i) for i in v.split(",") if i], default=[0, 5],
                    help="--adaptive: GrabCut indices timed at full resolution, upscaled to 1024 px on the long side (5: the largest object)")
    ap.add_argument("--check", type=int, default=200, help="--adaptive: random pixels of each full-resolution map checked against the model")
    ap.add_argument("--reuse", action="store_true",
                    help="--adaptive: brute force calls the model only where the adaptive map did not (its time: per-call time × all calls)")
    ap.add_argument("--finest", type=int, default=None,
                    help="--adaptive: full-resolution maps stop splitting at cells of this many pixels (nearest corner below; "
                         "default: the stride, exact)")
    ap.add_argument("--full-stride", type=int, default=1, help="--adaptive: lattice stride of the full-resolution maps (1: every pixel)")
    ap.add_argument("--no-probe", action="store_true", help="--adaptive: no centre probe before a cell is declared uniform")
    ap.add_argument("--threads", type=int, default=None, help="ONNX Runtime threads (default: its own choice)")
    ap.add_argument("--stride", type=int, default=16)
    ap.add_argument("--batches", default="16,64")
    ap.add_argument("--single", type=int, default=64, help="points timed with one decoder call each")
    ap.add_argument("--index", type=int, default=0)
    args = ap.parse_args()
    if args.adaptive:
        return adaptive_main(args)
    s = sample_1024(args.index)
    model = MiniSAM()
    t0 = time.perf_counter()
    model.set_image(s.image)
    enc = time.perf_counter() - t0
    print(f"image 1024×1024, object {s.mask.mean() * 100:.1f}% of pixels, encoder {enc:.2f} s")
    rates = {}
    for b in (int(v) for v in args.batches.split(",")):
        model._cache.clear()  # count the embedding in the heatmap time
        t0 = time.perf_counter()
        res = click_heatmap(model, s, stride=args.stride, batch=b)
        dt = time.perf_counter() - t0
        rates[b] = res.values.size / dt
        print(f"batch {b:3d}: stride {args.stride}, {res.values.size} points in {dt:.1f} s (embedding included) "
              f"→ {rates[b]:.1f} points/s; spread {res.summary['spread']:.3f}")
    # one decoder call per point, on a subset of the same grid (embedding already cached)
    from rclicks.attacks.heatmap import grid_points
    from rclicks.types import Click

    xs, ys = grid_points(s.mask, None, args.stride)
    idx = np.linspace(0, xs.size - 1, min(args.single, xs.size)).astype(int)
    model.set_image(s.image)
    t0 = time.perf_counter()
    for i in idx:
        model.predict([Click(int(xs[i]), int(ys[i]), True)])
    single = len(idx) / (time.perf_counter() - t0)
    print(f"one call per point: {single:.1f} points/s (decoder only, {len(idx)} points) → full grid ≈ {xs.size / single:.1f} s")
    for b, r in rates.items():
        print(f"batched ({b}) vs one call per point: {r / single:.2f}× points/s")


if __name__ == "__main__":
    main()
