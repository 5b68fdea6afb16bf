"""Server-side limits and the Click-yourself session logic without a browser: clamped inputs, the shared model held
one prediction at a time, readable model errors, undo/candidates/downloads, NoC failure marking, one mask reader."""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from rclicks.data import load_dataset
from rclicks.data.io import object_mask, read_mask_raw
from rclicks.errors import RClicksError
from rclicks.metrics.mask import iou
from rclicks.models.minisam import MiniSAM
from rclicks.types import Click
from rclicks_app import pool, samples
from rclicks_app.tabs import click_yourself as cy
from rclicks_app.tabs import compare, robustness


@pytest.fixture
def shared_minisam(minisam_dir, monkeypatch):
    monkeypatch.setattr(pool, "_models", {("minisam", "shared"): MiniSAM(minisam_dir)})


def test_compare_inputs_are_clamped_on_the_server():
    assert compare.check_request(["baseline", "baseline", "g1"], 100000, -5) == (["baseline", "g1"], compare.MAX_CLICKS, 0)
    assert compare.check_request("baseline,gto99", 0, 2**40)[1:] == (1, compare.MAX_SEED)
    with pytest.raises(RClicksError, match="unknown clicker"):
        compare.check_request(["baseline", "evil"], 3, 0)
    with pytest.raises(RClicksError, match="at least one clicker"):
        compare.check_request([], 3, 0)
    assert robustness.check_request(10000, 500) == (32, robustness.MAX_ATTACK_CLICKS)
    assert robustness.check_request(0, -1) == (1, 0)


def test_api_reaches_only_gallery_samples():
    with pytest.raises(RClicksError, match="not one of the app's samples"):
        samples.gallery_sample("/etc", 0)
    with pytest.raises(RClicksError, match="not one of the app's samples"):
        samples.gallery_sample("grabcut", 10**6)


def test_all_seven_ipol_robots_are_offered():
    assert set(compare.IPOL_ROBOTS) <= set(compare.CLICKERS) and len(compare.IPOL_ROBOTS) == 7


def test_noc_failures_are_marked():
    assert compare.noc_text(20, True) == "20 (not reached)" and compare.noc_text(20, False) == "20"
    rows = []
    for clicker, ious in (("reached-last", [0.1, 0.2, 0.95]), ("never", [0.1, 0.2, 0.3])):
        for k, v in enumerate(ious, 1):
            rows.append({"model": "m", "dataset": "d", "instance": "i", "clicker": clicker, "seed": 0, "policy": "single",
                         "max_clicks": 3, "click": k, "iou": v, "biou": v})
    t = compare.summary_table(pd.DataFrame(rows)).set_index("clicker")
    assert t.loc["reached-last", "NoC@90"] == "3" and t.loc["never", "NoC@90"] == "3 (not reached)"


def test_a_model_that_fails_gives_a_sentence(monkeypatch):
    class Broken:
        def set_image(self, image):
            pass

        def predict(self, clicks, prev=None, **kw):
            raise ValueError("boom inside the model")

    monkeypatch.setattr(pool, "_models", {("grabcut", "shared"): Broken()})
    s = load_dataset("grabcut")[0]
    with pytest.raises(RClicksError, match=r"model 'grabcut' failed: ValueError: boom inside the model"):
        cy.visitor_click(s, "grabcut", cy.new_session(s), Click(10, 10, True))
    with pytest.raises(RClicksError, match="not available here"):
        pool.shared("minisam-torch-that-does-not-exist")


def test_only_models_whose_packages_import_are_offered(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    assert "minisam-torch" not in pool.model_choices()


def test_the_lock_is_held_one_prediction_at_a_time(monkeypatch):
    """A long comparison and a visitor's click on one shared model: the click answers between the comparison's steps."""

    class Slow:
        def set_image(self, image):
            pass

        def predict(self, clicks, prev=None, **kw):
            from rclicks.types import Prediction

            time.sleep(0.05)
            return Prediction(prob=np.zeros((8, 8), np.float32))

    monkeypatch.setattr(pool, "_models", {("grabcut", "shared"): Slow()})
    monkeypatch.setenv("RCLICKS_APP_REQUEST_BUDGET_S", "1")
    img = np.zeros((8, 8, 3), np.uint8)
    long = pool.shared("grabcut")
    long.set_image(img)
    errors = []

    def hog():
        try:
            for _ in range(1000):
                long.predict([Click(1, 1, True)])
        except RClicksError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=hog)
    t.start()
    time.sleep(0.2)
    start = time.perf_counter()
    other = pool.shared("grabcut")
    other.set_image(img)
    other.predict([Click(1, 1, True)])
    assert time.perf_counter() - start < 0.5
    t.join(10)
    assert errors and "used its 1 s of model time" in errors[0]  # the hog is stopped by its budget


