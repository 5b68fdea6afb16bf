"""python -m rclicks_leaderboard.seed resumes shard by shard: a second run (or a run after an interruption) computes nothing stored."""

from __future__ import annotations

from rclicks_leaderboard import seed
from rclicks_leaderboard.store import ResultsStore

ARGS = ["--models", "random_walker", "--datasets", "grabcut", "--protocols", "baseline", "--limit", "3", "--max-clicks", "1",
        "--shard-instances", "2", "--workers", "1", "--no-progress"]


def test_seed_resumes_shard_by_shard(tmp_path, capsys):
    out = str(tmp_path / "seeded")
    assert seed.main(["--out", out, *ARGS]) == 0
    assert "2 shard(s) to run" in capsys.readouterr().out
    files = ResultsStore(out).files()
    assert [f.rsplit("/", 1)[1] for f in files] == ["grabcut__baseline__i00000-00002.parquet", "grabcut__baseline__i00002-00003.parquet"]
    first = {f: open(f, "rb").read() for f in files}
    import os

    os.remove(files[1])  # as if interrupted after the first shard
    assert seed.main(["--out", out, *ARGS]) == 0
    assert "1 shard(s) to run" in capsys.readouterr().out
    assert open(files[0], "rb").read() == first[files[0]]  # kept, not recomputed
    assert len(ResultsStore(out).files()) == 2
