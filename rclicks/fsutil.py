"""Durable local writes: ``fsync`` a file's bytes and its folder around ``os.replace``."""

from __future__ import annotations

import os


def fsync_path(path: str | os.PathLike) -> None:
    """``fsync`` a file already written (and closed) so its bytes are on disk before it is renamed."""
    fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | os.PathLike) -> None:
    """``fsync`` a folder so a rename inside it survives a power loss (no-op where folders cannot be opened)."""
    try:
        fd = os.open(os.fspath(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
