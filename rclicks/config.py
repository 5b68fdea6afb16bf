"""Configuration read from the environment, with offline defaults (no work at import)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """Folder of the bundled datasets: ``$RCLICKS_DATA``, else ``../shared/data`` beside the repo."""
    env = os.environ.get("RCLICKS_DATA")
    return Path(env).expanduser() if env else REPO_ROOT.parent / "shared" / "data"


def cache_dir() -> Path:
    """Where fetched weights live: ``$RCLICKS_CACHE``, else ``$XDG_CACHE_HOME/rclicks`` (``~/.cache/rclicks``)."""
    env = os.environ.get("RCLICKS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "rclicks"
