"""Adversarial-trajectory speed: seconds per click of the black-box attack (miniSAM, ONNX) and the
white-box attack (minisam-torch, and optionally SAM vit_b through the segment-anything adapter),
on bundled GrabCut images.

    python benchmarks/attack.py [--images 1] [--clicks 10] [--whitebox-clicks 3]
                                [--sam-clicks 3 [--sam-checkpoint PATH|random]]
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
    ap.add_argument("--sam-clicks", type=int, default=0, help="white-box clicks on sam:vit_b (0 skips it)")
    ap.add_argument("--sam-checkpoint", default="random", help="sam:vit_b weights (default: untrained, seeded)")
    args = ap.parse_args()
    ds = load_dataset("grabcut")
    models = [("blackbox", MiniSAM(), args.clicks)]
    if args.whitebox_clicks:
        from rclicks.models.minisam_torch import MiniSAMTorch

        models.append(("whitebox", MiniSAMTorch(), args.whitebox_clicks))
    if args.sam_clicks:
        from rclicks.registry import build_model

        models.append(("whitebox", build_model("sam:vit_b", checkpoint=args.sam_checkpoint, device="cpu"),
                       args.sam_clicks))
    for method, model, k in models:
        per_click = []
        for i in range(args.images):
            s = ds[i]
            model.set_image(s.image)
            for direction in ("min", "max"):
                before = getattr(model, "decoder_calls", 0)
                t0 = time.perf_counter()
                traj, used = attack_trajectory(model, s, direction, k, method=method, set_image=False)
                dt = time.perf_counter() - t0
                per_click += traj.times
                scored = (getattr(model, "decoder_calls", 0) - before) / k
                print(f"{model.name} {method} {direction} {s.instance} {s.image.shape[1]}×{s.image.shape[0]}: "
                      f"{k} clicks in {dt:.1f} s ({dt / k:.2f} s/click, {scored:.1f} scored predictions/click), "
                      f"IoU-AuC@{k} {iou_auc(traj.ious, k):.4f}")
        print(f"{model.name} {method}: median {statistics.median(per_click):.2f} s per click over {len(per_click)} clicks")


if __name__ == "__main__":
    main()
