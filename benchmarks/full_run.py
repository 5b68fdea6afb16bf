"""The benchmark's own run (miniSAM, baseline + groups G1..G10, 20 clicks) against its floor, and the full-run projection.

    python benchmarks/full_run.py [--dataset davis] [--limit 4] [--workers 1,2] [--store assets/results]

The floor is what the run cannot avoid: one encoder call per image plus one bare
onnxruntime decoder call per click, replaying the run's own clicks (same prompts, same
count) through the same sessions with nothing else (no clicker, no metrics, no policy).
Measured in this process, interleaved (floor, run, floor) so load on shared cores hits
both alike; the ratio is run wall / mean floor. Also prints decoder calls per second for
``--workers`` 1 and 2 (the runner's process pool), whether the decoder graph accepts a
prompt batch and what an 11-prompt batch (the 11 group trajectories of one click) costs
against 11 single calls, and, with ``--store``, the full run's wall time recorded in the
shipped shards (sum of per-click model time vs the shards' recorded spans).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import numpy as np


def _floor(model, ds, df) -> tuple[float, int]:
    """Seconds of one encoder call per image plus one bare decoder call per row of ``df`` (its clicks replayed)."""
    from rclicks.models.minisam import prompt_arrays
    from rclicks.types import Click

    total, calls = 0.0, 0
    by_instance = {s.instance: s for s in ds}
    for instance, part in df.groupby("instance", sort=False):
        s = by_instance[instance]
        t = time.perf_counter()
        model.set_image(s.image)
        total += time.perf_counter() - t
        h, w = s.mask.shape
        for _, traj in part.groupby("clicker", sort=False):
            clicks = [Click(int(x), int(y), bool(p)) for x, y, p in traj[["x", "y", "positive"]].itertuples(index=False)]
            for k in range(1, len(clicks) + 1):
                coords, labels = prompt_arrays(clicks[:k], h, w)
                feeds = {"image_embeddings": model._embedding, "point_coords": coords, "point_labels": labels,
                         "mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32),
                         "orig_im_size": np.array([h, w], np.float32)}
                t = time.perf_counter()
                model.sessions["decoder"].run(None, feeds)
                total += time.perf_counter() - t
                calls += 1
    return total, calls


def _batch_check(model, sample) -> str:
    """Whether the decoder takes a batch of prompts, and the time of an 11-prompt batch vs 11 single calls.

    The 11 group trajectories of one click each feed back their own previous low-res mask; the SAM
    decoder graph takes one ``mask_input`` for the whole batch, so only mask-free prompts (a first
    click, a heatmap grid) can share a call. This measures that case.
    """
    from rclicks.types import Click

    model.set_image(sample.image)
    ys, xs = np.nonzero(sample.mask)
    prompts = [[Click(int(xs[i]), int(ys[i]), True)] for i in np.linspace(0, len(xs) - 1, 11).astype(int)]
    emb, shape = model.embed(sample.image), sample.mask.shape
    try:
        model.decode_batch(emb, prompts, shape)
    except Exception as exc:  # a graph fixed to batch 1
        return f"decoder refuses a prompt batch ({type(exc).__name__}); one call per click"
    one, many = [], []
    for _ in range(5):  # interleaved
        t = time.perf_counter()
        for p in prompts:
            model.decode_batch(emb, [p], shape)
        one.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.decode_batch(emb, prompts, shape)
        many.append(time.perf_counter() - t)
    a, b = statistics.median(one), statistics.median(many)
    return (f"decoder accepts a batch of mask-free prompts (one mask_input per call, so the groups' fed-back masks cannot "
            f"share a call): 11 prompts in one call {b * 1000:.0f} ms vs 11 calls {a * 1000:.0f} ms ({a / b:.2f}×)")


def _store_figures(store: str) -> list[str]:
    """Per shipped (model, dataset, protocol): instances, rows, summed model time per click, and the shard files' span."""
    import pyarrow.parquet as pq

    from rclicks_leaderboard.scan import listing

    out: dict[tuple, dict] = {}
    for f in listing(store)[1]:
        pf = pq.ParquetFile(f.path)
        meta = json.loads((pf.schema_arrow.metadata or {}).get(b"rclicks", b"{}"))
        tb = pf.read(columns=["instance", "time_s"])
        key = (meta.get("model"), meta.get("dataset"), meta.get("protocol"), meta.get("policy"), meta.get("max_clicks"))
        agg = out.setdefault(key, {"instances": set(), "rows": 0, "model_s": 0.0, "shards": 0})
        agg["instances"] |= set(tb.column("instance").to_pylist())
        agg["rows"] += tb.num_rows
        agg["model_s"] += float(np.nansum(tb.column("time_s").to_numpy(zero_copy_only=False)))
        agg["shards"] += 1
    lines = []
    for (model, dataset, protocol, policy, mc), a in sorted(out.items(), key=lambda kv: [str(k) for k in kv[0]]):
        lines.append(f"  {model}/{dataset}/{protocol} ({policy}, {mc} clicks): {len(a['instances'])} instances, {a['rows']} rows "
                     f"in {a['shards']} shard(s), model time {a['model_s'] / 60:.1f} min ({a['rows'] / max(a['model_s'], 1e-9):.1f} clicks/s)")
    return lines


def main() -> None:
    """Measure and print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="davis")
    ap.add_argument("--limit", type=int, default=4)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--store", default=None, help="also summarise the run recorded in this results store")
    args = ap.parse_args()

    from rclicks.data import load_dataset
    from rclicks.models.minisam import MiniSAM
    from rclicks.runner import evaluate

    ds = load_dataset(args.dataset)
    samples = [ds[i] for i in range(min(args.limit, len(ds)))]
    model = MiniSAM(threads=1)
    print(f"miniSAM, {args.dataset} first {len(samples)} instances, baseline + G1..G10, 20 clicks; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    t = time.perf_counter()
    df = evaluate(model, samples, "groups", max_clicks=20, progress=False)
    run1 = time.perf_counter() - t
    f1, calls = _floor(model, samples, df)
    t = time.perf_counter()
    evaluate(model, samples, "groups", max_clicks=20, progress=False)
    run2 = time.perf_counter() - t
    f2, _ = _floor(model, samples, df)
    run, floor = (run1 + run2) / 2, (f1 + f2) / 2
    print(f"run: {run:.1f} s for {calls} decoder calls ({calls / run:.1f} calls/s); floor (1 encoder call per image + "
          f"1 bare decoder call per click): {floor:.1f} s ({calls / floor:.1f} calls/s) -> run / floor = {run / floor:.2f}×")
    per_instance = run / len(samples)
    print(f"projection, 1 worker: {per_instance:.1f} s per instance -> GrabCut 50: {50 * per_instance / 60:.0f} min, "
          f"DAVIS 345: {345 * per_instance / 60:.0f} min")
    for w in [int(x) for x in args.workers.split(",") if x]:
        wall = run  # one worker: the run measured above
        if w > 1:
            t = time.perf_counter()
            evaluate("minisam", samples, "groups", max_clicks=20, workers=w, progress=False)
            wall = time.perf_counter() - t
        print(f"workers={w}: {wall:.1f} s wall, {calls / wall:.1f} decoder calls/s")
    print(_batch_check(model, samples[0]))
    if args.store:
        print(f"recorded in {args.store}:")
        for line in _store_figures(args.store):
            print(line)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
