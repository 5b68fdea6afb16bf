"""RCLICKS_ORT_SPINNING: onnxruntime's thread spinning is off unless asked for, and bad values are named."""

from __future__ import annotations

import pytest

from rclicks.errors import RClicksError
from rclicks.models import onnx_runtime


def test_spinning_default_off_and_configurable(monkeypatch):
    monkeypatch.delenv("RCLICKS_ORT_SPINNING", raising=False)
    assert onnx_runtime.spinning() is False
    monkeypatch.setenv("RCLICKS_ORT_SPINNING", "1")
    assert onnx_runtime.spinning() is True
    monkeypatch.setenv("RCLICKS_ORT_SPINNING", "yes")
    with pytest.raises(RClicksError, match="RCLICKS_ORT_SPINNING"):
        onnx_runtime.spinning()


def test_session_options_carry_the_setting(monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    seen = []
    real = ort.InferenceSession

    def fake(source, sess_options=None, providers=None):
        try:
            seen.append(sess_options.get_session_config_entry("session.intra_op.allow_spinning"))
        except Exception:  # not set: onnxruntime's default (spinning)
            seen.append(None)
        return object()

    monkeypatch.setattr(ort, "InferenceSession", fake)
    monkeypatch.delenv("RCLICKS_ORT_SPINNING", raising=False)
    onnx_runtime.make_session(b"model")
    monkeypatch.setenv("RCLICKS_ORT_SPINNING", "1")
    onnx_runtime.make_session(b"model")
    assert seen == ["0", None] and real is not fake
