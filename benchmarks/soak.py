"""Soak: 4 backends and 16 visitors against one local store for a bounded time, hostile submissions mixed in.

    python benchmarks/soak.py --seconds 90

A real app server (``python app.py``) runs on the same stores. ``--app-visitors`` of the
visitors call its API (``/compare`` through ``gradio_client``); the others call
``rclicks_leaderboard.submit`` (what the app's Submit tab calls) with valid safetensors checkpoints,
endless-Loop ONNX folders and reserved or malformed names; maintainers' builtin requests are
queued too. Reports requests finished, double claims (must be 0), rows duplicated (must be 0),
peak RSS of the backends with their shard children and of the app, and p50/p95 latencies of
submissions and of the app's API."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _rss_tree_mb(pid: int) -> float:
    from rclicks_leaderboard.shard import _rss_bytes

    return _rss_bytes(pid) / 2**20


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, timeout_s: float = 180) -> None:
    """Block until the app answers at ``url`` (or raise if it exits or never answers)."""
    import urllib.request

    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"app.py did not answer at {url} within {timeout_s:.0f} s")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=90)
    p.add_argument("--backends", type=int, default=4)
    p.add_argument("--visitors", type=int, default=16)
    p.add_argument("--app-visitors", type=int, default=8,
                   help="of the visitors, how many use the real Gradio app (API /compare) instead of submitting (default: 8)")
    args = p.parse_args()
    from safetensors.numpy import save_file

    from rclicks_leaderboard import SubmissionRejected, submit
    from rclicks_leaderboard.requests import FINISHED, FAILED, RequestsStore, queue_builtin
    from rclicks_leaderboard.store import ResultsStore
    from tests.hostile_models import loop_model

    tmp = Path(tempfile.mkdtemp(prefix="rclicks-soak-"))
    requests, results = RequestsStore(str(tmp / "requests")), ResultsStore(str(tmp / "results"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "RCLICKS_LOGS_DIR": str(tmp / "logs"), "RCLICKS_SHARD_TIMEOUT_S": "10",
           "RCLICKS_SHARD_MEMORY_MB": "2048", "RCLICKS_MAX_PENDING": "2"}
    cmd = [sys.executable, "-m", "rclicks_leaderboard.backend", "--poll-seconds", "1", "--datasets", "grabcut", "--protocols", "baseline",
           "--limit", "1", "--max-clicks", "2", "--results", results.url, "--requests", requests.url, "--heartbeat-timeout", "30"]
    logs = [open(tmp / f"backend{k}.log", "w") for k in range(args.backends)]
    procs = [subprocess.Popen(cmd, cwd=REPO, env=env, stdout=logs[k], stderr=subprocess.STDOUT) for k in range(args.backends)]
    for model in ("random_walker", "grabcut"):
        queue_builtin(model, requests)
    port = _free_port()
    app_env = {**env, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False",
               "RCLICKS_REQUESTS_URL": requests.url, "RCLICKS_RESULTS_URL": results.url, "RCLICKS_MODELS_URL": str(tmp / "models"),
               "RCLICKS_CLICKS_STORE": str(tmp / "clicks"), "RCLICKS_OPERATOR": "soak", "GRADIO_TEMP_DIR": str(tmp / "gradio")}
    app_log = open(tmp / "app.log", "w")
    app = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=app_env, stdout=app_log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    _wait_for(url, app)
    app_latencies: list[float] = []
    latencies, outcomes, stop = [], Counter(), time.monotonic() + args.seconds
    lock = threading.Lock()

    def app_visitor(v: int) -> None:
        from gradio_client import Client

        client = Client(url, verbose=False)
        rng = np.random.default_rng(1000 + v)
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            try:
                client.predict("grabcut", int(rng.integers(4)), "random_walker", ["baseline"], 2, 0, api_name="/compare")
                res = "app:ok"
            except Exception:  # noqa: BLE001 (a failed call is counted, not fatal)
                res = "app:error"
            with lock:
                app_latencies.append(time.perf_counter() - t0)
                outcomes[res] += 1
            time.sleep(float(rng.uniform(0.5, 2.0)))

    def visitor(v: int) -> None:
        rng = np.random.default_rng(v)
        n = 0
        while time.monotonic() < stop:
            n += 1
            kind = ["ok", "loop", "reserved", "newline"][int(rng.integers(4))]
            folder = tmp / "up" / f"v{v}_{n}"
            folder.mkdir(parents=True)
            if kind == "loop":
                path = loop_model(folder / f"loop{v}x{n}")
            else:
                path = folder / "w.safetensors"
                save_file({"w": rng.standard_normal((4, 4)).astype(np.float32)}, str(path))
            name = {"ok": f"m{v}x{n}", "loop": path.name if kind == "loop" else "", "reserved": "MiniSAM", "newline": "x\n"}[kind]
            t0 = time.perf_counter()
            try:
                submit(path, model=name, submitter=f"visitor{v}", license="mit", requests=requests,
                       models_url=str(tmp / "models"), results_url=results.url,
                       **({} if kind == "loop" else {"kind": "sam", "config": {"variant": "vit_b"}}))
                res = f"{kind}:queued"
            except SubmissionRejected as exc:
                res = f"{kind}:rejected" + (":quota" if "pending" in str(exc) else "")
            with lock:
                latencies.append(time.perf_counter() - t0)
                outcomes[res] += 1
            time.sleep(float(rng.uniform(0.5, 2.0)))

    peak = {"backends": 0.0, "app": 0.0}

    def watch() -> None:
        while time.monotonic() < stop + 5:
            peak["backends"] = max(peak["backends"], max((_rss_tree_mb(pr.pid) for pr in procs), default=0))
            peak["app"] = max(peak["app"], _rss_tree_mb(app.pid))
            time.sleep(0.2)

    n_app = min(args.app_visitors, args.visitors)
    threads = ([threading.Thread(target=app_visitor, args=(v,)) for v in range(n_app)]
               + [threading.Thread(target=visitor, args=(v,)) for v in range(n_app, args.visitors)] + [threading.Thread(target=watch)])
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    time.sleep(5)
    for pr in [*procs, app]:
        pr.terminate()
    for pr in [*procs, app]:
        pr.wait(timeout=60)
    for fh in [*logs, app_log]:
        fh.close()
    text = "".join((tmp / f"backend{k}.log").read_text() for k in range(args.backends))
    claims = Counter(re.findall(r"\[(\S+)\] claimed by \S+ \(attempt (\d+)\)", text))
    doubles = sum(c - 1 for c in claims.values() if c > 1)
    df, _ = results.load()
    dup = int(df.duplicated(["model", "dataset", "clicker", "policy", "seed", "instance", "click"]).sum()) if len(df) else 0
    statuses = Counter(r.status for r in requests.all())
    lat = np.array(latencies) * 1000
    print(f"soak {args.seconds:.0f} s, {args.backends} backends, {args.visitors} visitors; store {tmp}")
    print(f"submissions: {dict(outcomes)}")
    print(f"requests: {dict(statuses)}; finished {statuses[FINISHED]}, failed {statuses[FAILED]}")
    print(f"claims {sum(claims.values())}, double claims {doubles}; result rows {len(df)}, duplicated {dup}")
    print(f"peak RSS of backends + shard children (max over backends): {peak['backends']:.0f} MB; of the app: {peak['app']:.0f} MB")
    if len(lat):
        print(f"submit latency p50 {np.percentile(lat, 50):.0f} ms, p95 {np.percentile(lat, 95):.0f} ms (n={len(lat)})")
    if app_latencies:
        al = np.array(app_latencies) * 1000
        print(f"app /compare latency p50 {np.percentile(al, 50):.0f} ms, p95 {np.percentile(al, 95):.0f} ms (n={len(al)})")
    return 0 if doubles == 0 and dup == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
