"""`rclicks clickmaps ...` and `rclicks clicks ...` through the real CLI entry point."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.cli import main
from rclicks.clickmaps.distance import distance_map
from rclicks.clicks import validate_clicks
from rclicks.metrics.clickmap_metrics import sample_clicks


@pytest.fixture(scope="module")
def clicks_csv(tmp_path_factory):
    from rclicks.data import load_dataset

    ds = load_dataset("grabcut")
    rng = np.random.default_rng(0)
    rows = []
    for s in (ds[0], ds[1]):
        xs, ys = sample_clicks(distance_map(s.mask), 10, rng)
        for x, y in zip(xs, ys):
            rows.append(dict(dataset="GrabCut", full_stem=s.name, image_stem=s.name, object_stem="", click_type="first",
                             model_type="", device="pc", x=int(x), y=int(y), w=s.mask.shape[1], h=s.mask.shape[0]))
    path = tmp_path_factory.mktemp("clicks") / "clicks.csv"
    validate_clicks(pd.DataFrame(rows)).to_csv(path, index=False)
    return path


def test_list(capsys):
    assert main(["clickmaps", "list"]) == 0
    out = capsys.readouterr().out
    assert "distance" in out and "saliency" in out and "learned" in out


def test_evaluate_scribbles_and_clicks(tmp_path, capsys, clicks_csv):
    out_csv = tmp_path / "scores.csv"
    rc = main(["clickmaps", "evaluate", "--scribbles", "--clicks", str(clicks_csv), "--models", "uniform,distance+blur",
               "--limit", "2", "--draws", "10", "--out", str(out_csv)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "scribbles-set-1" in text and "distance+blur" in text and "pl1" in text
    per = pd.read_csv(out_csv)
    assert set(per["reference"]) == {"clicks", "scribbles"}
    assert len(per[per.reference == "clicks"]) == 4 and len(per[per.reference == "scribbles"]) == 8


def test_evaluate_needs_a_reference(capsys):
    assert main(["clickmaps", "evaluate"]) == 1
    assert "--clicks" in capsys.readouterr().err


def test_bad_clicks_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "c.csv"
    bad.write_text("dataset,x\nGrabCut,1\n")
    assert main(["clickmaps", "evaluate", "--clicks", str(bad)]) == 1
    assert "missing column" in capsys.readouterr().err


def test_train_then_evaluate_learned(tmp_path, capsys, clicks_csv):
    pytest.importorskip("torch")
    ckpt = tmp_path / "cm.safetensors"
    assert main(["clickmaps", "train", "--clicks", str(clicks_csv), "--out", str(ckpt), "--steps", "4", "--size", "32",
                 "--width", "4", "--onnx", str(tmp_path / "cm.onnx")]) == 0
    assert ckpt.is_file() and (tmp_path / "cm.onnx").is_file()
    capsys.readouterr()
    assert main(["clickmaps", "evaluate", "--clicks", str(clicks_csv), "--models", "learned", "--learned",
                 str(tmp_path / "cm.onnx"), "--limit", "2", "--draws", "5"]) == 0
    assert "learned" in capsys.readouterr().out


def test_clicks_validate_and_replay(tmp_path, capsys, clicks_csv):
    assert main(["clicks", "validate", str(clicks_csv)]) == 0
    assert "20 clicks" in capsys.readouterr().out
    out = tmp_path / "replay.csv"
    assert main(["clicks", "replay", str(clicks_csv), "--model", "random_walker", "--model-arg", "max_side=64", "--limit", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "User IoU@1" in text and "NSR" in text
    rows = pd.read_csv(out)
    assert len(rows) == 20 and rows["iou"].between(0, 1).all()
