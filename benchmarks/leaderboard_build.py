"""Leaderboard build time on a synthetic results set of realistic size (generated here, not stored in the repo).

    python benchmarks/leaderboard_build.py [--models 100 --datasets 6 --instances 50 --clicks 20] [--store]

Default: 100 models × 6 datasets × 13 clickers (baseline, g1..g10, adv_min, adv_max: more
than the 12 protocols of the issue), 50 instances per dataset, 20 clicks → 7.8 M rows.
Reports the time of ``build_table`` on the in-memory table and, with ``--store``, of
writing one shard per (model, dataset) to a temporary local store, loading it back
(``ResultsStore.load``) and building.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

import numpy as np
import pandas as pd

from rclicks.results import SCHEMA

CLICKERS = ["baseline"] + [f"g{i}" for i in range(1, 11)] + ["adv_min", "adv_max"]


def synthetic(models: int, datasets: int, instances: int, clicks: int, seed: int = 0) -> pd.DataFrame:
    """A long-form results table with non-decreasing random IoU curves (vectorised generation)."""
    rng = np.random.default_rng(seed)
    n_traj = models * datasets * len(CLICKERS) * instances
    ious = np.sort(rng.uniform(0.3, 1.0, (n_traj, clicks)), axis=1)
    m, d, c, i = np.meshgrid(np.arange(models), np.arange(datasets), np.arange(len(CLICKERS)), np.arange(instances), indexing="ij")
    rep = lambda a: np.repeat(a.ravel(), clicks)  # noqa: E731
    cat = lambda codes, names: pd.Categorical.from_codes(rep(codes), categories=names)  # noqa: E731
    n = n_traj * clicks
    df = pd.DataFrame({
        "dataset": cat(d, [f"ds{j}" for j in range(datasets)]),
        "instance": cat(i, [f"img{j:04d}" for j in range(instances)]),
        "model": cat(m, [f"model{j:03d}" for j in range(models)]),
        "clicker": cat(c, CLICKERS),
        "seed": np.zeros(n, dtype=np.int64),
        "click": np.tile(np.arange(1, clicks + 1), n_traj),
        "x": rng.integers(0, 500, n), "y": rng.integers(0, 500, n), "positive": rng.random(n) < 0.7,
        "iou": ious.ravel(), "biou": ious.ravel() * 0.8, "time_s": rng.uniform(0.001, 0.1, n),
        "policy": pd.Categorical(["score"] * n), "model_sha256": pd.Categorical(["0" * 64] * n),
        "dataset_fingerprint": pd.Categorical(["fp"] * n),
    })
    return df


def main() -> None:
    """Generate, time, print."""
    from leaderboard.table import build_table

    p = argparse.ArgumentParser()
    p.add_argument("--models", type=int, default=100)
    p.add_argument("--datasets", type=int, default=6)
    p.add_argument("--instances", type=int, default=50)
    p.add_argument("--clicks", type=int, default=20)
    p.add_argument("--store", action="store_true", help="also time write → load → build through a local store")
    args = p.parse_args()

    t0 = time.perf_counter()
    df = synthetic(args.models, args.datasets, args.instances, args.clicks)
    print(f"rows: {len(df):,} ({args.models} models × {args.datasets} datasets × {len(CLICKERS)} clickers × "
          f"{args.instances} instances × {args.clicks} clicks), generated in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    table = build_table(df)
    print(f"build_table (in memory): {time.perf_counter() - t0:.2f} s -> {table.shape[0]} rows × {table.shape[1]} columns")

    if args.store:
        from leaderboard.store import ResultsStore, ShardKey

        with tempfile.TemporaryDirectory() as tmp:
            store = ResultsStore(tmp)
            t0 = time.perf_counter()
            for (m, d), part in df.groupby(["model", "dataset"], observed=True):
                store.write_shard(ShardKey(str(m), str(d), "all"), part.astype(SCHEMA))
            print(f"write {len(store.files())} shards: {time.perf_counter() - t0:.1f} s")
            t0 = time.perf_counter()
            loaded, errors = store.load()
            t1 = time.perf_counter()
            table2 = build_table(loaded, store.metadata_table())
            t2 = time.perf_counter()
            print(f"load store: {t1 - t0:.1f} s; build_table on loaded: {t2 - t1:.1f} s; total {t2 - t0:.1f} s ({len(errors)} errors)")
            assert table2.shape == table.shape
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")


if __name__ == "__main__":
    main()
