"""App configuration, read from the environment when called (never at import)."""

from __future__ import annotations

import os
from pathlib import Path


def server_name() -> str:
    """Interface to bind (``GRADIO_SERVER_NAME``, default 127.0.0.1)."""
    return os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")


def server_port() -> int:
    """Port (``GRADIO_SERVER_PORT``, default 7860)."""
    return int(os.environ.get("GRADIO_SERVER_PORT", "7860"))


def max_side() -> int:
    """Uploaded images with a longer side are downscaled to this (``RCLICKS_APP_MAX_SIDE``, default 1024)."""
    return int(os.environ.get("RCLICKS_APP_MAX_SIDE", "1024"))


def clicks_store() -> Path:
    """Folder of consented visitor clicks, RClicks schema (``RCLICKS_CLICKS_STORE``, default ./hub/clicks)."""
    return Path(os.environ.get("RCLICKS_CLICKS_STORE", "hub/clicks"))


def gallery_size() -> int:
    """Bundled samples shown in the gallery (``RCLICKS_APP_SAMPLES``, default 12 GrabCut + 4 DAVIS)."""
    return int(os.environ.get("RCLICKS_APP_SAMPLES", "16"))


def concurrency() -> int:
    """Concurrent jobs per event (``RCLICKS_APP_CONCURRENCY``, default 2 — the machine's cores)."""
    return int(os.environ.get("RCLICKS_APP_CONCURRENCY", "2"))
