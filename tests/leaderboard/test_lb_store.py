"""Results store: atomic idempotent shards, metadata, corrupt files skipped, datasets loading."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rclicks_leaderboard._fs import safe_segment
from rclicks_leaderboard.store import ShardKey
from rclicks.errors import RClicksError


def test_write_read_replace_no_duplicates(stores, make_table):
    results, _, _ = stores
    df = make_table(np.random.default_rng(0), models=("m0",), datasets=("grabcut",), clickers=("baseline",))
    key = ShardKey("m0", "grabcut", "baseline")
    results.write_shard(key, df, {"request_id": "r1"})
    results.write_shard(key, df, {"request_id": "r1"})  # re-running a shard replaces it
    assert len(results.files()) == 1
    back, errors = results.load()
    assert errors == []
    assert len(back) == len(df) == 3 * 6
    pd.testing.assert_frame_equal(back[list(df.columns)].reset_index(drop=True), df.reset_index(drop=True), check_dtype=False)
    from rclicks.results import OPTIONAL

    assert list(back.columns) == list(df.columns) + list(OPTIONAL)  # every file has every column (the card's features)
    assert back[list(OPTIONAL)].isna().all().all()
    meta = results.shard_metadata(key)
    assert meta["request_id"] == "r1" and meta["shard"] == "m0/grabcut/baseline"
    assert {"versions", "hardware", "created"} <= set(meta)
    assert meta["versions"]["pandas"] == pd.__version__
    # no temp files left behind
    root = Path(results.url)
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == ["README.md", "data/m0/grabcut__baseline.parquet"]


def test_rows_of_another_model_rejected(stores, make_table):
    results, _, _ = stores
    df = make_table(np.random.default_rng(0), models=("m1",), datasets=("grabcut",), clickers=("baseline",))
    with pytest.raises(RClicksError, match="other models"):
        results.write_shard(ShardKey("m0", "grabcut", "baseline"), df)
    assert results.files() == []


def test_corrupt_parquet_is_reported_and_skipped(stores, tmp_path, make_table):
    results, _, _ = stores
    rng = np.random.default_rng(1)
    for m in ("m0", "m1"):
        df = make_table(rng, models=(m,), datasets=("davis",), clickers=("baseline",))
        results.write_shard(ShardKey(m, "davis", "baseline"), df)
    bad = tmp_path / "results" / "data" / "m2" / "davis__baseline.parquet"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"PAR1 this is not a parquet file")
    df, errors = results.load()
    assert len(errors) == 1 and "m2/davis__baseline.parquet" in errors[0]
    assert sorted(df["model"].unique()) == ["m0", "m1"] and len(df) == 2 * 3 * 6
    assert results.shard_metadata(ShardKey("m2", "davis", "baseline")) is None
    assert len(results.metadata_table()) == 2


def test_loadable_with_datasets(stores, make_table):
    datasets = pytest.importorskip("datasets")
    results, _, _ = stores
    df = make_table(np.random.default_rng(2), models=("m0",), datasets=("grabcut", "davis"), clickers=("baseline", "g1"))
    for d in ("grabcut", "davis"):
        for c in ("baseline", "g1"):
            part = df[(df["dataset"] == d) & (df["clicker"] == c)]
            results.write_shard(ShardKey("m0", d, c), part)
    ds = datasets.load_dataset("parquet", data_files=results.files(), split="train")
    assert ds.num_rows == len(df)
    assert set(ds.column_names) >= {"model", "dataset", "clicker", "click", "iou"}
    assert np.isclose(sum(ds["iou"]), df["iou"].sum())


def test_safe_segment_is_injective_and_never_traverses():
    names = ["sam:vit_b", "sam-vit_b", "../etc", "..", ".", "a/b", "a~2fb", "ünï", "x y"]
    enc = [safe_segment(n) for n in names]
    assert len(set(enc)) == len(names)
    for e in enc:
        assert "/" not in e and e not in (".", "..") and not e.startswith(".")
        assert all(ch.isascii() and (ch.isalnum() or ch in "-_.~") for ch in e)
    assert safe_segment("sam:vit_b") == "sam~3avit_b"
    with pytest.raises(RClicksError):
        safe_segment("")


def test_non_local_fsspec_store(make_table):
    """The remote code path (no rename: single uploads) on fsspec's in-memory filesystem."""
    from rclicks_leaderboard.requests import Request, RequestsStore
    from rclicks_leaderboard.store import ResultsStore

    results = ResultsStore("memory://lbtest/results")
    df = make_table(np.random.default_rng(9), models=("m0",), datasets=("davis",), clickers=("baseline",))
    key = ShardKey("sam:vit_b", "davis", "baseline")
    df["model"] = "sam:vit_b"
    results.write_shard(key, df)
    results.write_shard(key, df)
    files = results.files()
    assert len(files) == 1 and files[0].startswith("memory://")
    assert files[0].endswith("lbtest/results/data/sam~3avit_b/davis__baseline.parquet")
    back, errors = results.load()
    assert errors == [] and len(back) == len(df)
    assert results.shard_metadata(key)["model"] == "sam:vit_b"
    requests = RequestsStore("memory://lbtest/requests")
    requests.save(Request(id="a__b__c", model="b", kind="onnx", weights_sha256="0", submitter="a", license="mit"))
    assert [r.id for r in requests.all()] == ["a__b__c"]
