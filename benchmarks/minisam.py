"""miniSAM speed: encoder calls per 20-click trajectory (must be 1) and decoder ms per click.

    python benchmarks/minisam.py [--images 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from rclicks.clickers import build_clicker
from rclicks.data import load_dataset
from rclicks.runner import run_trajectory
from rclicks.models.minisam import MiniSAM


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5)
    args = ap.parse_args()
    ds = load_dataset("grabcut")
    model = MiniSAM()
    enc_times, dec_times = [], []
    for i in range(args.images):
        s = ds[i]
        before = model.encoder_calls
        t0 = time.perf_counter()
        model.set_image(s.image)
        enc_times.append(time.perf_counter() - t0)
        traj = run_trajectory(model, s, build_clicker("baseline"), max_clicks=20, rng=np.random.default_rng(0), set_image=False)
        dec_times += traj.times
        print(f"{s.instance:10s} {s.image.shape[1]}×{s.image.shape[0]}: encoder calls for 20 clicks = {model.encoder_calls - before}, "
              f"final IoU {traj.ious[-1]:.3f}")
    print(f"encoder: median {statistics.median(enc_times) * 1000:.0f} ms per image")
    print(f"decoder (predict incl. sigmoid): median {statistics.median(dec_times) * 1000:.1f} ms per click over {len(dec_times)} clicks")


if __name__ == "__main__":
    main()
