"""A real app server on a loopback port and a real headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-quic", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_env(tmp_path_factory):
    """Environment of the app under test: private requests/clicks stores, seeded results."""
    tmp = tmp_path_factory.mktemp("app")
    env = dict(os.environ)
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(_free_port()), GRADIO_ANALYTICS_ENABLED="False",
               RCLICKS_REQUESTS_URL=str(tmp / "requests"), RCLICKS_MODELS_URL=str(tmp / "models"),
               RCLICKS_CLICKS_STORE=str(tmp / "clicks"), RCLICKS_APP_SAMPLES="8", RCLICKS_APP_MAX_SIDE="400",
               RCLICKS_OPERATOR="tester", RCLICKS_APP_MAX_UPLOAD_BYTES="5000000", RCLICKS_MAX_SUBMISSION_BYTES="5000000",
               TMPDIR=str(tmp / "tmp"), GRADIO_TEMP_DIR=str(tmp / "gradio"))
    (tmp / "tmp").mkdir()
    env.pop("RCLICKS_RESULTS_URL", None)
    from rclicks_leaderboard.store import ResultsStore

    if ResultsStore(envs_seeded()).load()[0].empty:  # seeded results predating the current contract: use a v2 stand-in
        import numpy as np

        from tests.leaderboard.conftest import random_table

        df = random_table(np.random.default_rng(0), models=("random_walker", "minisam", "grabcut"), clickers=("baseline",))
        store = ResultsStore(str(tmp / "results"))
        for (model, dataset), part in df.groupby(["model", "dataset"]):
            from rclicks_leaderboard.store import ShardKey

            store.write_shard(ShardKey(model, dataset, "baseline"), part, {"request_id": "seed"})
        env["RCLICKS_RESULTS_URL"] = store.url
    return env


def envs_seeded() -> str:
    from rclicks_leaderboard.envs import shipped_results_url

    return shipped_results_url()


@pytest.fixture(scope="session")
def app_url(app_env, minisam_dir):
    """Start `python app.py` and yield its URL; the server is killed afterwards."""
    url = f"http://127.0.0.1:{app_env['GRADIO_SERVER_PORT']}/"
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "app-server.log", "w") as log:
        yield from _serve(url, app_env, log)


def _serve(url: str, app_env: dict, log):
    """Run the app with output to ``log`` until the generator is closed."""
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=app_env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app.py exited with {proc.returncode}; see {ARTIFACTS / 'app-server.log'}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("app.py did not answer within 120 s")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright (no browser download)."""
    playwright = pytest.importorskip("playwright.sync_api")
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.fail("Debian's chromium is required for the browser tests (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh page on the app."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    pg.set_default_timeout(90_000)
    pg.goto(app_url)
    pg.wait_for_selector("#run-compare")
    yield pg
    ctx.close()
