"""`rclicks reproduce`: the RClicks table, curves, NSR and rank correlation from a results store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rclicks_leaderboard.paper import rank_correlation
from rclicks_leaderboard.store import ShardKey
from rclicks.cli import main


def test_rank_correlation_by_hand():
    # davis ranks the models like grabcut; coco reverses them; sbd swaps two of three
    t = pd.DataFrame({
        "model": ["a", "b", "c"] * 4,
        "dataset": ["grabcut"] * 3 + ["davis"] * 3 + ["coco"] * 3 + ["sbd"] * 3,
        "m": [1.0, 2.0, 3.0, 10.0, 20.0, 30.0, 3.0, 2.0, 1.0, 2.0, 1.0, 3.0],
    })
    c = rank_correlation(t, "m")
    assert c.loc["grabcut", "davis"] == pytest.approx(1.0)
    assert c.loc["grabcut", "coco"] == pytest.approx(-1.0)
    # ranks (1,2,3) vs (2,1,3): 1 − 6·Σd²/(n(n²−1)) = 1 − 6·2/24 = 0.5
    assert c.loc["grabcut", "sbd"] == pytest.approx(0.5)
    assert np.allclose(np.diag(c), 1.0)


def test_reproduce_command_writes_tables_and_figures(stores, tmp_path, make_table, capsys):
    results, _, _ = stores
    df = make_table(np.random.default_rng(7), models=("m0", "m1", "m2"), datasets=("grabcut", "davis"),
                    clickers=("baseline",) + tuple(f"g{i}" for i in range(1, 11)), instances=3, clicks=5)
    for (m, d), part in df.groupby(["model", "dataset"]):
        results.write_shard(ShardKey(m, d, "groups"), part)
    out = tmp_path / "repro"
    assert main(["reproduce", "--results", results.url, "--out", str(out), "--no-scribbles"]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"table.csv", "baseline_table.csv", "iou_curves.csv", "iou_curves.html", "nsr.csv", "nsr_scatter.html",
            "rank_correlation.csv", "rank_correlation.html"} <= names
    table = pd.read_csv(out / "table.csv")
    assert len(table) == 6 and {"Sample NoC@90", "ΔSB NoC@90 (%)", "ΔGR NoC@90 (%)", "NSR (%)"} <= set(table.columns)
    # Sample NoC of one row, by a naive loop: per instance the mean over groups, then the mean over instances
    sub = df[(df["model"] == "m1") & (df["dataset"] == "davis")]

    def noc(ious):
        return next((k + 1 for k, v in enumerate(ious) if v >= 0.9), 5)

    per_inst = [np.mean([noc(sub[(sub.clicker == f"g{k}") & (sub.instance == i)].sort_values("click")["iou"].tolist())
                         for k in range(1, 11)]) for i in sorted(sub["instance"].unique())]
    row = table[(table["model"] == "m1") & (table["dataset"] == "davis")].iloc[0]
    assert row["Sample NoC@90"] == pytest.approx(np.mean(per_inst))
    # the paper's layout: one row per model, per dataset Sample NoC@90 ± std, ΔSB %, ΔGR %, printed by the command
    main_tab = pd.read_csv(out / "rclicks_main.csv")
    assert list(main_tab["model"]) == ["m0", "m1", "m2"]
    cell = main_tab.set_index("model").loc["m1", "davis Sample NoC@90"]
    assert cell == f"{row['Sample NoC@90']:.2f} ± {row['Sample NoC@90 std']:.2f}"
    assert (out / "rclicks_main.md").read_text().startswith("| model | policy |")
    assert {"rclicks_noc.csv", "rclicks_nof.csv", "rclicks_iou.csv"} <= names
    curves = pd.read_csv(out / "iou_curves.csv")
    first = curves[(curves["model"] == "m0") & (curves["dataset"] == "grabcut") & (curves["clicker"] == "g3") & (curves["click"] == 1)]
    expect = df[(df["model"] == "m0") & (df["dataset"] == "grabcut") & (df["clicker"] == "g3") & (df["click"] == 1)]["iou"].mean()
    assert first["iou"].iloc[0] == pytest.approx(expect)
    assert "<html>" in (out / "iou_curves.html").read_text()[:200].lower()
    printed = capsys.readouterr().out
    assert "wrote" in printed and "RClicks main table" in printed and cell in printed
    # PNGs come with plotly's image export (kaleido + a Chromium); without it the command says so
    pngs = {"iou_curves.png", "nsr_scatter.png", "rank_correlation.png"}
    if pngs <= names:
        assert all((out / n).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in pngs)
    else:
        assert "install kaleido" in printed


def test_leaderboard_build_command(stores, tmp_path, make_table, capsys):
    results, _, _ = stores
    df = make_table(np.random.default_rng(8), models=("m0", "m1"), datasets=("grabcut",), clickers=("baseline",))
    for m, part in df.groupby("model"):
        results.write_shard(ShardKey(m, "grabcut", "baseline"), part)
    (tmp_path / "results" / "junk.parquet").write_bytes(b"garbage")
    out = tmp_path / "lb.csv"
    assert main(["leaderboard", "build", "--results", results.url, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "skipped" in text and "junk.parquet" in text
    table = pd.read_csv(out)
    assert sorted(table["model"]) == ["m0", "m1"] and "grabcut NoC@90" in table
    assert main(["leaderboard", "build", "--results", str(tmp_path / "empty")]) == 1
