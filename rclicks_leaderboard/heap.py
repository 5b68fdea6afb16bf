"""Keep freed heap memory for reuse while a store is scanned, then hand it back (glibc only; elsewhere a no-op).

A scan allocates and frees the same few hundred MB batch after batch. glibc returns large
blocks to the kernel as soon as they are freed (``mmap`` above ``M_MMAP_THRESHOLD``, heap
trimming above ``M_TRIM_THRESHOLD``), so every batch page-faults its memory in again: on the
100-model benchmark store that was about a third of the scan's CPU, as kernel time, and the
faults of two threads serialise on the process's address-space lock. Inside
:func:`reuse_freed_memory` blocks below 32 MB come from the heap and up to 512 MB of freed
heap is kept; on exit both thresholds go back to glibc's defaults (fixed from then on: glibc
stops raising its mmap threshold dynamically once it is set) and the free memory is returned
(``malloc_trim``), so a long-running app does not keep the scan's peak.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_DEFAULT = 128 * 1024  # glibc's default M_TRIM_THRESHOLD and M_MMAP_THRESHOLD
_MMAP = 32 << 20  # glibc's own ceiling for its dynamic mmap threshold
_TRIM = 512 << 20

_LOCK = threading.Lock()
_ACTIVE = [0]
_LIBC: list = []


def _libc():
    """glibc's handle, or None (another C library, or no ``mallopt``)."""
    if not _LIBC:
        import ctypes
        import platform

        lib = None
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            try:
                lib = ctypes.CDLL("libc.so.6")
                lib.mallopt, lib.malloc_trim  # noqa: B018  (both must exist)
            except (OSError, AttributeError):
                lib = None
        _LIBC.append(lib)
    return _LIBC[0]


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[None]:
    """Within the block, freed memory stays mapped for the next allocation; nested and concurrent uses share it."""
    lib = _libc()
    if lib is None:
        yield
        return
    with _LOCK:
        if _ACTIVE[0] == 0:
            lib.mallopt(_M_MMAP_THRESHOLD, _MMAP)
            lib.mallopt(_M_TRIM_THRESHOLD, _TRIM)
        _ACTIVE[0] += 1
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE[0] -= 1
            if _ACTIVE[0] == 0:
                lib.mallopt(_M_MMAP_THRESHOLD, _DEFAULT)
                lib.mallopt(_M_TRIM_THRESHOLD, _DEFAULT)
                lib.malloc_trim(0)
