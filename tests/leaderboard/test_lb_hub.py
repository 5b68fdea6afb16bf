"""The results store as a Hugging Face dataset: card, ``datasets.load_dataset`` equality, migration, ``push`` (no network)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rclicks_leaderboard import hub
from rclicks_leaderboard.store import ResultsStore, ShardKey
from rclicks.errors import RClicksError
from rclicks.results import OPTIONAL, SCHEMA, write_results

REPO = Path(__file__).resolve().parents[2]
ORDER = ["model", "dataset", "clicker", "policy", "instance", "click"]


def _hub_load(path, tmp_path, monkeypatch) -> pd.DataFrame:
    """``datasets.load_dataset(path)`` offline, as pandas with the results dtypes."""
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dd = datasets.load_dataset(str(path), cache_dir=str(tmp_path / "hf-cache"))
    assert list(dd) == [hub.SPLIT]  # the split the card names
    df = dd[hub.SPLIT].to_pandas()
    return df.astype({**SCHEMA, **{c: t for c, t in OPTIONAL.items() if c in df.columns}})


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a.sort_values(ORDER, ignore_index=True), b.sort_values(ORDER, ignore_index=True),
                                  check_exact=True)


def test_load_dataset_returns_exactly_the_stores_rows(tmp_path, monkeypatch, make_table):
    store = ResultsStore(str(tmp_path / "store"))
    rng = np.random.default_rng(3)
    for m in ("m0", "m1"):
        groups = make_table(rng, models=(m,), datasets=("grabcut",), clickers=("baseline", "g1"), instances=2, clicks=3)
        store.write_shard(ShardKey(m, "grabcut", "groups", "i00000-00002"), groups)
        attack = make_table(rng, models=(m,), datasets=("grabcut",), clickers=("adv_min", "adv_max"), instances=2, clicks=3)
        attack["attack"], attack["search_s"], attack["best_iou"] = "blackbox", 0.5, attack["iou"]
        store.write_shard(ShardKey(m, "grabcut", "attacks"), attack)  # other optional columns than the groups shard
    card = (tmp_path / "store" / "README.md").read_text()
    assert "configs:" in card and f"split: {hub.SPLIT}" in card and "license: mit" in card and "search_s" in card
    ref, errors = store.load()
    assert errors == [] and len(ref) == 2 * (2 * 2 * 3) * 2
    _same_rows(_hub_load(tmp_path / "store", tmp_path, monkeypatch), ref)


def test_shipped_store_is_a_hub_dataset(tmp_path, monkeypatch):
    shipped = REPO / "assets" / "results"
    assert hub.old_layout_files(str(shipped)) == [] and (shipped / "README.md").is_file()
    ref, errors = ResultsStore(str(shipped)).load()
    assert errors == [] and len(ref)
    _same_rows(_hub_load(shipped, tmp_path, monkeypatch), ref)


def test_old_layout_is_read_refused_for_writes_and_migrated_without_recomputing(tmp_path, make_table):
    from rclicks_leaderboard.scan import scan_store

    root = tmp_path / "old"
    rng = np.random.default_rng(5)
    for m in ("m0", "m1"):
        df = make_table(rng, models=(m,), datasets=("davis",), clickers=("baseline",), instances=2, clicks=3)
        write_results(df, root / m / "davis__baseline.parquet", {"request_id": f"r-{m}", "model": m})
    store = ResultsStore(str(root))
    before, errors = store.load()
    assert errors == [] and len(before) == 12
    assert scan_store(str(root)).per.shape[0] == 4  # readers work on the old layout as it is
    with pytest.raises(RClicksError, match="rclicks leaderboard migrate --results"):
        store.write_shard(ShardKey("m2", "davis", "baseline"), before[before.model == "m0"].assign(model="m2"))
    from rclicks.cli import main

    assert main(["leaderboard", "migrate", "--results", str(root)]) == 0
    assert hub.old_layout_files(str(root)) == []
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.parquet")) == [
        "data/m0/davis__baseline.parquet", "data/m1/davis__baseline.parquet"]
    after, errors = ResultsStore(str(root)).load()
    assert errors == []
    pd.testing.assert_frame_equal(after[list(before.columns)], before, check_exact=True)
    assert ResultsStore(str(root)).shard_metadata(ShardKey("m0", "davis", "baseline"))["request_id"] == "r-m0"
    ResultsStore(str(root)).write_shard(ShardKey("m2", "davis", "baseline"), before[before.model == "m0"].assign(model="m2"))


def test_push_arguments_and_missing_token_without_network(tmp_path, monkeypatch, capsys):
    from rclicks.cli import main

    store = tmp_path / "store"
    shutil.copytree(REPO / "assets" / "results", store)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert main(["leaderboard", "push", "--results", str(store), "--to", "hf://datasets/someone/rclicks-results"]) == 1
    assert "HF_TOKEN is not set" in capsys.readouterr().err
    for bad in ("hf://models/someone/x", "someone/x", "hf://datasets/someone", "s3://bucket/x"):
        assert main(["leaderboard", "push", "--results", str(store), "--to", bad]) == 1
        assert "expected hf://datasets/OWNER/NAME" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["leaderboard", "push", "--results", str(store)])  # --to is required

    calls = []

    class FakeApi:  # stands in for huggingface_hub.HfApi: the push goes through the library's calls
        def __init__(self, token=None):
            calls.append(("init", token))

        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, **kw):
            calls.append(("upload_folder", kw))
            return type("Info", (), {"oid": "abc123"})()

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    assert main(["leaderboard", "push", "--results", str(store), "--to", "hf://datasets/someone/rclicks-results"]) == 0
    assert calls[0] == ("init", "hf_test")
    assert calls[1][:2] == ("create_repo", "someone/rclicks-results") and calls[1][2]["repo_type"] == "dataset"
    up = calls[2][1]
    assert up["repo_id"] == "someone/rclicks-results" and up["repo_type"] == "dataset" and up["folder_path"] == str(store)
    assert up["allow_patterns"] == ["README.md", "data/**/*.parquet"] and up["delete_patterns"] == ["data/**"]
    assert "abc123" in capsys.readouterr().out
