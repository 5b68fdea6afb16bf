"""The app's Leaderboard tab on the shipped store: what its first render costs on the server, in a fresh process.

    python benchmarks/leaderboard_tab.py [--results assets/results] [--repeat 3]

Each run starts a new interpreter with an empty on-disk scan cache (the cold start of a Space)
and times what the tab does before its first paint: ``load_table`` (the store scan and the
table), ``intervals`` (the bootstrap intervals shown on hover) and ``table_html``; then the
same in a new process with the cache the first one left (an app restart). Target: < 3 s.
Prints the median of ``--repeat`` runs and the load average (other processes share the cores).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

PROBE = """
import json, time
t0 = time.perf_counter()
from rclicks_app.tabs.leaderboard_tab import filtered, intervals, load_table
from rclicks_app import lb_render
t1 = time.perf_counter()
table, _ = load_table()
t2 = time.perf_counter()
ci = intervals()
t3 = time.perf_counter()
html = lb_render.table_html(filtered(table, "", [], sorted({c.split(" ", 1)[0] for c in table.columns if c.endswith(" NoC@90")
                                                            and not c.startswith(("Avg", "Sample"))}), []), ci)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "table": t2 - t1, "intervals": t3 - t2, "html": t4 - t3, "total": t4 - t0,
                  "rows": len(table)}))
"""


def _run(results: str, cache: str) -> dict:
    env = dict(os.environ, RCLICKS_RESULTS_URL=results, RCLICKS_LB_SCAN_CACHE=cache)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Measure and print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", default="assets/results")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    cold, warm = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as cache:
            cold.append(_run(args.results, cache))
            warm.append(_run(args.results, cache))
    for name, runs in (("cold (empty scan cache)", cold), ("restart (scan cache kept)", warm)):
        med = {k: statistics.median(r[k] for r in runs) for k in ("import", "table", "intervals", "html", "total")}
        print(f"{name}: {med['total']:.2f} s to first paint (imports {med['import']:.2f}, table {med['table']:.2f}, "
              f"intervals {med['intervals']:.2f}, html {med['html']:.2f}); {runs[0]['rows']} rows")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
