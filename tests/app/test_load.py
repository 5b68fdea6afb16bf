"""Eight concurrent visitors (gradio_client) run comparisons against the real server without errors."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_eight_concurrent_visitors(app_url):
    from gradio_client import Client

    def visit(i: int) -> float:
        client = Client(app_url, verbose=False)
        t0 = time.perf_counter()
        rows = client.predict("grabcut", i % 4, "minisam", ["baseline"], 3, 0, api_name="/compare")
        assert rows and rows[0]["clicker"] == "baseline" and 0 <= rows[0]["IoU@1"] <= 1
        return time.perf_counter() - t0

    with ThreadPoolExecutor(8) as pool:
        latencies = list(pool.map(visit, range(8)))
    p50, p95 = np.percentile(latencies, [50, 95])
    print(f"\n8 concurrent visitors: p50 {p50:.2f} s, p95 {p95:.2f} s")
    assert len(latencies) == 8
