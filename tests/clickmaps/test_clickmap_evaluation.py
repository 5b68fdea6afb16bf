"""Click maps scored against real human scribbles (GrabCut) and against a clicks table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from rclicks.clickmaps.distance import distance_map
from rclicks.clickmaps.evaluation import evaluate_on_clicks, evaluate_on_scribbles, scribble_points, summary
from rclicks.clicks import validate_clicks
from rclicks.settings import data_root
from rclicks.errors import RClicksError


@pytest.fixture(scope="module")
def samples():
    from rclicks.data import load_dataset

    ds = load_dataset("grabcut")
    return [ds[i] for i in range(2)]


def test_scribble_nss_pde_match_direct_computation(samples):
    sets = [data_root() / "GrabCut" / "scribbles-set-1", data_root() / "GrabCut" / "scribbles-set-2"]
    per = evaluate_on_scribbles(["uniform", "distance"], samples, sets)
    assert len(per) == 2 * 2 * 2
    s = samples[0]
    a = np.asarray(Image.open(sets[0] / f"{s.name}-anno.png"))
    ys, xs = np.nonzero(a == 1)
    region = s.mask & s.valid
    p = distance_map(region).astype(np.float64)
    p /= p.sum()
    z = (p - p.mean()) / (p.std() + 1e-9)
    row = per[(per.model == "distance") & (per.set == "scribbles-set-1") & (per.instance == s.instance)].iloc[0]
    assert row["points"] == xs.size
    assert row["nss"] == pytest.approx(z[ys, xs].mean())
    assert row["pde"] == pytest.approx(p[ys, xs].mean())
    tot = summary(per)
    assert set(tot["model"]) == {"uniform", "distance"} and (tot["instances"] == 4).all()


def test_scribble_points_and_errors(tmp_path):
    a = np.zeros((4, 5), np.uint8)
    a[1, 2] = 1
    a[3, 4] = 2
    im = Image.fromarray(a, mode="P")
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 0, 255] + [0] * 759)
    im.save(tmp_path / "s.png")
    xs, ys = scribble_points(tmp_path / "s.png")
    assert xs.tolist() == [2] and ys.tolist() == [1]
    Image.fromarray(a).save(tmp_path / "grey.png")
    with pytest.raises(RClicksError, match="palette"):
        scribble_points(tmp_path / "grey.png")
    with pytest.raises(RClicksError, match="not found"):
        scribble_points(tmp_path / "none.png")


def test_evaluate_on_clicks_table(samples):
    rng = np.random.default_rng(0)
    rows = []
    for s in samples:
        h, w = s.mask.shape
        ys, xs = np.nonzero(s.mask)
        pick = rng.choice(xs.size, 12, replace=False)
        # recorded on a display twice the size: rescaled back to the image by floor(x·W/w)
        for x, y in zip(xs[pick], ys[pick]):
            rows.append(dict(dataset="GrabCut", full_stem=s.name, image_stem=s.name, object_stem="", click_type="first",
                             model_type="", device="pc", x=int(2 * x), y=int(2 * y), w=2 * w, h=2 * h))
    table = validate_clicks(pd.DataFrame(rows))
    per = evaluate_on_clicks(["uniform", "distance"], samples, table, seed=1, draws=20)
    assert len(per) == 4 and (per["clicks"] == 12).all()
    again = evaluate_on_clicks(["uniform", "distance"], samples, table, seed=1, draws=20)
    pd.testing.assert_frame_equal(per, again)
    u = per[per.model == "uniform"].iloc[0]
    s = samples[0]
    region = s.mask & s.valid
    assert u["pde"] == pytest.approx(1 / region.sum())  # every click inside the object: p = 1/|region|
    assert 0 <= u["ks"] <= 1 and u["pl1"] > 0 and u["wd"] > 0
