"""Stores stay readable around bad files: a 0-byte clicks part is skipped and named (the good rows
are still shown by the Compare tab), and orphaned temporary files are removed on start."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest

from rclicks.clicks import read_clicks, write_clicks


def _rows(n: int, **over) -> pd.DataFrame:
    base = dict(dataset="GrabCut", full_stem="153077_ritm", image_stem="153077", object_stem="", click_type="first",
                model_type="", device="pc", x=10, y=20, w=481, h=321)
    return pd.DataFrame([{**base, "x": 10 + i % 400, **over} for i in range(n)])


def test_a_zero_byte_part_does_not_hide_the_good_rows(tmp_path):
    store = tmp_path / "clicks"
    for k in range(3):
        write_clicks(_rows(300 if k < 2 else 299), store)
    (store / "00000000T000000000000-dead.parquet").write_bytes(b"")
    (store / "00000000T000000000001-trunc.parquet").write_bytes(b"PAR1\x00\x01")
    with pytest.warns(UserWarning, match="skipped unreadable clicks part.*dead.parquet.*trunc.parquet"):
        df = read_clicks(store)
    assert len(df) == 899
    assert sorted(s.split(":")[0] for s in df.attrs["skipped"]) == ["00000000T000000000000-dead.parquet",
                                                                    "00000000T000000000001-trunc.parquet"]


def test_the_compare_tab_still_shows_the_real_clicks(tmp_path, monkeypatch):
    from rclicks.data.registry import load_dataset

    sample = next(s for s in load_dataset("grabcut") if s.name.startswith("153077"))
    store = tmp_path / "clicks"
    write_clicks(_rows(5, full_stem=sample.name, image_stem=sample.name.split("_")[0],
                       w=sample.image.shape[1], h=sample.image.shape[0]), store)
    (store / "00000000T000000000000-dead.parquet").write_bytes(b"")
    monkeypatch.setenv("RCLICKS_CLICKS_STORE", str(store))
    monkeypatch.delenv("RCLICKS_REAL_CLICKS", raising=False)
    from rclicks_app.tabs.compare import real_first_clicks

    with pytest.warns(UserWarning, match="skipped unreadable clicks part.*dead.parquet"):
        xs, ys = real_first_clicks(sample)
    assert len(xs) == 5


def test_orphaned_tmp_files_are_removed_when_the_backend_starts(tmp_path):
    from rclicks_leaderboard.backend import Backend
    from rclicks_leaderboard.envs import EvalConfig
    from rclicks_leaderboard.requests import RequestsStore
    from rclicks_leaderboard.store import ResultsStore

    (tmp_path / "requests").mkdir()
    (tmp_path / "results" / "m").mkdir(parents=True)
    old = [tmp_path / "requests" / "r.json.abc.tmp", tmp_path / "results" / "m" / "d__p.parquet.abc.tmp"]
    young = tmp_path / "requests" / "s.json.def.tmp"  # may belong to a live writer
    for p in old + [young]:
        p.write_bytes(b"partial")
    for p in old:
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    lines: list[str] = []
    Backend(ResultsStore(str(tmp_path / "results")), RequestsStore(str(tmp_path / "requests")),
            EvalConfig(datasets=["grabcut"], protocols=["baseline"]), logs_dir=str(tmp_path / "logs"),
            log=lines.append).run_once()
    assert not any(p.exists() for p in old) and young.exists()
    assert sum("orphaned" in line for line in lines) == 2


def test_writers_fsync_the_file_before_the_rename_and_the_folder_after(tmp_path, monkeypatch):
    """Clicks parts, result shards and request files: the bytes reach the disk before os.replace publishes them,
    and the folder entry after. Recorded by wrapping the real os.fsync / os.replace (they still run)."""
    import stat

    import numpy as np

    from rclicks_leaderboard.requests import RequestsStore, queue_builtin
    from rclicks_leaderboard.store import ResultsStore, ShardKey
    from tests.leaderboard.conftest import random_table

    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        events.append(("fsync", kind))
        return real_fsync(fd)

    def replace(src, dst, *a, **kw):
        events.append(("replace", os.path.basename(str(dst))))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)

    def check(write):
        events.clear()
        write()
        kinds = [e[1] if e[0] == "fsync" else "replace" for e in events]
        i = kinds.index("replace")
        assert "file" in kinds[:i] and "dir" in kinds[i + 1:], events

    check(lambda: write_clicks(_rows(3), tmp_path / "clicks"))
    df = random_table(np.random.default_rng(0), models=("m",), datasets=("grabcut",), clickers=("baseline",))
    check(lambda: ResultsStore(str(tmp_path / "results")).write_shard(ShardKey("m", "grabcut", "baseline"), df))
    check(lambda: queue_builtin("random_walker", RequestsStore(str(tmp_path / "requests"))))
