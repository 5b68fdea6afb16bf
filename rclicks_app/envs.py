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


def real_clicks_sources() -> list[Path]:
    """Real-click tables shown on the Compare tab: ``RCLICKS_REAL_CLICKS`` (RClicks clicks.csv, ``:``-separated) and the app's own store."""
    paths = [Path(p) for p in os.environ.get("RCLICKS_REAL_CLICKS", "").split(os.pathsep) if p]
    return [p for p in [*paths, clicks_store()] if p.exists()]


def clicks_hf_repo() -> str | None:
    """HF dataset repo that the clicks store is pushed to (``RCLICKS_CLICKS_HF_REPO``, e.g. ``org/rclicks-visitor-clicks``)."""
    return os.environ.get("RCLICKS_CLICKS_HF_REPO") or None


_scheduler = None


def start_clicks_sync() -> None:
    """When ``RCLICKS_CLICKS_HF_REPO`` is set, push the clicks store to it every few minutes (huggingface_hub CommitScheduler)."""
    global _scheduler
    repo = clicks_hf_repo()
    if repo and _scheduler is None:
        from huggingface_hub import CommitScheduler

        _scheduler = CommitScheduler(repo_id=repo, repo_type="dataset", folder_path=clicks_store(), path_in_repo="clicks",
                                     every=int(os.environ.get("RCLICKS_CLICKS_SYNC_MINUTES", "5")), allow_patterns=["*.parquet"])


def gallery_size() -> int:
    """Bundled samples shown in the gallery (``RCLICKS_APP_SAMPLES``, default 12 GrabCut + 4 DAVIS)."""
    return int(os.environ.get("RCLICKS_APP_SAMPLES", "16"))


def concurrency() -> int:
    """Concurrent jobs per event (``RCLICKS_APP_CONCURRENCY``, default 2 — the machine's cores)."""
    return int(os.environ.get("RCLICKS_APP_CONCURRENCY", "2"))


def _env_int(name: str, default: int) -> int:
    from rclicks.errors import RClicksError

    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as exc:
        raise RClicksError(f"environment variable {name}={raw!r} must be an integer") from exc


def max_upload_pixels() -> int:
    """Uploaded images over this many pixels are refused before decoding (``RCLICKS_APP_MAX_PIXELS``, default 25 MP)."""
    return _env_int("RCLICKS_APP_MAX_PIXELS", 25_000_000)


def max_upload_bytes() -> int:
    """Gradio refuses uploads over this size before storing them (``RCLICKS_APP_MAX_UPLOAD_BYTES``, default 2 GB,
    the submission limit)."""
    return _env_int("RCLICKS_APP_MAX_UPLOAD_BYTES", 2_000_000_000)


def max_zip_members() -> int:
    """Members a submission .zip may hold (``RCLICKS_APP_MAX_ZIP_MEMBERS``, default 64)."""
    return _env_int("RCLICKS_APP_MAX_ZIP_MEMBERS", 64)


def cache_ttl_s() -> int:
    """Gradio's upload cache is swept every this many seconds of files older than it (``RCLICKS_APP_CACHE_TTL_S``, 3600)."""
    return _env_int("RCLICKS_APP_CACHE_TTL_S", 3600)


def in_space() -> bool:
    """True inside a Hugging Face Space (``SPACE_ID`` is set), where submitters log in with their HF account."""
    return bool(os.environ.get("SPACE_ID"))


def model_wait_s() -> float:
    """A request waits at most this long for a shared model before it is told the model is busy
    (``RCLICKS_APP_MODEL_WAIT_S``, default 20)."""
    return float(_env_int("RCLICKS_APP_MODEL_WAIT_S", 20))


def request_budget_s() -> float:
    """Model time one request may use in all (``RCLICKS_APP_REQUEST_BUDGET_S``, default 60 s); the model's lock is
    held only one prediction at a time, so other visitors' clicks interleave with a long comparison."""
    return float(_env_int("RCLICKS_APP_REQUEST_BUDGET_S", 60))


def download_dir() -> str | None:
    """Where the Click-yourself downloads are written (``GRADIO_TEMP_DIR`` when set, else the system's temp folder);
    Gradio serves them from there and its cache sweep removes them."""
    return os.environ.get("GRADIO_TEMP_DIR") or None


def heatmap_budget_s() -> float:
    """Model time one robustness request may use (``RCLICKS_APP_HEATMAP_BUDGET_S``, default 300 s); it runs on its own
    queue and model instance, so this bounds only how long it keeps that slot."""
    return float(_env_int("RCLICKS_APP_HEATMAP_BUDGET_S", 300))
