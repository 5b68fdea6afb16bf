"""The queue under concurrency and bad files, with real processes on one local store: exclusive
claims, the owner's lease, attempt limits, a worker that lost its claim, malformed request files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rclicks_leaderboard.backend import Backend
from rclicks_leaderboard.envs import EvalConfig
from rclicks_leaderboard.requests import FAILED, FINISHED, PENDING, RUNNING, Request, RequestsStore, queue_builtin

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}

CLAIMER = r"""
import os, sys, time
from rclicks_leaderboard.requests import RequestsStore
url, go, worker = sys.argv[1:4]
store = RequestsStore(url)
while not os.path.exists(go):
    time.sleep(0.001)
for req in store.all():
    got = store.claim(req, worker, lease_s=600)
    if got is not None:
        print(got.id, flush=True)
"""


def _req(i: int) -> Request:
    return Request(id=f"r{i:02d}", model=f"m{i}", kind="builtin", weights_sha256="", submitter="s", license="mit")


@pytest.mark.parametrize("round_", range(3))
def test_four_processes_never_claim_one_request_twice(tmp_path, round_):
    store = RequestsStore(str(tmp_path / "requests"))
    for i in range(24):
        store.save(_req(i))
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, store.url, str(go), f"w{k}"], cwd=REPO, env=ENV,
                              stdout=subprocess.PIPE, text=True) for k in range(4)]
    time.sleep(2.0)  # every process imported and waiting
    go.touch()
    claimed = [line.strip() for p in procs for line in p.communicate(timeout=120)[0].splitlines() if line.strip()]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(claimed) == sorted(r.id for r in store.all())  # each request exactly once
    assert {r.status for r in store.all()} == {RUNNING} and all(r.attempts == 1 for r in store.all())


@pytest.mark.slow
def test_four_backends_on_one_store_run_each_request_once(tmp_path):
    results, requests = str(tmp_path / "results"), RequestsStore(str(tmp_path / "requests"))
    for rnd in range(2):
        for name in ("random_walker", "grabcut"):
            queue_builtin(name, requests, policy=["score", "single"][rnd])
        cmd = [sys.executable, "-m", "rclicks_leaderboard.backend", "--once", "--datasets", ["grabcut", "davis"][rnd],
               "--protocols", "baseline", "--limit", "1", "--max-clicks", "1", "--results", results, "--requests", requests.url]
        env = {**ENV, "RCLICKS_LOGS_DIR": str(tmp_path / "logs")}
        procs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for _ in range(4)]
        outs = [p.communicate(timeout=600)[0] for p in procs]
        text = "\n".join(outs)
        assert "cannot go from" not in text and "Traceback" not in text, text
        for req in requests.all():
            if req.config["policy"] == ["score", "single"][rnd]:
                assert text.count(f"[{req.id}] claimed by") == 1, text
                assert req.status == FINISHED and req.attempts == 1, (req.status, req.error)


def test_shorter_timeout_does_not_requeue_a_live_request(tmp_path):
    store = RequestsStore(str(tmp_path / "requests"))
    store.save(_req(1))
    got = store.claim(store.get("r01"), "owner", lease_s=600)
    assert store.requeue_stale(1, now=got.heartbeat + 60) == []  # 60 s silent, but the owner's lease is 600 s
    assert store.get("r01").status == RUNNING
    assert store.requeue_stale(1, now=got.heartbeat + 601) == ["r01"]


def test_a_request_whose_workers_keep_dying_ends_failed_with_the_reason(tmp_path):
    """Each claim is an attempt; after RCLICKS_MAX_ATTEMPTS dead workers the request ends FAILED, visibly."""
    store = RequestsStore(str(tmp_path / "requests"))
    store.save(_req(1))
    for attempt in (1, 2):
        got = store.claim(store.get("r01"), f"w{attempt}", lease_s=1)
        assert got.attempts == attempt
        assert store.requeue_stale(1, now=got.heartbeat + 5, max_attempts=3) == ["r01"]
        assert store.get("r01").status == PENDING and f"attempt {attempt} of 3" in store.get("r01").error
    got = store.claim(store.get("r01"), "w3", lease_s=1)
    # the third dead worker: a backend process started with the limit in the environment
    os.utime(tmp_path / "requests" / "data" / "r01.json")
    dead = store.get("r01")
    dead.heartbeat = time.time() - 100
    store.save(dead)
    out = subprocess.run([sys.executable, "-m", "rclicks_leaderboard.backend", "--once", "--requests", store.url,
                          "--results", str(tmp_path / "results"), "--heartbeat-timeout", "1"],
                         cwd=REPO, env={**ENV, "RCLICKS_MAX_ATTEMPTS": "3", "RCLICKS_LOGS_DIR": str(tmp_path / "logs")},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    final = store.get("r01")
    assert final.status == FAILED and "gave up after 3 attempt(s)" in final.error
    assert "r01" in out.stdout and "FAILED" in out.stdout
    table = store.table()
    assert "gave up after 3" in table.loc[table["id"] == "r01", "error"].iloc[0]  # visible to its submitter


def test_a_worker_that_lost_its_claim_stops_and_discards(tmp_path):
    results_url = str(tmp_path / "results")
    from rclicks_leaderboard.store import ResultsStore

    results, requests = ResultsStore(results_url), RequestsStore(str(tmp_path / "requests"))
    req = queue_builtin("random_walker", requests)
    cfg = EvalConfig(datasets=["grabcut"], protocols=["baseline", "gto99", "random"], max_clicks=6, seed=0, limit=2)
    lines: list[str] = []
    backend = Backend(results, requests, cfg, logs_dir=str(tmp_path / "logs"), log=lines.append, heartbeat_timeout_s=2.0)
    worker = threading.Thread(target=backend.run_once)
    worker.start()
    deadline = time.time() + 60
    while requests.get(req.id).status != RUNNING and time.time() < deadline:
        time.sleep(0.02)
    # another backend took the request over (as after a requeue); the first one's next heartbeat is refused
    stolen = requests.get(req.id)
    stolen.worker, stolen.heartbeat = "other-backend", time.time()
    requests.save(stolen)
    worker.join(timeout=120)
    assert not worker.is_alive()
    final = requests.get(req.id)
    assert final.status == RUNNING and final.worker == "other-backend"  # untouched by the loser
    assert results.files() == []  # its results were discarded
    assert any("lost" in line for line in lines), lines


def test_malformed_request_files_are_skipped_and_named_everywhere(tmp_path):
    store = RequestsStore(str(tmp_path / "requests"))
    store.save(_req(1))
    bad = _req(2).__dict__ | {"status": RUNNING, "heartbeat": "yesterday"}
    (tmp_path / "requests" / "data" / "r02.json").write_text(json.dumps(bad))
    (tmp_path / "requests" / "data" / "r03.json").write_text(json.dumps(_req(3).__dict__)[:40])  # truncated
    (tmp_path / "requests" / "data" / "r04.json").write_text("[1, 2]")
    errors: list[str] = []
    assert [r.id for r in store.all(errors)] == ["r01"]
    assert len(errors) == 3
    assert any("r02.json" in e and "'heartbeat'" in e for e in errors)
    assert any("r03.json" in e for e in errors) and any("r04.json" in e for e in errors)
    assert store.requeue_stale(1) == []  # no TypeError from the wrong-typed heartbeat
    # the backend keeps working and names the bad files in its log
    out = subprocess.run([sys.executable, "-m", "rclicks_leaderboard.backend", "--once", "--requests", store.url,
                          "--results", str(tmp_path / "results"), "--datasets", "grabcut", "--protocols", "no_such",
                          "--limit", "1"], cwd=REPO, env={**ENV, "RCLICKS_LOGS_DIR": str(tmp_path / "logs")},
                         capture_output=True, text=True, timeout=120)
    assert "Traceback" not in out.stderr, out.stderr
    for name in ("r02.json", "r03.json", "r04.json"):
        assert name in out.stdout
    assert "[r01] claimed by" in out.stdout
    # the command line lists them too
    cli = subprocess.run([sys.executable, "-m", "rclicks", "leaderboard", "requests", "--requests", store.url],
                         cwd=REPO, env=ENV, capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0 and all(n in cli.stdout + cli.stderr for n in ("r02.json", "r03.json", "r04.json"))
