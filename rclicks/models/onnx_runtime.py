"""Shared onnxruntime session construction (CPU by default, CUDA when asked and available)."""

from __future__ import annotations

import os

from rclicks.errors import RClicksError


def make_session(path: str | os.PathLike, device: str = "cpu", threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` for ``path``; ``device`` is ``cpu``, ``cuda`` or ``auto``."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device == "cuda" and "CUDAExecutionProvider" not in available:
        raise RClicksError(f"device 'cuda' requested but onnxruntime offers only {available}; install onnxruntime-gpu")
    providers = ["CPUExecutionProvider"]
    if device in ("cuda", "auto") and "CUDAExecutionProvider" in available:
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(os.fspath(path), sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types
        raise RClicksError(f"{path}: onnxruntime could not load this model ({exc})") from exc
