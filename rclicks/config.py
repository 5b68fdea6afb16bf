"""Configuration read from the environment, with offline defaults (no work at import)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


#: The Space's own samples (a few GrabCut and DAVIS instances, provenance in its README.md).
SAMPLES_ROOT = REPO_ROOT / "assets" / "samples"


def data_root() -> Path:
    """Folder of the bundled datasets: ``$RCLICKS_DATA``; else ``../shared/data`` beside the repo when present;
    else the repository's own samples (``assets/samples``), so a clean clone (a Space) serves every tab."""
    env = os.environ.get("RCLICKS_DATA")
    if env:
        return Path(env).expanduser()
    shared = REPO_ROOT.parent / "shared" / "data"
    return shared if shared.is_dir() or not SAMPLES_ROOT.is_dir() else SAMPLES_ROOT


def cache_dir() -> Path:
    """Where fetched weights live: ``$RCLICKS_CACHE``, else ``$XDG_CACHE_HOME/rclicks`` (``~/.cache/rclicks``)."""
    env = os.environ.get("RCLICKS_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "rclicks"
