"""``reuse_freed_memory``: glibc's thresholds are raised inside the block (nested and concurrent uses share one
setting) and put back, with the free memory returned, when the last use ends."""

from __future__ import annotations

import threading

import numpy as np

from rclicks_leaderboard import heap


def _rss_kb() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))


def test_nested_and_concurrent_uses_share_one_setting():
    seen = []

    def work():
        with heap.reuse_freed_memory():
            seen.append(heap._ACTIVE[0])
            with heap.reuse_freed_memory():
                seen.append(heap._ACTIVE[0])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert heap._ACTIVE[0] == 0
    assert min(seen) >= 1 and max(seen) >= 2


def test_freed_memory_is_kept_inside_and_returned_after():
    if heap._libc() is None:  # not glibc: a no-op by design
        with heap.reuse_freed_memory():
            pass
        return
    with heap.reuse_freed_memory():
        base = _rss_kb()
        a = np.ones(16 << 20, dtype=np.uint8)  # 16 MB: below the raised mmap threshold, so from the heap
        del a
        kept = _rss_kb() - base  # freed, but still mapped for the next allocation
    after = _rss_kb() - base
    assert kept > 12 * 1024, kept
    assert after < 4 * 1024, after  # malloc_trim handed it back
