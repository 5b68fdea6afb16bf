"""Backend shard throughput with 1 vs N local worker processes on the bundled data.

    python benchmarks/backend_throughput.py [--model random_walker] [--workers 1,2] [--limit 3] [--max-clicks 5]

Queues one builtin model in temporary stores and times ``Backend.run_once`` for the
shards grabcut × {baseline, gto99, random, fr_random}; prints wall time, shards/min and
clicks/s per worker count, and the machine's load average (other processes share it).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from rclicks_leaderboard.backend import Backend
from rclicks_leaderboard.envs import EvalConfig
from rclicks_leaderboard.requests import FINISHED, RequestsStore, queue_builtin
from rclicks_leaderboard.store import ResultsStore


def main() -> None:
    """Run the backend once per worker count and print throughput."""
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="random_walker")
    p.add_argument("--datasets", default="grabcut")
    p.add_argument("--protocols", default="baseline,gto99,random,fr_random")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--limit", type=int, default=3)
    p.add_argument("--max-clicks", type=int, default=5)
    args = p.parse_args()
    cfg = EvalConfig(datasets=args.datasets.split(","), protocols=args.protocols.split(","), max_clicks=args.max_clicks,
                     seed=0, limit=args.limit)
    print(f"model {args.model}; {len(cfg.datasets) * len(cfg.protocols)} shards of {args.limit} instances × "
          f"{args.max_clicks} clicks; cpus {os.cpu_count()}")
    for w in [int(x) for x in args.workers.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            requests, results = RequestsStore(f"{tmp}/req"), ResultsStore(f"{tmp}/res")
            queue_builtin(args.model, requests)
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            done = Backend(results, requests, cfg, workers=w, logs_dir=f"{tmp}/logs", log=lambda m: None).run_once()
            wall = time.perf_counter() - t0
            assert done[0].status == FINISHED, done[0].error
            rows = len(results.load()[0])
            shards = len(done[0].shards)
            print(f"workers={w}: {wall:.1f} s wall, {60 * shards / wall:.1f} shards/min, {rows / wall:.2f} clicks/s "
                  f"({rows} clicks); load average before {load0:.1f}, after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
