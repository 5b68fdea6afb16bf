"""The leaderboard's configuration objects (built from rclicks.settings), and the README's column table staying in
sync with the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from rclicks import settings
from rclicks_leaderboard import envs
from rclicks_leaderboard.columns import markdown_table
from rclicks.errors import RClicksError


def test_defaults_are_local(monkeypatch):
    for name in ("RCLICKS_RESULTS_URL", "RCLICKS_REQUESTS_URL", "RCLICKS_LB_DATASETS", "RCLICKS_LB_PROTOCOLS",
                 "RCLICKS_LB_ATTACKS", "RCLICKS_MAX_PENDING", "RCLICKS_MAX_SUBMISSION_BYTES"):
        monkeypatch.delenv(name, raising=False)
    assert settings.text("RCLICKS_RESULTS_URL") == "./hub/results" and settings.text("RCLICKS_REQUESTS_URL") == "./hub/requests"
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
    readme = (Path(__file__).resolve().parents[2] / "rclicks_leaderboard" / "README.md").read_text()
    assert markdown_table() in readme


def test_display_url_falls_back_to_shipped_results(monkeypatch, tmp_path):
    monkeypatch.delenv("RCLICKS_RESULTS_URL", raising=False)
    monkeypatch.delenv("RCLICKS_SHIPPED_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)  # no ./hub/results here
    assert envs.display_results_url() == envs.shipped_results_url()
    assert envs.shipped_results_url().endswith("assets/results")
    (tmp_path / "hub" / "results" / "m").mkdir(parents=True)
    (tmp_path / "hub" / "results" / "m" / "d__p.parquet").write_bytes(b"x")
    assert envs.display_results_url() == "./hub/results"
    monkeypatch.setenv("RCLICKS_RESULTS_URL", "hf://datasets/o/n/results")
    assert envs.display_results_url() == "hf://datasets/o/n/results"


def test_shipped_results_are_a_setting(monkeypatch, tmp_path):
    """A pip-installed package has no assets/results: RCLICKS_SHIPPED_RESULTS points at a copy, and without one the
    leaderboard says so in one line naming the variable."""
    monkeypatch.setenv("RCLICKS_SHIPPED_RESULTS", str(tmp_path))
    assert envs.shipped_results_url() == str(tmp_path)
    monkeypatch.setenv("RCLICKS_SHIPPED_RESULTS", str(tmp_path / "absent"))
    with pytest.raises(RClicksError, match="RCLICKS_SHIPPED_RESULTS=.*no such folder") as info:
        envs.shipped_results_url()
    assert "\n" not in str(info.value)
    monkeypatch.delenv("RCLICKS_SHIPPED_RESULTS")
    monkeypatch.setattr(settings, "CHECKOUT_RESULTS", tmp_path / "installed" / "assets" / "results")
    monkeypatch.delenv("RCLICKS_RESULTS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RClicksError, match="no shipped results.*set RCLICKS_SHIPPED_RESULTS") as info:
        envs.display_results_url()
    assert "\n" not in str(info.value)


def test_without_shipped_results_the_command_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    from rclicks.cli import main

    monkeypatch.delenv("RCLICKS_RESULTS_URL", raising=False)
    monkeypatch.setenv("RCLICKS_SHIPPED_RESULTS", str(tmp_path / "absent"))
    monkeypatch.chdir(tmp_path)
    assert main(["leaderboard", "build"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "RCLICKS_SHIPPED_RESULTS=" in err and "Traceback" not in err
