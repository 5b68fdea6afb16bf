"""Train the small `learned` clickability CNN on generated clicks over real GrabCut images; checkpoint round-trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")

from rclicks.clickmaps.distance import distance_map  # noqa: E402
from rclicks.clickmaps.learned import LearnedClickMap, network_inputs  # noqa: E402
from rclicks.clickmaps.train import click_density, export_onnx, train  # noqa: E402
from rclicks.clicks import validate_clicks  # noqa: E402
from rclicks.errors import RClicksError  # noqa: E402
from rclicks.metrics.clickmap_metrics import sample_clicks  # noqa: E402


@pytest.fixture(scope="module")
def samples():
    from rclicks.data import load_dataset

    ds = load_dataset("grabcut")
    return [ds[i] for i in range(3)]


@pytest.fixture(scope="module")
def table(samples):
    """Clicks generated from the squared distance map (seeded), in the RClicks schema, plus fn rows to skip."""
    rng = np.random.default_rng(0)
    rows = []
    for s in samples:
        xs, ys = sample_clicks(distance_map(s.mask) ** 2, 15, rng)
        h, w = s.mask.shape
        for x, y in zip(xs, ys):
            rows.append(dict(dataset="GrabCut", full_stem=s.name, image_stem=s.name, object_stem="", click_type="first",
                             model_type="", device="pc", x=int(x), y=int(y), w=w, h=h))
        rows.append(dict(rows[-1], click_type="fn", model_type="sam"))
    return validate_clicks(pd.DataFrame(rows))


def test_click_density_sums_to_one_and_peaks_at_clicks():
    region = np.zeros((64, 64), bool)
    region[8:56, 8:56] = True
    d = click_density(np.array([32]), np.array([20]), region)
    assert d.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.unravel_index(d.argmax(), d.shape) == (20, 32)


def test_training_reduces_loss_and_checkpoints_round_trip(tmp_path, samples, table):
    ckpt = tmp_path / "cm.safetensors"
    res = train(table, samples, steps=25, size=48, width=8, batch=3, lr=3e-3, seed=0, out=ckpt)
    assert res.items == 3 and res.skipped_rows == 3
    assert np.mean(res.losses[-5:]) < np.mean(res.losses[:5]) - 0.05
    s = samples[0]
    x, m = network_inputs(s.image, s.mask, s.mask, 48)
    with torch.no_grad():
        direct = res.net(torch.from_numpy(x), torch.from_numpy(m)).numpy()[0, 0]
    loaded = LearnedClickMap(ckpt)
    np.testing.assert_allclose(loaded.logits(s.image, s.mask, s.mask), direct, atol=1e-5)
    cmap = loaded.click_map(s.image, s.mask, s.mask)
    assert cmap.shape == s.mask.shape and (cmap[~s.mask] == 0).all() and cmap.max() <= 1.0 + 1e-6
    onnx_path = export_onnx(res.net, tmp_path / "cm.onnx", 48)
    np.testing.assert_allclose(LearnedClickMap(onnx_path).click_map(s.image, s.mask, s.mask), cmap, atol=1e-4)
    # the same seed gives the same training run
    again = train(table, samples, steps=3, size=48, width=8, batch=3, seed=0)
    first = train(table, samples, steps=3, size=48, width=8, batch=3, seed=0)
    assert again.losses == first.losses


def test_bad_checkpoints_raise(tmp_path, samples):
    s = samples[0]
    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(RClicksError, match="x.safetensors"):
        LearnedClickMap(bad).click_map(s.image, s.mask, s.mask)
    with pytest.raises(RClicksError, match="not found"):
        LearnedClickMap(tmp_path / "missing.onnx")
    other = tmp_path / "x.pt"
    other.write_bytes(b"")
    with pytest.raises(RClicksError, match="unsupported"):
        LearnedClickMap(other).click_map(s.image, s.mask, s.mask)