def test_undo_restores_the_previous_mask_and_reset_clears(shared_minisam):
    s = load_dataset("grabcut")[0]
    sess, _ = cy.visitor_click(s, "minisam", cy.new_session(s), Click(229, 217, True))
    first = sess["pred"].mask.copy()
    sess, _ = cy.visitor_click(s, "minisam", sess, Click(20, 20, False))
    assert len(sess["clicks"]) == 2 and not sess["clicks"][1].positive
    back = cy.undo(sess)
    assert len(back["clicks"]) == 1 and np.array_equal(back["pred"].mask, first) and len(back["ious"]) == 1
    assert cy.undo(cy.undo(back))["clicks"] == []
    with pytest.raises(RClicksError, match="outside"):
        cy.visitor_click(s, "minisam", sess, Click(10**6, 0, True))


def test_session_click_limit(shared_minisam, monkeypatch):
    s = load_dataset("grabcut")[0]
    monkeypatch.setattr(cy, "MAX_SESSION_CLICKS", 1)
    sess, _ = cy.visitor_click(s, "minisam", cy.new_session(s), Click(229, 217, True))
    with pytest.raises(RClicksError, match="at most 1 clicks"):
        cy.visitor_click(s, "minisam", sess, Click(230, 217, True))


def test_candidates_show_predicted_and_true_iou_and_the_policies(shared_minisam):
    s = load_dataset("grabcut")[0]
    sess, _ = cy.visitor_click(s, "minisam", cy.new_session(s), Click(229, 217, True))
    c = cy.candidates_view(s, "minisam", sess)
    assert len(c["masks"]) == 4 and len(c["predicted"]) == 4 and len(c["true"]) == 4
    assert c["keep"]["single"] == 0 and c["keep"]["oracle / first_oracle"] == 1 + int(np.argmax(c["true"][1:]))
    assert c["true"][2] == pytest.approx(iou(s.mask, c["masks"][2], s.valid))
    chosen = cy.choose_candidate(s, "minisam", sess, c["keep"]["oracle / first_oracle"])
    assert chosen["ious"][0] == pytest.approx(max(c["true"][1:]), abs=1e-6)


def test_own_image_without_a_mask_segments_without_a_score(shared_minisam):
    img = load_dataset("grabcut")[0].image
    s, _ = samples.from_upload(img, None, allow_no_mask=True)
    sess, sug = cy.visitor_click(s, "minisam", cy.new_session(s, has_gt=False), Click(229, 217, True))
    assert sug is None and sess["ious"] == [] and sess["pred"].mask.any()
    assert "no score" in cy.status_text(sess) and cy.figure(sess) is None
    assert cy.robot_step(s, "minisam", sess)["robot"]["ious"] == []


def test_downloads_mask_cutout_and_clicks_csv(shared_minisam, tmp_path, monkeypatch):
    from rclicks.clicks import validate_clicks

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    s = load_dataset("grabcut")[0]
    sess, _ = cy.visitor_click(s, "minisam", cy.new_session(s), Click(229, 217, True))
    sess, _ = cy.visitor_click(s, "minisam", sess, Click(20, 20, False))
    mask_png, cutout_png, csv = cy.downloads(sess)
    m = np.asarray(Image.open(mask_png))
    assert set(np.unique(m)) <= {0, 255} and np.array_equal(m > 0, sess["pred"].mask)
    rgba = np.asarray(Image.open(cutout_png))
    assert rgba.shape[2] == 4 and np.array_equal(rgba[..., 3] > 0, sess["pred"].mask)
    table = validate_clicks(pd.read_csv(csv, keep_default_na=False), "download")
    assert table[["click_type", "x", "y"]].values.tolist() == [["first", 229, 217], ["fp", 20, 20]]


def test_browser_click_text_is_parsed_and_checked():
    assert cy.parse_click("12,34,0,1700000000") == Click(12, 34, False)
    with pytest.raises(RClicksError, match="malformed"):
        cy.parse_click("12;34")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (np.array([[0, 1], [1, 0]]), [[False, True], [True, False]]),  # 0/1
        (np.array([[0, 255], [255, 0]]), [[False, True], [True, False]]),  # 0/255
        (np.array([[0, 128], [255, 0]]), [[False, False], [True, False]]),  # GrabCut band, ignored
    ],
)
def test_one_mask_rule(raw, expected):
    mask, _ = object_mask(raw, ignore_value=128)
    assert mask.tolist() == expected


