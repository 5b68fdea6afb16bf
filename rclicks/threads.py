"""Thread budgets for worker processes that share one machine (so they do not oversubscribe it)."""

from __future__ import annotations

import os
import sys


def limit_threads(n: int) -> None:
    """Cap OpenMP/BLAS, OpenCV and (if loaded) torch threads in this process to ``n``."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        import cv2

        cv2.setNumThreads(n)
    except ImportError:
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def per_worker_threads(workers: int) -> int:
    """CPU threads each of ``workers`` processes gets on this machine (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))
