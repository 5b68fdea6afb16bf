"""Configuration from the environment, and the README's column table staying in sync with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from rclicks_leaderboard import envs
from rclicks_leaderboard.columns import markdown_table
from rclicks.errors import RClicksError


def test_defaults_are_local(monkeypatch):
    for name in ("RCLICKS_RESULTS_URL", "RCLICKS_REQUESTS_URL", "RCLICKS_LB_DATASETS", "RCLICKS_LB_PROTOCOLS",
                 "RCLICKS_LB_ATTACKS", "RCLICKS_MAX_PENDING", "RCLICKS_MAX_SUBMISSION_BYTES"):
        monkeypatch.delenv(name, raising=False)
    assert envs.results_url() == "./hub/results" and envs.requests_url() == "./hub/requests"
    assert envs.limits() == envs.Limits(max_bytes=2_000_000_000, max_pending=3)
    cfg = envs.eval_config()
    assert cfg.datasets == ["grabcut", "davis"] and cfg.protocols == ["groups"] and cfg.max_clicks == 20


def test_overrides_and_attacks(monkeypatch):
    monkeypatch.setenv("RCLICKS_LB_DATASETS", "davis, berkeley")
    monkeypatch.setenv("RCLICKS_LB_PROTOCOLS", "baseline")
    monkeypatch.setenv("RCLICKS_LB_ATTACKS", "1")
    monkeypatch.setenv("RCLICKS_MAX_PENDING", "7")
    cfg = envs.eval_config()
    assert cfg.datasets == ["davis", "berkeley"] and cfg.protocols == ["baseline", "attacks"]
    assert envs.limits().max_pending == 7
    monkeypatch.setenv("RCLICKS_MAX_PENDING", "many")
    with pytest.raises(RClicksError, match="RCLICKS_MAX_PENDING"):
        envs.limits()


def test_readme_documents_every_column():
    readme = (Path(__file__).resolve().parents[2] / "leaderboard" / "README.md").read_text()
    assert markdown_table() in readme


def test_display_url_falls_back_to_seeded_results(monkeypatch, tmp_path):
    monkeypatch.delenv("RCLICKS_RESULTS_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./hub/results here
    assert envs.display_results_url() == envs.seeded_results_url()
    assert envs.seeded_results_url().endswith("assets/results")
    (tmp_path / "hub" / "results" / "m").mkdir(parents=True)
    (tmp_path / "hub" / "results" / "m" / "d__p.parquet").write_bytes(b"x")
    assert envs.display_results_url() == "./hub/results"
    monkeypatch.setenv("RCLICKS_RESULTS_URL", "hf://datasets/o/n/results")
    assert envs.display_results_url() == "hf://datasets/o/n/results"