def test_ambiguous_masks_are_refused_with_the_reason():
    photo = np.random.default_rng(0).integers(0, 256, (40, 40))
    with pytest.raises(RClicksError, match="ambiguous"):
        object_mask(photo, what="photo.png")
    assert object_mask(photo, threshold=127)[0].any()  # a stated threshold is obeyed


def test_alpha_cutouts_mean_the_opaque_part(tmp_path):
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., :3] = 200  # colour everywhere: read as colour it would be all object
    rgba[2:5, 3:7, 3] = 255
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    raw = read_mask_raw(tmp_path / "cut.png")
    mask, _ = object_mask(raw)
    assert mask.sum() == 12 and mask[2, 3]
    up = samples.read_upload_file(str(tmp_path / "cut.png"), "mask")
    s, _ = samples.from_upload(np.zeros((10, 12, 3), np.uint8), up)
    assert np.array_equal(s.mask, mask)


def test_folder_layouts_read_zero_one_masks(tmp_path):
    from rclicks.data import load_dataset as load

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(tmp_path / "images" / "a.png")
    m = np.zeros((8, 8), np.uint8)
    m[2:5, 2:5] = 1
    Image.fromarray(m).save(tmp_path / "masks" / "a.png")
    ds = load(str(tmp_path))  # Berkeley layout: a 0/1 mask is no longer silently empty
    assert ds[0].mask.sum() == 9


def test_the_iou_min_explanation_holds(minisam_dir):
    """What the Robustness tab says: the black-box IoU-min's first click is the worst valid one within the search disk
    around the baseline click (so no worse than the baseline, on the disk), and the unconstrained heatmap can go lower."""
    import math

    from rclicks.attacks.adversarial import attack_trajectory
    from rclicks.attacks.heatmap import click_heatmap
    from rclicks.registry import build_clicker
    from rclicks.runner import run_trajectory

    m = MiniSAM(minisam_dir)
    s = load_dataset("grabcut")[2]  # the swimmer
    h, w = s.mask.shape
    radius = max(6.0, 0.02 * math.hypot(h, w))
    attack = attack_trajectory(m, s, "min", max_clicks=1, method="blackbox")[0]
    base = run_trajectory(m, s, build_clicker("baseline"), max_clicks=1, rng=np.random.default_rng(0))
    heat = click_heatmap(m, s, stride=32)
    a, b = attack.clicks[0], base.clicks[0]
    assert math.hypot(a.x - b.x, a.y - b.y) <= radius + 1e-9
    assert attack.ious[0] <= base.ious[0] + 1e-12
    assert heat.values.min() <= attack.ious[0] + 0.05
    assert "local" in robustness.EXPLANATION and "2 % of the image diagonal" in robustness.EXPLANATION


def test_a_consented_candidate_choice_is_recorded(tmp_path, monkeypatch):
    monkeypatch.setenv("RCLICKS_CLICKS_STORE", str(tmp_path / "clicks"))
    s = load_dataset("grabcut")[0]
    part = cy.record_choice(s, "minisam", 2, [0.9, 0.8, 0.95, 0.7], [0.5, 0.6, 0.97, 0.2], "pc")
    row = pd.read_parquet(part).iloc[0]
    assert part.parent == tmp_path / "clicks" / "choices" and row["chosen"] == 2 and row["image_stem"] == s.name
    from rclicks.clicks import read_clicks

    cy.record_click(s, Click(1, 1, True), 0, "minisam", "pc")
    assert len(read_clicks(tmp_path / "clicks")) == 1  # the choices sub-folder never mixes into the clicks table


def test_a_heatmap_request_ends_at_its_budget():
    class Model:
        threshold = 0.5

        def predict(self, clicks, prev=None):
            return "ok"

    m = pool.bounded(Model(), "grabcut", budget_s=0.05)
    assert m.predict([]) == "ok" and m.threshold == 0.5 and hasattr(m, "predict") and not hasattr(m, "decode_batch")
    time.sleep(0.1)
    with pytest.raises(RClicksError, match="used its 0 s of model time"):
        m.predict([])


def test_curves_of_other_metrics_carry_no_noc_marks():
    import plotly.graph_objects as go  # noqa: F401

    rows = [dict(model="m", dataset="d", instance="i", clicker="a", seed=0, policy="single", max_clicks=2, click=k,
                 iou=0.95, biou=0.9, tp=95, fp=5, fn=0, tn=100) for k in (1, 2)]
    curves = compare.metric_curves(pd.DataFrame(rows), "dice")
    assert curves["a"] == pytest.approx([2 * 95 / (2 * 95 + 5)] * 2)
