"""Real-clicks table I/O, validation, rescaling, and replay of first clicks through a real model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks.clicks import (
    clicks_for_sample,
    read_clicks,
    replay,
    rescale,
    validate_clicks,
    write_clicks,
)
from rclicks.errors import RClicksError
from rclicks.metrics.benchmark import replay_summary
from rclicks.types import Click, Sample
from tests.clicks_helpers import object_clicks


def _rows(n: int = 3, **over) -> pd.DataFrame:
    base = dict(dataset="GrabCut", full_stem="a_ritm", image_stem="a", object_stem="", click_type="first",
                model_type="", device="pc", x=10, y=20, w=100, h=50)
    return pd.DataFrame([{**base, "x": 10 + i, **over} for i in range(n)])


def test_rescale_by_hand():
    # recorded on 200×100, image 100×50: floor(x·100/200)
    xs, ys = rescale([0, 1, 199, 250], [0, 3, 99, -5], 200, 100, 100, 50)
    assert xs.tolist() == [0, 0, 99, 99]  # 250 is first clipped to 199
    assert ys.tolist() == [0, 1, 49, 0]
    # same size: unchanged
    xs, ys = rescale([5], [7], 100, 50, 100, 50)
    assert (xs.tolist(), ys.tolist()) == ([5], [7])
    # upscaling 50×25 → 100×50
    xs, ys = rescale([3], [4], 50, 25, 100, 50)
    assert (xs.tolist(), ys.tolist()) == ([6], [8])


def test_csv_parquet_and_folder_round_trip(tmp_path):
    df = pd.concat([_rows(2), _rows(1, object_stem="3", click_type="fn", model_type="sam", device="mobile")], ignore_index=True)
    df.to_csv(tmp_path / "c.csv", index=False)
    a = read_clicks(tmp_path / "c.csv")
    assert a["object_stem"].tolist() == ["", "", "3"] and a["x"].dtype == "int64"
    validate_clicks(df).to_parquet(tmp_path / "c.parquet")
    pd.testing.assert_frame_equal(read_clicks(tmp_path / "c.parquet"), a)
    store = tmp_path / "store"
    p1 = write_clicks(df.iloc[:2], store)
    p2 = write_clicks(df.iloc[2:], store)
    assert p1 != p2 and not list(store.glob("*.tmp")) and not list(store.glob(".*"))
    both = read_clicks(store).sort_values("x", kind="stable").reset_index(drop=True)
    assert len(both) == 3 and sorted(both["device"]) == ["mobile", "pc", "pc"]


def test_validation_errors_name_the_problem(tmp_path):
    with pytest.raises(RClicksError, match="missing column"):
        validate_clicks(_rows().drop(columns=["w"]))
    with pytest.raises(RClicksError, match="click_type"):
        validate_clicks(_rows(click_type="second"))
    with pytest.raises(RClicksError, match="device"):
        validate_clicks(_rows(device="tablet"))
    with pytest.raises(RClicksError, match="positive"):
        validate_clicks(_rows(w=0))
    with pytest.raises(RClicksError, match="integers"):
        validate_clicks(_rows(x="left"))
    with pytest.raises(RClicksError, match="not found"):
        read_clicks(tmp_path / "none.csv")
    (tmp_path / "bad.parquet").write_bytes(b"nope")
    with pytest.raises(RClicksError, match="bad.parquet"):
        read_clicks(tmp_path / "bad.parquet")
    with pytest.raises(RClicksError):
        write_clicks(_rows(device="tablet"), tmp_path / "s")
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


def test_clicks_for_sample_matches_dataset_stem_object_and_rescales():
    mask = np.zeros((50, 100), bool)
    s0 = Sample(np.zeros((50, 100, 3), np.uint8), mask, name="a", dataset="grabcut")
    s3 = Sample(np.zeros((50, 100, 3), np.uint8), mask, name="a", dataset="grabcut", instance_id=3)
    table = validate_clicks(pd.concat([
        _rows(2, w=200, h=100),
        _rows(1, object_stem="3", x=40, y=40, w=200, h=100),
        _rows(1, click_type="fn"),
        _rows(1, dataset="DAVIS"),
    ], ignore_index=True))
    xs, ys = clicks_for_sample(table, s0)
    assert xs.tolist() == [5, 5] and ys.tolist() == [10, 10]  # floor(10·100/200), floor(11·100/200), floor(20·50/100)
    xs, ys = clicks_for_sample(table, s3)
    assert (xs.tolist(), ys.tolist()) == ([20], [20])


def test_replay_with_a_real_model():
    from rclicks.data import load_dataset
    from rclicks.metrics.mask import iou
    from rclicks.registry import build_model

    ds = load_dataset("grabcut")
    samples = [ds[0], ds[1]]
    table = validate_clicks(object_clicks(samples, 2, seed=0))
    model = build_model("random_walker", max_side=96)  # deterministic, weight-free
    out = replay(model, samples, table, model_name="random_walker")
    assert len(out) == 4
    r = out.iloc[0]
    model.set_image(samples[0].image)
    direct = iou(samples[0].mask, model.predict([Click(int(r.x), int(r.y), True)]).mask, samples[0].valid)
    assert r.iou == pytest.approx(direct)
    inst, per_ds = replay_summary(out)
    a = out[out.instance == samples[0].instance]["iou"].to_numpy()
    row = inst[inst.instance == samples[0].instance].iloc[0]
    assert row["mean"] == pytest.approx(a.mean()) and row["std"] == pytest.approx(a.std())
    assert row["nsr"] == pytest.approx(a.std() / a.mean())
    assert per_ds["NSR"].iloc[0] == pytest.approx(inst["nsr"].mean())
    assert per_ds["clicks"].iloc[0] == 4


def test_replay_summary_by_hand():
    rows = pd.DataFrame({"model": "m", "dataset": "d", "instance": ["a", "a", "b", "b"], "iou": [0.5, 0.7, 0.8, 0.8],
                         "x": 0, "y": 0, "biou": 0.0})
    inst, ds = replay_summary(rows)
    a = inst.set_index("instance")
    assert a.loc["a", "mean"] == pytest.approx(0.6) and a.loc["a", "std"] == pytest.approx(0.1)
    assert a.loc["a", "nsr"] == pytest.approx(0.1 / 0.6) and a.loc["b", "nsr"] == 0
    assert ds["User IoU@1"].iloc[0] == pytest.approx(0.7)
    assert ds["NSR"].iloc[0] == pytest.approx((0.1 / 0.6) / 2)


def test_sampled_first_clicks_match_the_real_count_and_follow_the_map():
    """NUser@1's clicks: as many draws per instance as real users, inside the object, distributed like the map."""
    from rclicks.registry import build_clickmap
    from rclicks.clicks import sampled_first_clicks
    from rclicks.data import load_dataset

    ds = load_dataset("grabcut")
    samples = [ds[0], ds[1]]
    rows = []
    for s, n in zip(samples, (3, 400)):
        rows += [dict(dataset="GrabCut", full_stem=f"{s.name}-{k}", image_stem=s.name, object_stem="", click_type="first",
                      model_type="", device="pc", x=1, y=1, w=10, h=10) for k in range(n)]
    table = validate_clicks(pd.DataFrame(rows))
    drawn = sampled_first_clicks(table, samples, "distance", seed=3)
    again = sampled_first_clicks(table, samples, "distance", seed=3)
    pd.testing.assert_frame_equal(drawn, again)
    assert drawn.groupby("image_stem").size().to_dict() == {samples[0].name: 3, samples[1].name: 400}
    s = samples[1]
    d = drawn[drawn.image_stem == s.name]
    assert (d["w"] == s.mask.shape[1]).all() and s.mask[d["y"], d["x"]].all()
    # the distance map puts most mass deep inside the object: the draws' mean map value beats a uniform draw's
    m = build_clickmap("distance", cache_size=0).click_map(s.image, s.mask, s.mask & s.valid)
    assert m[d["y"], d["x"]].mean() > m[s.mask & s.valid].mean()
