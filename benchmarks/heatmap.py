"""Single-click heatmap speed with miniSAM on a 1024×1024 image (target: stride 16 in ≤ 60 s on CPU).

Reports the whole heatmap time (embedding included), points/s for batch sizes, and the
ratio against one decoder call per point (measured on a subset and extrapolated).

    python benchmarks/heatmap.py [--stride 16] [--batches 1,16,64] [--single 64]
    python benchmarks/heatmap.py --adaptive [--images 10 --stride 2 --scale 1 --tol 0.02 --coarse 32 --edge 4 --full 0,5]

``--adaptive``: ``rclicks.attacks.adaptive`` against brute force (every lattice point) on
bundled GrabCut images: calls, time, share of points within 0.02 IoU, max error; then
full-resolution (stride 1) adaptive maps of 1024² resizes, timed with the embedding.
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


def adaptive_main(args: argparse.Namespace) -> None:
    """Adaptive vs brute force on ``--images`` bundled images at ``--stride``, then full-resolution 1024² timings."""
    from rclicks.attacks.adaptive import adaptive_heatmap, agreement, brute_force

    model = MiniSAM()
    rows = []
    print(f"adaptive (tol {args.tol}, coarse {args.coarse}, edge {args.edge}) vs brute force, stride {args.stride}, "
          f"images scaled by {args.scale}:")
    for index in range(args.images):
        s = scaled(index, args.scale)
        model.set_image(s.image)  # embedding outside both timings: both pay it once
        t0 = time.perf_counter()
        a = adaptive_heatmap(model, s, stride=args.stride, tol=args.tol, coarse=args.coarse, edge=args.edge, batch=args.batch)
        ta = time.perf_counter() - t0
        t0 = time.perf_counter()
        b = brute_force(model, s, stride=args.stride, batch=args.batch)
        tb = time.perf_counter() - t0
        r = {**agreement(a, b), "adaptive_s": ta, "brute_s": tb, "image": s.name, "shape": s.mask.shape, "object": float(s.mask.mean())}
        rows.append(r)
        print(f"  {s.name:14s} {s.mask.shape[1]}×{s.mask.shape[0]} object {100 * r['object']:4.1f}%: calls {r['calls']:5d} vs "
              f"{r['brute_force_calls']:5d} ({100 * r['calls_saved']:.0f}% saved), {ta:6.1f} s vs {tb:6.1f} s; within 0.02: "
              f"{100 * r['share_within_0.02']:.2f}% of {r['points']} points, max error {r['max_error']:.3f}, mean {r['mean_error']:.4f}")
    pts = sum(r["points"] for r in rows)
    within = sum(r["share_within_0.02"] * r["points"] for r in rows) / pts
    print(f"  all {len(rows)} images: {100 * within:.2f}% of {pts} points within 0.02 IoU, max error {max(r['max_error'] for r in rows):.3f}, "
          f"calls {sum(r['calls'] for r in rows)} vs {sum(r['brute_force_calls'] for r in rows)} "
          f"({100 * (1 - sum(r['calls'] for r in rows) / sum(r['brute_force_calls'] for r in rows)):.0f}% saved), "
          f"time {sum(r['adaptive_s'] for r in rows):.0f} s vs {sum(r['brute_s'] for r in rows):.0f} s")
    for index in args.full:
        s = sample_1024(index)
        model._cache.clear()  # count the embedding in the full-resolution time
        t0 = time.perf_counter()
        a = adaptive_heatmap(model, s, stride=1, tol=args.tol, coarse=args.coarse, edge=args.edge, batch=args.batch)
        dt = time.perf_counter() - t0
        print(f"full resolution 1024×1024 (stride 1), {s.name}, object {100 * s.mask.mean():.1f}%: {a.calls} model calls for "
              f"{int(s.mask.sum())} pixels ({a.calls / s.mask.sum() * 100:.2f}%), {dt:.1f} s (embedding included) → "
              f"{a.calls / dt:.1f} calls/s; spread {a.summary['spread']:.3f}")
    import os

    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


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
                    help="--adaptive: GrabCut indices timed at full resolution on 1024² (5: the largest object)")
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
