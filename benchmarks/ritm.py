"""RITM per-click time: the baseline robot on real GrabCut images, each ``ritm:`` variant, random weights.

    python benchmarks/ritm.py                              # all variants, NoBRS, Zoom-In on and off, CPU
    python benchmarks/ritm.py --variants hrnet18 --brs f-BRS-B
    python benchmarks/ritm.py --device cuda --clicks 20 --images 5

RITM encodes the image together with the click maps, so every click runs the whole
network (twice: RITM's flip averaging); random weights cost the same as trained ones.
The first click of a trajectory runs on the full image; with Zoom-In the later clicks
run on a crop resized to 400 px on its long side. Reported: the median and mean seconds
per click over every click of every trajectory, and the first click's median.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings

import numpy as np


def run(variant: str, brs: str, zoom: bool, device: str, clicks: int, images: int, threads: int) -> dict:
    import torch

    from rclicks.clickers.baseline import BaselineClicker
    from rclicks.data import load_dataset
    from rclicks.registry import build_model
    from rclicks.runner import run_trajectory

    torch.set_num_threads(threads)
    ds = load_dataset("grabcut")
    model = build_model(f"ritm:{variant}", checkpoint="random", device=device, brs=brs, zoom_in=zoom)
    times, first = [], []
    t0 = time.perf_counter()
    for i in range(images):
        traj = run_trajectory(model, ds[i], BaselineClicker(), max_clicks=clicks)
        times += traj.times
        first.append(traj.times[0])
    return {"model": f"ritm:{variant}", "brs": brs, "zoom_in": zoom, "device": device, "threads": threads,
            "clicks": len(times), "median_s_per_click": float(np.median(times)), "mean_s_per_click": float(np.mean(times)),
            "first_click_median_s": float(np.median(first)), "image_size": list(ds[0].image.shape[:2]),
            "wall_s": time.perf_counter() - t0}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variants", default="hrnet18,hrnet18s,hrnet32,deeplab")
    p.add_argument("--brs", default="NoBRS", help="NoBRS or f-BRS-B")
    p.add_argument("--zoom", default="on,off", help="on, off or on,off")
    p.add_argument("--device", default="cpu")
    p.add_argument("--clicks", type=int, default=5)
    p.add_argument("--images", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    warnings.filterwarnings("ignore")
    rows = [run(v, args.brs, z == "on", args.device, args.clicks, args.images, args.threads)
            for v in args.variants.split(",") for z in args.zoom.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"# {platform.processor() or platform.machine()}, {args.threads} threads, device {args.device}, "
          f"GrabCut {rows[0]['image_size'][0]}x{rows[0]['image_size'][1]}-ish, {args.images} images x {args.clicks} clicks")
    print(f"{'model':14s} {'brs':8s} {'zoom':5s} {'median s/click':>14s} {'mean':>7s} {'1st click':>9s}")
    for r in rows:
        print(f"{r['model']:14s} {r['brs']:8s} {'on' if r['zoom_in'] else 'off':5s} {r['median_s_per_click']:14.3f} "
              f"{r['mean_s_per_click']:7.3f} {r['first_click_median_s']:9.3f}")


if __name__ == "__main__":
    main()
