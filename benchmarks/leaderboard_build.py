"""Leaderboard build time on a synthetic results set of realistic size (generated here, not stored in the repo).

    python benchmarks/leaderboard_build.py [--models 100 --datasets 6 --instances 50 --clicks 20] [--store [--store-dir D]] [--engines]

Default: 100 models × 6 datasets × 13 clickers (baseline, g1..g10, adv_min, adv_max: more
than the 12 protocols of the issue), 50 instances per dataset, 20 clicks → 7.8 M rows.
Reports the time of ``build_table`` on the in-memory table and, with ``--store``, writes
one shard per (model, dataset) to a local store and measures, each in a fresh process
(wall, CPU, peak RSS): ``floor`` (pyarrow reading the needed columns of every shard and
nothing else), ``before`` (``ResultsStore.load`` + ``build_table``, what the app did),
``after`` (``build_from_store`` with an empty on-disk scan cache: the columnar scan, then a
cached rebuild in the same process; the best of ``--repeat`` fresh processes, all printed, as this
shared machine's wall times vary by ±30 %) and ``restart`` (``build_from_store`` in a new process on
the unchanged store: the on-disk scan cache, what an app restart costs). Peak RSS is each
process's own high-water mark (``VmHWM``). The tables
must be identical (``assert_frame_equal(check_exact=True)``). ``--engines`` also times
DuckDB and polars reading the same columns, when installed.
"""

from __future__ import annotations

import argparse
import resource
import shutil
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
        # results contract v2: how each trajectory was produced, and confusion counts consistent with its IoU
        "max_clicks": np.full(n, clicks, dtype=np.int64), "target_iou": np.full(n, np.nan),
        "protocol": cat(np.where(c < 11, 0, 1), ["groups", "attack"]),
        "clickmap": cat(np.where((c >= 1) & (c <= 10), 0, 1), ["distance", ""]),
        "group": rep(np.where((c >= 1) & (c <= 10), c, 0)).astype(np.int64),
    })
    tp = np.round(1000 * df["iou"].to_numpy()).astype(np.int64)
    df["tp"], df["fp"], df["fn"], df["tn"] = tp, np.zeros(n, np.int64), 1000 - tp, np.full(n, 9000, np.int64)
    return df


def _phase(name: str, url: str, out: str) -> None:
    """One measurement in this (fresh) process; prints one JSON line, writes the table to ``out``."""
    import json

    import pyarrow.parquet as pq

    from rclicks_leaderboard.store import ResultsStore
    from rclicks_leaderboard.table import build_from_store, build_table

    res: dict = {}
    w0, c0 = time.perf_counter(), time.process_time()
    if name == "before":  # what build_from_store did: load every column of every row, then build
        store = ResultsStore(url)
        loaded, _ = store.load()
        res["load_s"] = time.perf_counter() - w0
        table = build_table(loaded, store.metadata_table())
    elif name in ("after", "restart"):
        table, _ = build_from_store(url)
        res["cpu_s"] = time.process_time() - c0
        w1 = time.perf_counter()
        build_from_store(url)  # the app's reload on an unchanged store
        res["cached_s"] = time.perf_counter() - w1
    elif name == "floor":  # the I/O floor: read the columns the table needs from every shard, nothing else
        from rclicks_leaderboard.scan import COLUMNS, listing

        for f in listing(url)[1]:
            pq.ParquetFile(f.path, read_dictionary=["model", "dataset", "clicker", "policy", "instance", "clickmap"]).read(
                columns=COLUMNS, use_threads=False)
        table = None
    elif name in ("duckdb", "polars"):  # other engines, reading the same columns into memory (when installed)
        from rclicks_leaderboard.scan import COLUMNS, listing

        files = [f.path for f in listing(url)[1]]
        try:
            if name == "duckdb":
                import duckdb

                cols = ", ".join(f'"{c}"' for c in COLUMNS)
                duckdb.sql(f"SELECT {cols} FROM read_parquet({files!r})").to_arrow_table()
            else:
                import polars as pl

                pl.scan_parquet(files).select(COLUMNS).collect()
        except ImportError:
            print(json.dumps({"phase": name, "skipped": f"{name} is not installed"}))
            return
        table = None
    res["total_s"] = time.perf_counter() - w0
    res.setdefault("cpu_s", time.process_time() - c0)
    if table is not None:
        table.to_pickle(out)
    print(json.dumps({"phase": name, "peak_gb": _peak_gb(), **res}))


