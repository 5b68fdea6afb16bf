"""`rclicks heatmap`: IoU of one positive click at every stride-s grid position inside the object (TETRIS Fig. 2)."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rclicks.commands._args import key_values


def add_parser(sub) -> None:
    """Register `rclicks heatmap`."""
    p = sub.add_parser("heatmap", help="single-click IoU at every grid position (PNG + .npy + summary JSON)",
                       description="Click once at every grid position inside the object and record the IoU. "
                                   "Give --image and --mask, or --dataset and --index.")
    p.add_argument("--model", default="minisam", help="registry name, e.g. minisam, grabcut")
    p.add_argument("--image", default=None, help="image file")
    p.add_argument("--mask", default=None, help="mask file (object = values above --threshold)")
    p.add_argument("--threshold", type=int, default=None, help="object = mask > threshold (default 0 for 0/1 masks, else 127)")
    p.add_argument("--ignore-value", type=int, default=None, help="mask value marking ignored pixels (GrabCut: 128)")
    p.add_argument("--dataset", default=None, help="take the sample from a dataset instead (grabcut, davis, a folder)")
    p.add_argument("--index", type=int, default=0, help="sample index in --dataset")
    p.add_argument("--stride", type=int, default=16, help="grid step in pixels")
    p.add_argument("--first-click", default=None, help="x,y of a fixed first positive click (heatmap of the second click)")
    p.add_argument("--batch", type=int, default=16, help="prompts per decoder call for models with a batched decoder")
    p.add_argument("--model-arg", type=key_values, default={}, help="extra model options key=value,…")
    p.add_argument("--out", default=None, help="output prefix (default heatmap_<name>_s<stride>): writes .npy, .png, .json")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def _load_sample(args: argparse.Namespace):
    from rclicks.errors import RClicksError
    from rclicks.types import Sample

    if args.dataset is not None:
        from rclicks.data import load_dataset

        ds = load_dataset(args.dataset)
        if not 0 <= args.index < len(ds):
            raise RClicksError(f"--index {args.index} is outside dataset {args.dataset!r} (0..{len(ds) - 1})")
        return ds[args.index]
    if not args.image or not args.mask:
        raise RClicksError("give --image and --mask (or --dataset and --index)")
    from rclicks.data.io import check_pair, read_image, read_mask_raw

    image, raw = read_image(args.image), read_mask_raw(args.mask)
    check_pair(image, raw, Path(args.image), Path(args.mask))
    from rclicks.data.io import object_mask

    mask, ignore = object_mask(raw, args.threshold, args.ignore_value, what=str(args.mask))
    if not mask.any():
        raise RClicksError(f"{args.mask}: no object pixel (threshold {args.threshold if args.threshold is not None else 'auto'}); "
                           "check --threshold")
    return Sample(image=image, mask=mask, name=Path(args.image).stem, dataset="files",
                  ignore=ignore if ignore is not None and ignore.any() else None)


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def run(args: argparse.Namespace) -> int:
    """Compute the heatmap and write ``<out>.npy`` (H×W float32, NaN outside), ``<out>.png`` and ``<out>.json``."""
    import time

    import cv2
    import numpy as np

    from rclicks.attacks.heatmap import click_heatmap, heatmap_png
    from rclicks.errors import RClicksError
    from rclicks.registry import build_model
    from rclicks.types import Click

    sample = _load_sample(args)
    first = None
    if args.first_click:
        try:
            x, y = (int(v) for v in args.first_click.split(","))
        except ValueError as exc:
            raise RClicksError(f"--first-click must be x,y integers, got {args.first_click!r}") from exc
        first = Click(x, y, True)
    model = build_model(args.model, **dict(args.model_arg))
    t0 = time.perf_counter()
    from tqdm.auto import tqdm

    with tqdm(total=100, desc=f"heatmap {sample.name} stride {args.stride}", unit="%", disable=args.no_progress,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}") as bar:
        def tick(fraction: float) -> None:
            bar.update(max(0.0, round(100 * fraction, 1) - bar.n))

        res = click_heatmap(model, sample, stride=args.stride, first_click=first, batch=args.batch, progress=tick)
    seconds = time.perf_counter() - t0
    prefix = Path(args.out or f"heatmap_{sample.name}_s{args.stride}")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    summary = {**res.summary, "model": args.model, "sample": sample.name, "dataset": sample.dataset,
               "instance": sample.instance, "seconds": round(seconds, 3),
               "points_per_s": round(res.values.size / seconds, 2) if seconds > 0 else None,
               "first_click": [first.x, first.y] if first else None}
    png = heatmap_png(sample, res)
    def save_npy(p: Path) -> None:
        with open(p, "wb") as fh:
            np.save(fh, res.dense)

    _atomic(prefix.with_suffix(".npy"), save_npy)
    _atomic(prefix.with_suffix(".png"), lambda p: cv2.imencode(".png", cv2.cvtColor(png, cv2.COLOR_RGB2BGR))[1].tofile(str(p)))
    _atomic(prefix.with_suffix(".json"), lambda p: Path(p).write_text(json.dumps(summary, indent=2)))
    print(json.dumps(summary, indent=2))
    print(f"wrote {prefix}.npy, {prefix}.png, {prefix}.json")
    return 0
