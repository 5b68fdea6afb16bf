"""The shard sandbox on real hostile ONNX submissions: each shard runs in a child process under a
wall-clock and a memory limit, and the request ends FAILED with a clean reason instead of stalling
the queue or exhausting the backend."""

from __future__ import annotations

import time

import pytest

from rclicks_leaderboard import submit
from rclicks_leaderboard.backend import Backend
from rclicks_leaderboard.envs import EvalConfig
from rclicks_leaderboard.requests import FAILED
from tests.hostile_models import huge_output_model, loop_model

pytest.importorskip("onnxruntime")
CFG = EvalConfig(datasets=["grabcut"], protocols=["baseline"], max_clicks=1, seed=0, limit=1)


def _run(stores, tmp_path, folder, monkeypatch, **env):
    results, requests, models_url = stores
    for k, v in env.items():
        monkeypatch.setenv(k, str(v))
    req = submit(folder, model=folder.name, submitter="mallory", license="mit", requests=requests, models_url=models_url)
    lines: list[str] = []
    start = time.monotonic()
    done = Backend(results, requests, CFG, logs_dir=str(tmp_path / "logs"), log=lines.append).run_once()
    return req, done, time.monotonic() - start, lines


def test_endless_loop_is_killed_at_the_time_limit(stores, tmp_path, monkeypatch):
    req, done, seconds, _ = _run(stores, tmp_path, loop_model(tmp_path / "loop"), monkeypatch, RCLICKS_SHARD_TIMEOUT_S=8)
    final = stores[1].get(req.id)
    assert [r.id for r in done] == [req.id] and final.status == FAILED
    assert "time limit of 8 s" in final.error and "RCLICKS_SHARD_TIMEOUT_S" in final.error
    assert seconds < 60
    assert stores[0].files() == []  # nothing partial stored


def test_huge_output_is_killed_at_the_memory_limit(stores, tmp_path, monkeypatch):
    req, done, seconds, _ = _run(stores, tmp_path, huge_output_model(tmp_path / "huge"), monkeypatch,
                                 RCLICKS_SHARD_MEMORY_MB=1200, RCLICKS_SHARD_ADDRESS_SPACE_MB=0)
    final = stores[1].get(req.id)
    assert final.status == FAILED and "memory limit of 1200 MB" in final.error, final.error
    log = (tmp_path / "logs" / req.id / "grabcut__baseline+score.log").read_text()
    peak = int(log.rsplit("peak rss ", 1)[1].split(" MB")[0])
    assert peak < 2500  # the watchdog stopped it well before the 10 GB it asked for


def test_huge_output_hits_the_address_space_limit(stores, tmp_path, monkeypatch):
    req, done, seconds, _ = _run(stores, tmp_path, huge_output_model(tmp_path / "huge2"), monkeypatch,
                                 RCLICKS_SHARD_MEMORY_MB=0, RCLICKS_SHARD_ADDRESS_SPACE_MB=4096)
    final = stores[1].get(req.id)
    assert final.status == FAILED, final.error
    assert "/" not in final.error.split(":", 1)[1]  # a clean reason, no server paths
