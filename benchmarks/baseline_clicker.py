"""Baseline (RITM) clicker speed: median ms per click vs image size, on a real DAVIS mask.

    python benchmarks/baseline_clicker.py

The gt is a real DAVIS object mask resized to each size; the prediction is the gt
shifted by 3 % of the width with a missed blob, so both FN and FP regions are large —
close to the worst case (error regions spanning the object) for the bounding-box crop.
Distances are exact integer squares: OpenCV's float32 transform only screens the
candidates for the maximum, whose distances are then computed exactly.
"""

from __future__ import annotations

import statistics
import time

import cv2
import numpy as np

from rclicks.clickers.baseline import baseline_click
from rclicks.data import load_dataset


def main() -> None:
    sample = load_dataset("davis")[40]
    print(f"mask: {sample.dataset}/{sample.instance}, object {sample.mask.mean():.1%} of the image")
    print(f"{'size':>11} {'pixels':>9} {'median ms':>10} {'p90 ms':>8}")
    for w, h in ((480, 270), (960, 540), (1920, 1080), (3840, 2160)):
        gt = cv2.resize(sample.mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        shift = int(0.03 * w)
        pred = np.zeros_like(gt)
        pred[:, shift:] = gt[:, :-shift]
        ys, xs = np.nonzero(gt)
        cy, cx = int(ys.mean()), int(xs.mean())
        cv2.circle(pred.view(np.uint8), (cx, cy), h // 12, 0, -1)
        valid = np.ones_like(gt)
        history = []
        times = []
        for _ in range(20):
            t0 = time.perf_counter()
            click = baseline_click(gt, pred, valid, history)
            times.append((time.perf_counter() - t0) * 1000)
            history.append(click)
        times.sort()
        print(f"{w:>5}×{h:<5} {w * h:>9} {statistics.median(times):>10.2f} {times[int(0.9 * len(times))]:>8.2f}")


if __name__ == "__main__":
    main()
