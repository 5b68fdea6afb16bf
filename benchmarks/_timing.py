"""Timing helper shared by the benchmark scripts (run them as `python benchmarks/<name>.py`)."""

from __future__ import annotations

import time

import numpy as np


def median_ms(fn, repeat: int = 7) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs, in milliseconds."""
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1000 * float(np.median(ts))
