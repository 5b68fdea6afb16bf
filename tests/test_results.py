"""Results table I/O: round trip with metadata, validation, atomicity, corrupt files."""

from __future__ import annotations

import pandas as pd
import pytest

from rclicks.errors import RClicksError
from rclicks.results import SCHEMA, read_results, read_results_dir, run_metadata, write_results


def _df(n=3):
    return pd.DataFrame({
        "dataset": ["d"] * n, "instance": ["i"] * n, "model": ["m"] * n, "clicker": ["baseline"] * n, "seed": [0] * n,
        "click": list(range(1, n + 1)), "x": [1] * n, "y": [2] * n, "positive": [True] * n, "iou": [0.5] * n,
        "biou": [0.25] * n, "time_s": [0.01] * n, "policy": ["single"] * n, "model_sha256": ["abc"] * n,
        "dataset_fingerprint": ["f"] * n,
    })


def test_round_trip_with_metadata(tmp_path):
    url = tmp_path / "sub" / "r.parquet"
    write_results(_df(), url, run_metadata(seed=5))
    back = read_results(url)
    assert list(back.columns) == list(SCHEMA) and len(back) == 3 and back["iou"].iloc[0] == 0.5
    assert back.attrs["rclicks"]["seed"] == 5 and "python" in back.attrs["rclicks"]["versions"]
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["r.parquet"]  # no temp file left


def test_invalid_table_writes_nothing(tmp_path):
    bad = _df().drop(columns="iou")
    with pytest.raises(RClicksError, match="missing column"):
        write_results(bad, tmp_path / "r.parquet")
    bad = _df()
    bad.loc[0, "iou"] = 1.5
    with pytest.raises(RClicksError, match="outside"):
        write_results(bad, tmp_path / "r.parquet")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_file_reported_and_skipped(tmp_path):
    write_results(_df(), tmp_path / "good.parquet")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 garbage")
    with pytest.raises(RClicksError, match="bad.parquet"):
        read_results(tmp_path / "bad.parquet")
    df, errors = read_results_dir(tmp_path)
    assert len(df) == 3 and len(errors) == 1 and "bad.parquet" in errors[0]


def test_fsspec_memory_url():
    write_results(_df(2), "memory://bucket/r.parquet")
    assert len(read_results("memory://bucket/r.parquet")) == 2
