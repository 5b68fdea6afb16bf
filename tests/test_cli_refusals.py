"""The command line refuses bad options and bad files before running anything, with one
``rclicks: error: ...`` line naming the input and the fix, and never writes a partial file."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from rclicks.cli import main
from rclicks.settings import data_root

BASE = ["evaluate", "--model", "random_walker", "--dataset", "grabcut", "--limit", "1", "--max-clicks", "1", "--no-progress"]


def _refused(capsys, argv, *needles):
    start = time.monotonic()
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("rclicks: error: "), err
    for n in needles:
        assert n in err, err
    assert time.monotonic() - start < 5  # refused before the evaluation, not after
    return err


@pytest.mark.parametrize("extra, needles", [
    (["--seed", "-1"], ["--seed -1", "from 0 to"]),
    (["--seed", str(2**70)], ["--seed", "from 0 to"]),
    (["--model-arg", "bogus=1"], ["'bogus'", "accepts: beta, max_side, radius"]),
    (["--max-clicks", "1000000"], ["--max-clicks 1000000", "RCLICKS_MAX_CLICKS_LIMIT"]),
    (["--target-iou", "2"], ["--target-iou 2.0", "(0, 1]"]),
    (["--target-iou", "nan"], ["--target-iou nan"]),
    (["--device", "tpu"], ["--device 'tpu'", "cuda"]),
    (["--device", "cpu"], ["--device not accepted by model 'random_walker'"]),
])
def test_bad_options_are_refused_in_one_line(capsys, tmp_path, extra, needles):
    out = tmp_path / "r.parquet"
    _refused(capsys, BASE + extra + ["--out", str(out)], *needles)
    assert not out.exists()


@pytest.mark.parametrize("out, needle", [
    ("/proc/x", "cannot write in /proc"),
    ("{tmp}/afile/x.parquet", "is a file, not a folder"),
    ("{tmp}", "is an existing folder"),
    ("zz://bucket/x.parquet", "Protocol not known: zz"),
])
def test_unwritable_out_is_refused_before_running(capsys, tmp_path, out, needle):
    (tmp_path / "afile").write_text("x")
    _refused(capsys, BASE + ["--out", out.format(tmp=tmp_path)], needle)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # no temp or partial files


def _one_sample_dataset(tmp_path: Path) -> Path:
    src = data_root() / "GrabCut"
    root = tmp_path / "ds"
    (root / "data_GT").mkdir(parents=True)
    (root / "boundary_GT").mkdir()
    shutil.copyfile(src / "data_GT" / "153077.jpg", root / "data_GT" / "153077.jpg")
    shutil.copyfile(src / "boundary_GT" / "153077.bmp", root / "boundary_GT" / "153077.bmp")
    return root


def test_a_truncated_jpeg_is_corrupt_and_named(capsys, tmp_path):
    root = _one_sample_dataset(tmp_path)
    jpg = root / "data_GT" / "153077.jpg"
    jpg.write_bytes(jpg.read_bytes()[: jpg.stat().st_size // 2])
    out = tmp_path / "r.parquet"
    assert main(["evaluate", "--model", "random_walker", "--dataset", str(root), "--max-clicks", "1", "--no-progress",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "153077.jpg" in err and "truncated" in err
    assert not out.exists()


def test_a_16_bit_mask_keeps_its_ignore_band(tmp_path):
    from rclicks.data.registry import load_dataset

    root = _one_sample_dataset(tmp_path)
    mask8 = cv2.imread(str(root / "boundary_GT" / "153077.bmp"), cv2.IMREAD_GRAYSCALE)
    assert (mask8 == 128).any()  # GrabCut's ignore band
    (root / "boundary_GT" / "153077.bmp").unlink()
    cv2.imwrite(str(root / "boundary_GT" / "153077.png"), mask8.astype(np.uint16) * 257)
    sample = load_dataset(root, layout="grabcut")[0]
    assert sample.ignore is not None and sample.ignore.sum() == (mask8 == 128).sum()
    assert sample.mask.sum() == (mask8 > 128).sum()


def test_an_image_path_that_is_a_folder_is_named(capsys, tmp_path):
    (tmp_path / "img.png").mkdir()
    assert main(["heatmap", "--model", "random_walker", "--image", str(tmp_path / "img.png"),
                 "--mask", str(tmp_path / "img.png")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("rclicks: error: ") and "is a folder" in err
