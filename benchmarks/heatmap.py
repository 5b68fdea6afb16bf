"""Single-click heatmap speed with miniSAM on a 1024×1024 image (target: stride 16 in ≤ 60 s on CPU).

Reports the whole heatmap time (embedding included), points/s for batch sizes, and the
ratio against one decoder call per point (measured on a subset and extrapolated).

    python benchmarks/heatmap.py [--stride 16] [--batches 1,16,64] [--single 64]
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stride", type=int, default=16)
    ap.add_argument("--batches", default="16,64")
    ap.add_argument("--single", type=int, default=64, help="points timed with one decoder call each")
    ap.add_argument("--index", type=int, default=0)
    args = ap.parse_args()
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