def _peak_gb() -> float:
    """This process's peak RSS: ``VmHWM`` (``ru_maxrss`` keeps the parent's peak across fork + exec)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e9
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _run_phase(name: str, url: str, out: str, cache: str) -> dict:
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, RCLICKS_LB_SCAN_CACHE=cache)
    proc = subprocess.run([sys.executable, __file__, "--phase", name, "--store-dir", url, "--out", out],
                          capture_output=True, text=True, check=True, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    """Generate, time, print."""
    p = argparse.ArgumentParser()
    p.add_argument("--models", type=int, default=100)
    p.add_argument("--datasets", type=int, default=6)
    p.add_argument("--instances", type=int, default=50)
    p.add_argument("--clicks", type=int, default=20)
    p.add_argument("--store", action="store_true", help="also time the store path: before (load + build_table) and after (build_from_store)")
    p.add_argument("--store-dir", default=None, help="keep the generated store here (reused when it already has shards)")
    p.add_argument("--repeat", type=int, default=3, help="fresh processes for the 'after' phase; the best is reported (default 3)")
    p.add_argument("--engines", action="store_true", help="also time duckdb and polars reading the same columns (if installed)")
    p.add_argument("--phase", default=None, help=argparse.SUPPRESS)
    p.add_argument("--out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phase:
        return _phase(args.phase, args.store_dir, args.out)
    with tempfile.TemporaryDirectory() as tmp:
        _measure(args, args.store_dir or f"{tmp}/store", tmp)


def _measure(args: argparse.Namespace, url: str, tmp: str) -> None:
    import os

    import pandas as pd

    from rclicks_leaderboard.store import ResultsStore, ShardKey
    from rclicks_leaderboard.table import build_table

    store = ResultsStore(url)
    reuse = args.store and store.files()
    if not reuse:
        t0 = time.perf_counter()
        df = synthetic(args.models, args.datasets, args.instances, args.clicks)
        print(f"rows: {len(df):,} ({args.models} models × {args.datasets} datasets × {len(CLICKERS)} clickers × "
              f"{args.instances} instances × {args.clicks} clicks), generated in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        table = build_table(df)
        print(f"build_table (in memory): {time.perf_counter() - t0:.2f} s -> {table.shape[0]} rows × {table.shape[1]} columns")
        if args.store:
            t0 = time.perf_counter()
            for (m, d), part in df.groupby(["model", "dataset"], observed=True):
                store.write_shard(ShardKey(str(m), str(d), "all"), part.astype(SCHEMA))
            print(f"write {len(store.files())} shards: {time.perf_counter() - t0:.1f} s")
        del df
        print(f"peak RSS (generate + in-memory build): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6:.2f} GB")
    else:
        print(f"reusing the store at {url} ({len(store.files())} shards)")
    if not args.store:
        return
    print("each phase in a fresh process (its own peak RSS):")
    phases = ["floor", "before", "after", "restart"] + (["duckdb", "polars"] if args.engines else [])
    cache = tempfile.mkdtemp(dir=tmp, prefix="scan-cache-")  # empty: "after" fills it, "restart" reads it
    res = {}
    for name in phases:
        if name == "after":  # best of --repeat fresh processes, each with an empty scan cache (the last one's is kept)
            runs = []
            for _ in range(args.repeat):
                shutil.rmtree(cache, ignore_errors=True)
                os.makedirs(cache)
                runs.append(_run_phase(name, url, os.path.join(tmp, f"{name}.pkl"), cache))
            res[name] = min(runs, key=lambda r: r["total_s"])
            res[name]["runs"] = sorted(r["total_s"] for r in runs)
        else:
            res[name] = _run_phase(name, url, os.path.join(tmp, f"{name}.pkl"), cache)
    floor = res["floor"]["total_s"]
    for name, r in res.items():
        if "skipped" in r:
            print(f"  {name:6s}: skipped ({r['skipped']})")
            continue
        extra = f", load {r['load_s']:.1f} s" if "load_s" in r else ""
        extra += f", cached rebuild {r['cached_s'] * 1000:.0f} ms" if "cached_s" in r else ""
        if len(r.get("runs", ())) > 1:
            extra += f"; best of {len(r['runs'])} fresh processes (all: {', '.join(f'{t:.2f}' for t in r['runs'])} s)"
        print(f"  {name:6s}: {r['total_s']:.2f} s wall ({r['total_s'] / floor:.1f}× the read floor), {r['cpu_s']:.2f} s CPU, "
              f"peak RSS {r['peak_gb']:.2f} GB{extra}")
    before, after, restart = (pd.read_pickle(os.path.join(tmp, f"{n}.pkl")) for n in ("before", "after", "restart"))
    pd.testing.assert_frame_equal(after, before, check_exact=True)
    pd.testing.assert_frame_equal(restart, before, check_exact=True)
    print(f"restart (new process, unchanged store): {res['restart']['total_s']:.2f} s, "
          f"{res['before']['total_s'] / res['restart']['total_s']:.0f}× faster than before")
    print(f"speed-up {res['before']['total_s'] / res['after']['total_s']:.1f}×, RSS {res['before']['peak_gb'] / res['after']['peak_gb']:.1f}× "
          f"lower; tables identical (assert_frame_equal, check_exact): {after.shape[0]} rows × {after.shape[1]} columns")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
