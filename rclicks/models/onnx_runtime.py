"""Shared onnxruntime session construction (CPU by default, CUDA when asked and available)."""

from __future__ import annotations

import os

from rclicks.errors import RClicksError


def spinning() -> bool:
    """Whether onnxruntime's thread pools busy-wait for work (``RCLICKS_ORT_SPINNING``: ``1`` on, ``0`` off, the default).

    Off by default: measured with ``python benchmarks/ort_spinning.py`` (see its docstring for the figures).
    """
    from rclicks import settings

    return settings.flag("RCLICKS_ORT_SPINNING")


def make_session(path: str | os.PathLike | bytes, device: str = "cpu", threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` for ``path`` (or serialized model bytes); ``device``: ``cpu``, ``cuda``, ``auto``."""
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
    if not spinning():
        # idle intra-op threads sleep instead of busy-waiting between calls: on shared cores the spinning
        # burned CPU the other workers needed (benchmarks/ort_spinning.py)
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    try:
        source = path if isinstance(path, bytes) else os.fspath(path)
        return ort.InferenceSession(source, sess_options=opts, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types
        name = "serialized model" if isinstance(path, bytes) else path
        raise RClicksError(f"{name}: onnxruntime could not load this model ({exc})") from exc


def make_session_from_bytes(model: bytes, device: str = "cpu", threads: int | None = None):
    """``make_session`` for an in-memory (e.g. edited) ONNX model."""
    return make_session(model, device, threads)
