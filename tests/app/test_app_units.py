"""The app's non-browser parts: upload validation, the shared model pool, drawing helpers."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from rclicks.data import load_dataset
from rclicks.errors import RClicksError
from rclicks.metrics.mask import iou
from rclicks.models.minisam import MiniSAM
from rclicks.types import Click
from rclicks.viz import draw_clicks, heatmap_overlay, iou_figure, overlay_mask
from rclicks_app import pool, samples


def test_upload_over_the_limit_is_downscaled_with_a_notice():
    image = np.zeros((600, 2000, 3), np.uint8)
    mask = np.zeros((600, 2000), np.uint8)
    mask[100:500, 400:1600] = 255
    s, notice = samples.from_upload(image, mask, max_side=1000)
    assert s.image.shape == (300, 1000, 3) and s.mask.shape == (300, 1000)
    assert "2000×600" in notice and "1000×300" in notice
    # nearest-neighbour resize of the box: rows 50..249, columns 200..799
    assert s.mask.sum() == 200 * 600 and s.mask[50, 200] and not s.mask[49, 200]


def test_upload_under_the_limit_is_kept():
    image = np.full((20, 30, 3), 7, np.uint8)
    mask = np.zeros((20, 30), np.uint8)
    mask[5, 6] = 200
    s, notice = samples.from_upload(image, mask, max_side=1000)
    assert notice == "" and np.array_equal(s.image, image) and s.mask.sum() == 1 and s.mask[5, 6]


@pytest.mark.parametrize(
    ("mask", "words"),
    [(np.full((10, 12), 255, np.uint8), "mask is 12×10 but the image is 30×20"), (np.zeros((20, 30), np.uint8), "mask is empty"), (None, "upload both")],
)
def test_bad_uploads_name_the_problem(mask, words):
    with pytest.raises(RClicksError, match=words):
        samples.from_upload(np.zeros((20, 30, 3), np.uint8), mask)


def test_non_image_file_is_rejected_by_name(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    with pytest.raises(RClicksError, match="image: the uploaded file is not an image"):
        samples.read_upload_file(str(bad), "image")
    good = tmp_path / "m.png"
    Image.fromarray(np.array([[0, 255]], np.uint8)).save(good)
    assert samples.read_upload_file(str(good), "mask").tolist() == [[0, 255]]


def test_shared_model_has_no_cross_talk_between_visitors(minisam_dir, monkeypatch):
    """Two visitors on two images hammer one shared miniSAM: each gets exactly its own image's answer."""
    monkeypatch.setattr(pool, "_models", {("minisam", "shared"): MiniSAM(minisam_dir)})
    ds = load_dataset("grabcut")
    a, b = ds[0], ds[1]
    clicks = {id(a): [Click(229, 217, True)], id(b): [Click(b.image.shape[1] // 2, b.image.shape[0] // 2, True)]}
    expected = {}
    ref = MiniSAM(minisam_dir)
    for s in (a, b):
        ref.set_image(s.image)
        expected[id(s)] = ref.predict(clicks[id(s)]).prob
    got: dict[int, list[np.ndarray]] = {id(a): [], id(b): []}
    barrier = threading.Barrier(2)

    def visitor(s):
        barrier.wait()
        for _ in range(6):
            with pool.using("minisam") as m:
                m.set_image(s.image)
                got[id(s)].append(m.predict(clicks[id(s)]).prob)

    threads = [threading.Thread(target=visitor, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in (a, b):
        assert len(got[id(s)]) == 6
        for prob in got[id(s)]:
            assert prob.shape == s.mask.shape and np.allclose(prob, expected[id(s)], atol=1e-6)
    # the two images really give different answers, so a mix-up would have been caught
    assert a.mask.shape != b.mask.shape or not np.allclose(expected[id(a)], expected[id(b)])


def test_click_yourself_session_iou_matches_a_direct_call(minisam_dir, monkeypatch):
    from rclicks_app.tabs import click_yourself

    monkeypatch.setattr(pool, "_models", {("minisam", "shared"): MiniSAM(minisam_dir)})
    s = load_dataset("grabcut")[0]
    session, suggestion = click_yourself.visitor_click(s, "minisam", click_yourself.new_session(s), Click(229, 217, True))
    m = MiniSAM(minisam_dir)
    m.set_image(s.image)
    pred = m.predict([Click(229, 217, True)])
    assert session["ious"] == [pytest.approx(iou(s.mask, pred.mask, s.valid), abs=1e-9)]
    assert session["robot"]["ious"] == []  # the robot never delays the first mask: it follows in robot_step
    session = click_yourself.robot_step(s, "minisam", session)
    assert len(session["robot"]["ious"]) == 1
    # the robot's suggestion lies in an error region of the visitor's current mask
    wrong = (s.mask != pred.mask) & s.valid
    assert wrong[suggestion.y, suggestion.x] and suggestion.positive == bool(s.mask[suggestion.y, suggestion.x])


def test_overlay_tints_only_the_mask_interior():
    image = np.full((40, 40, 3), 100, np.uint8)
    mask = np.zeros((40, 40), bool)
    mask[10:30, 10:30] = True
    out = overlay_mask(image, mask, colour=(200, 0, 0), alpha=0.5)
    assert out[20, 20].tolist() == [150, 50, 50]  # 100 * 0.5 + colour * 0.5
    assert out[0, 0].tolist() == [100, 100, 100] and out[35, 35].tolist() == [100, 100, 100]


def test_clicks_and_heatmap_drawing():
    image = np.zeros((90, 90, 3), np.uint8)
    out = draw_clicks(image, [Click(20, 30, True), Click(60, 70, False)], numbered=False)
    assert out[30, 20].tolist() == [40, 200, 60] and out[70, 60].tolist() == [230, 40, 40]
    values = np.full((90, 90), np.nan)
    values[0, 0], values[0, 1] = 0.0, 1.0
    heat = heatmap_overlay(image, values)
    assert heat[5, 5].tolist() == [0, 0, 0]  # NaN stays transparent
    assert heat[0, 0].tolist() != heat[0, 1].tolist()


def test_recency_draws_later_clicks_larger():
    """IPOL's overlays: the disk radius grows with the click number (radius ``round(base · (0.6 + 0.9 k / n))``,
    base 4 px on a 300-px image), measured as the green pixels inside each disk's white outline."""
    image = np.zeros((300, 300, 3), np.uint8)
    clicks = [Click(50, 50, True), Click(150, 150, True), Click(250, 250, True)]
    out = draw_clicks(image, clicks, numbered=False, recency=True)
    green = np.all(out == [40, 200, 60], axis=2)
    areas = [int(green[c.y - 20:c.y + 21, c.x - 20:c.x + 21].sum()) for c in clicks]
    assert areas[0] < areas[1] < areas[2]
    radii = [round(4 * (0.6 + 0.9 * k / 3)) for k in (1, 2, 3)]  # 4, 5, 6 px
    for a, r in zip(areas, radii):
        assert abs(a - np.pi * (r - 1) ** 2) < 2 * np.pi * r  # a disk of radius r inside its 1-px white outline
    plain = np.all(draw_clicks(image, clicks, numbered=False) == [40, 200, 60], axis=2)
    assert len({int(plain[c.y - 20:c.y + 21, c.x - 20:c.x + 21].sum()) for c in clicks}) == 1  # without: one size


def test_iou_figure_marks_noc_at_the_first_click_over_the_threshold():
    fig = iou_figure({"robot": [0.5, 0.89, 0.91, 0.95]}, biou={"robot": [0.3, 0.4, 0.5, 0.6]})
    stars = [t for t in fig.data if t.name.startswith("robot NoC@90")]
    assert len(stars) == 1 and list(stars[0].x) == [3] and stars[0].name == "robot NoC@90 = 3"
    assert [t.name for t in fig.data] == ["robot IoU", "robot NoC@90 = 3", "robot BIoU"]


def test_robustness_follow_up_starts_at_the_given_click(minisam_dir):
    from rclicks.runner import run_trajectory
    from rclicks.clickers.baseline import BaselineClicker
    from rclicks.clickers.scripted import start_then
    from rclicks_app.tabs.robustness import trajectories

    s = load_dataset("grabcut")[0]
    m = MiniSAM(minisam_dir)
    start = Click(229, 217, True)
    traj = run_trajectory(m, s, start_then(start, BaselineClicker()), max_clicks=3, rng=np.random.default_rng(0))
    assert traj.clicks[0] == start and len(traj.clicks) == 3
    m.set_image(s.image)
    assert traj.ious[0] == pytest.approx(iou(s.mask, m.predict([start]).mask, s.valid), abs=1e-9)
    curves = trajectories(m, s, start, Click(240, 150, True), max_clicks=3)
    assert list(curves) == ["baseline robot", "worst first click → robot", "best first click → robot"]
    assert curves["worst first click → robot"] == pytest.approx(list(traj.ious), abs=1e-9)


def test_consented_clicks_land_in_the_store_in_the_rclicks_schema(tmp_path, monkeypatch):
    from rclicks.clicks import read_clicks
    from rclicks_app.tabs import click_yourself

    monkeypatch.setenv("RCLICKS_CLICKS_STORE", str(tmp_path / "clicks"))
    monkeypatch.delenv("RCLICKS_CLICKS_HF_REPO", raising=False)
    s = load_dataset("grabcut")[0]
    click_yourself.record_click(s, Click(229, 217, True), 0, "minisam", "pc")
    click_yourself.record_click(s, Click(10, 20, False), 1, "minisam", "mobile")
    t = read_clicks(tmp_path / "clicks").sort_values("click_type").reset_index(drop=True)
    h, w = s.mask.shape
    assert t[["click_type", "model_type", "device", "x", "y", "w", "h"]].values.tolist() == [
        ["first", "", "pc", 229, 217, w, h], ["fp", "minisam", "mobile", 10, 20, w, h]]
    assert set(t["dataset"]) == {"grabcut"} and set(t["image_stem"]) == {s.name}


def test_recorded_real_clicks_are_shown_on_the_clickability_view(tmp_path, monkeypatch):
    import pandas as pd

    from rclicks.clicks import write_clicks
    from rclicks_app.tabs.compare import clickability_view, real_first_clicks

    s = load_dataset("grabcut")[0]
    h, w = s.mask.shape
    table = pd.DataFrame([  # one click shown at half size (rescaled ×2), one of another image (ignored)
        {"dataset": "GrabCut", "full_stem": "a", "image_stem": s.name, "object_stem": "", "click_type": "first",
         "model_type": "", "device": "pc", "x": 100, "y": 80, "w": w // 2, "h": h // 2},
        {"dataset": "grabcut", "full_stem": "b", "image_stem": "other", "object_stem": "", "click_type": "first",
         "model_type": "", "device": "pc", "x": 1, "y": 1, "w": w, "h": h},
    ])
    write_clicks(table, tmp_path / "real")
    monkeypatch.setenv("RCLICKS_REAL_CLICKS", str(tmp_path / "real"))
    monkeypatch.setenv("RCLICKS_CLICKS_STORE", str(tmp_path / "absent"))
    xs, ys = real_first_clicks(s)
    assert xs.tolist() == [100 * w // (w // 2)] and ys.tolist() == [80 * h // (h // 2)]
    view, caption = clickability_view(s)
    assert view.shape[0] == s.image.shape[0] and view.shape[1] > s.image.shape[1]  # the colour bar sits on the right
    assert "1 recorded real first click" in caption and "scribbles" in caption


def test_device_type_from_the_user_agent():
    from rclicks_app.tabs.click_yourself import device_type

    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
    desktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/140.0 Safari/537.36"
    assert device_type(iphone) == "mobile" and device_type(desktop) == "pc" and device_type("") == "pc"


def test_leaderboard_filters_and_details():
    import pandas as pd

    from rclicks_app.tabs.leaderboard_tab import details, filtered

    table = pd.DataFrame({
        "model": ["minisam", "grabcut", "random_walker"], "family": ["sam", "classical", "classical"],
        "policy": ["single"] * 3, "s/click": [0.1, 0.2, 0.3], "Avg NoC@90": [2.0, 4.0, 5.0],
        "davis NoC@90": [2.0, 5.0, 5.0], "davis ΔGR": [0.1, 0.0, 0.0], "grabcut NoC@90": [2.0, 3.0, 5.0], "grabcut ΔGR": [0.2, 0.1, 0.0],
    })
    t = filtered(table, "WALK", [], ["davis", "grabcut"], ["NoC@90"])
    assert t["model"].tolist() == ["random_walker"]
    assert t.columns.tolist() == ["model", "family", "policy", "s/click", "Avg NoC@90", "davis NoC@90", "grabcut NoC@90"]
    t = filtered(table, "", ["classical"], ["grabcut"], ["ΔGR"])
    assert t["model"].tolist() == ["grabcut", "random_walker"] and t.columns[-1] == "grabcut ΔGR" and "davis ΔGR" not in t
    d = details(table, "grabcut")
    assert d["grabcut NoC@90"] == 3.0 and d["weights"] == "none (weight-free)" and d["description"]
    assert "submitted" in details(table, "someone/new-model")["description"]


def test_model_choices_offer_offline_models_first_and_only_usable_others():
    from rclicks import registry

    names = pool.model_choices()
    assert names[:3] == ["minisam", "grabcut", "random_walker"]
    for n in names:
        entry, variant = registry.model_entry(n)
        assert registry.packages_installed(entry) and not entry.given
        if entry.checkpoints:
            assert registry.checkpoint_path(entry, variant) is not None
        else:
            assert registry.weights_cached(entry)


def test_cached_sam_checkpoints_are_offered_per_variant(tmp_path, monkeypatch):
    """Regression: the app never offered a SAM checkpoint even when it was cached (it looked for the file names
    among the npm/pip weight packages). A real file under the cache's ``checkpoints/`` is offered as its variant,
    and a variant is only ever paired with its own family (no ``sam:hiera_t``)."""
    from safetensors.numpy import save_file

    from rclicks import registry

    monkeypatch.setenv("RCLICKS_CACHE", str(tmp_path))
    monkeypatch.setattr(registry, "packages_installed", lambda entry: True)  # the weights lookup is under test
    (tmp_path / "checkpoints").mkdir()
    assert not any(":" in n for n in pool.model_choices())  # nothing cached: no checkpoint family offered
    for name in ("sam_vit_b_01ec64.pth", "sam2_hiera_tiny.pt"):  # the files' real names, tiny stand-in content
        save_file({"w": np.zeros(2, np.float32)}, str(tmp_path / "checkpoints" / name))
    names = pool.model_choices()
    assert "sam:vit_b" in names and "sam2:hiera_t" in names
    assert "sam:vit_l" not in names and "sam:hiera_t" not in names and "sam2.1:hiera_t" not in names
    for n in names:
        family, _, variant = n.partition(":")
        assert not variant or variant in registry.MODELS[family].variants, n


def test_robustness_attacks_bracket_the_baseline(minisam_dir):
    from rclicks.registry import build_clicker
    from rclicks.runner import run_trajectory
    from rclicks.metrics.curves import iou_auc
    from rclicks_app.tabs.robustness import attacked

    s = load_dataset("grabcut")[0]
    m = MiniSAM(minisam_dir)
    curves = attacked(m, s, 2)
    base = run_trajectory(m, s, build_clicker("baseline"), max_clicks=2, rng=np.random.default_rng(0)).ious
    assert list(curves) == ["IoU-min attack", "IoU-max attack"] and all(len(v) == 2 for v in curves.values())
    assert iou_auc(curves["IoU-min attack"], 2) <= iou_auc(base, 2) + 1e-12 <= iou_auc(curves["IoU-max attack"], 2) + 2e-12


def test_leaderboard_html_groups_headers_and_keeps_shipped_rows(tmp_path, monkeypatch):
    import numpy as np

    from rclicks_leaderboard.store import ResultsStore, ShardKey
    from tests.leaderboard.conftest import random_table
    from rclicks_app import lb_render
    from rclicks_app.tabs.leaderboard_tab import load_table

    local = ResultsStore(str(tmp_path / "local"))
    df = random_table(np.random.default_rng(1), models=("someone/new",), clickers=("baseline",))
    for d, part in df.groupby("dataset"):
        local.write_shard(ShardKey("someone/new", d, "baseline"), part)
    monkeypatch.setenv("RCLICKS_RESULTS_URL", local.url)
    table, messages = load_table()
    assert "local store" in messages[0] and "shipped" in messages[0]
    assert set(table.loc[table["source"] == "shipped", "model"]) == {"grabcut", "minisam", "minisam+disagreement", "random_walker"}
    assert table["rank"].tolist() == list(range(1, len(table) + 1))
    page = lb_render.table_html(table)
    assert "colspan=" in page and "<th colspan='" in page and "IoU@1 (%)" in page and "↓" in page and "↑" in page
    assert "#lb-definitions" in page and "white-space:nowrap" in lb_render.CSS
    iou = table.loc[table["model"] == "minisam", "grabcut IoU@1"].iloc[0]
    assert f"<td>{100 * iou:.1f}</td>" in page  # printed in percent, as the papers do
    assert lb_render._fmt(float("nan"), "Size (MB)") == "—" and lb_render._fmt(61.09, "Size (MB)") == "61"
