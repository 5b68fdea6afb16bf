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
        "dataset_fingerprint": ["f"] * n, "max_clicks": [n] * n, "target_iou": [float("nan")] * n, "protocol": ["baseline"] * n,
        "clickmap": [""] * n, "group": [0] * n, "tp": [50] * n, "fp": [25] * n, "fn": [25] * n, "tn": [900] * n,
    })


def test_round_trip_with_metadata(tmp_path):
    url = tmp_path / "sub" / "r.parquet"
    write_results(_df(), url, run_metadata(seed=5))
    back = read_results(url)
    assert list(back.columns) == list(SCHEMA) and len(back) == 3 and back["iou"].iloc[0] == 0.5
    assert back.attrs["rclicks"]["seed"] == 5 and "python" in back.attrs["rclicks"]["versions"]
    assert back.attrs["rclicks"]["schema_version"] == 2
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["r.parquet"]  # no temp file left


def test_old_tables_are_refused_by_name_not_guessed(tmp_path):
    """A table from before the results contract v2 (no max_clicks, no counts) gets a clear error, never a guess."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = _df().drop(columns=["max_clicks", "target_iou", "protocol", "clickmap", "group", "tp", "fp", "fn", "tn"])
    pq.write_table(pa.Table.from_pandas(old), tmp_path / "old.parquet")
    with pytest.raises(RClicksError, match=r"old.parquet: missing column\(s\) \['max_clicks'.*predates results contract v2.*re-run"):
        read_results(tmp_path / "old.parquet")
    with pytest.raises(RClicksError, match="predates"):
        write_results(old, tmp_path / "new.parquet")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.parquet"]


def test_contract_values_are_checked(tmp_path):
    bad = _df()
    bad.loc[2, "click"] = 7  # beyond its max_clicks of 3
    with pytest.raises(RClicksError, match="max_clicks"):
        write_results(bad, tmp_path / "r.parquet")
    bad = _df()
    bad.loc[0, "tp"] = -1
    with pytest.raises(RClicksError, match="confusion counts"):
        write_results(bad, tmp_path / "r.parquet")
    assert list(tmp_path.iterdir()) == []


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
